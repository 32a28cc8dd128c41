using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>
/// Base class of neural-network layers: a tree of named sub-modules and parameters with PyTorch-style state-dict keys
/// (<c>blocks.0.attn.proj.weight</c>), train/eval mode and gradient reset.
/// </summary>
public abstract class Module
{
    private readonly List<KeyValuePair<string, Module>> _modules = [];
    private readonly List<KeyValuePair<string, Parameter>> _parameters = [];
    private Generator? _generator;

    /// <summary>Whether the module is in training mode (dropout active). New modules start in training mode.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>The generator that dropout inside this module draws its mask keys from.</summary>
    /// <remarks>Set it on the root with <see cref="SetGenerator"/>; it propagates to every sub-module.</remarks>
    protected Generator Generator => _generator ?? throw new InvalidOperationException(
        $"{GetType().Name}: dropout needs a generator; call SetGenerator(...) on the model (constructors of Dicp models do this from their seed).");

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckName(name);
        _modules.Add(new(name, module));
        return module;
    }

    /// <summary>Registers a parameter under <paramref name="name"/>.</summary>
    protected Parameter RegisterParameter(string name, Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        CheckName(name);
        _parameters.Add(new(name, parameter));
        return parameter;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.')) throw new ArgumentException($"Invalid module/parameter name '{name}'.", nameof(name));
        if (_modules.Any(m => m.Key == name) || _parameters.Any(p => p.Key == name))
            throw new ArgumentException($"{GetType().Name} already has a member named '{name}'.", nameof(name));
    }

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedChildren() => _modules;

    /// <summary>All parameters of this module and its descendants, keyed by dotted path, in registration order.</summary>
    public IEnumerable<KeyValuePair<string, Parameter>> NamedParameters(string prefix = "")
    {
        foreach (var (name, p) in _parameters) yield return new(prefix + name, p);
        foreach (var (name, m) in _modules)
            foreach (var kv in m.NamedParameters(prefix + name + "."))
                yield return kv;
    }

    /// <summary>All parameters, in the order of <see cref="NamedParameters"/>.</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(kv => kv.Value);

    /// <summary>Total number of scalar parameters.</summary>
    public long ParameterCount() => Parameters().Sum(p => (long)p.Size);

    /// <summary>The parameters keyed by their PyTorch-compatible names (the tensors themselves, not copies).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict(string prefix = "")
    {
        var d = new OrderedDictionary<string, Tensor>();
        foreach (var (k, p) in NamedParameters(prefix)) d.Add(k, p);
        return d;
    }

    /// <summary>Copies values from <paramref name="state"/> into the parameters.</summary>
    /// <remarks>With <paramref name="strict"/>, any missing or unexpected key is an error (nothing is copied);
    /// otherwise matching keys are copied and the mismatches are reported. A shape mismatch is always an error.</remarks>
    /// <exception cref="StateDictException">Strict loading found missing or unexpected keys, or a shape differs.</exception>
    public LoadStateDictResult LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = NamedParameters(prefix).ToList();
        var ownKeys = own.Select(kv => kv.Key).ToHashSet();
        var missing = own.Where(kv => !state.ContainsKey(kv.Key)).Select(kv => kv.Key).ToList();
        var unexpected = state.Keys.Where(k => !ownKeys.Contains(k)).ToList();
        var result = new LoadStateDictResult(missing, unexpected);
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new StateDictException($"Error loading state dict into {GetType().Name}: {result}.", result);
        foreach (var (k, p) in own)
        {
            if (!state.TryGetValue(k, out var src)) continue;
            if (!src.Shape.SequenceEqual(p.Shape))
                throw new StateDictException($"Error loading state dict into {GetType().Name}: '{k}' has shape {ShapeUtil.Format(src.Shape)} in the state dict but {ShapeUtil.Format(p.Shape)} in the model.", result);
        }
        foreach (var (k, p) in own)
            if (state.TryGetValue(k, out var src)) src.Span.CopyTo(p.Span);
        return result;
    }

    /// <summary>Sets training mode on this module and all descendants.</summary>
    public Module Train(bool mode = true)
    {
        Training = mode;
        foreach (var (_, m) in _modules) m.Train(mode);
        return this;
    }

    /// <summary>Sets evaluation mode (dropout off) on this module and all descendants.</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears the gradients of all parameters.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>Sets the dropout generator of this module and all descendants.</summary>
    public void SetGenerator(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _generator = generator;
        foreach (var (_, m) in _modules) m.SetGenerator(generator);
    }
}

/// <summary>Keys that did not match during <see cref="Module.LoadStateDict"/>.</summary>
/// <param name="MissingKeys">Model parameters absent from the state dict.</param>
/// <param name="UnexpectedKeys">State-dict entries the model does not have.</param>
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"missing keys [{string.Join(", ", MissingKeys)}], unexpected keys [{string.Join(", ", UnexpectedKeys)}]";
}

/// <summary>A state dict does not fit a model.</summary>
public sealed class StateDictException(string message, LoadStateDictResult result) : Exception(message)
{
    /// <summary>The key comparison.</summary>
    public LoadStateDictResult Result { get; } = result;
}

/// <summary>A list of modules named "0", "1", … (PyTorch's <c>nn.ModuleList</c>).</summary>
public sealed class ModuleList<T> : Module where T : Module
{
    private readonly List<T> _items = [];

    /// <summary>Creates the list from modules.</summary>
    public ModuleList(IEnumerable<T> items)
    {
        foreach (var m in items) _items.Add(RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m));
    }

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>The i-th module.</summary>
    public T this[int index] => _items[index];
}
