using System.Text.Json;
using Dicp.IO;
using Dicp.Models;
using Dicp.Training;
using TorchSharp;
using static TorchSharp.torch;
using DicpTensor = Dicp.Tensors.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;
using LoadStateDictResult = Dicp.Nn.LoadStateDictResult;
using StateDictException = Dicp.Nn.StateDictException;

namespace Dicp.TorchSharp;

/// <summary>The loss of one batch (a scalar tensor on the device) and its parts as numbers.</summary>
/// <param name="Total">The scalar to differentiate.</param>
/// <param name="Metrics">The same metrics as Dicp's models (<c>loss</c>, <c>action_loss</c>, <c>action_accuracy</c>, …).</param>
public sealed record TorchTrainingLoss(TorchTensor Total, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// What the TorchSharp models share: Dicp's configuration and layout, state dicts under Dicp's (= the reference's)
/// keys, safetensors files Dicp's engine reads, the training loss <see cref="TorchTrainer"/> minimises and the compute
/// precision (<see cref="Precision"/>).
/// </summary>
public abstract class TorchModel : nn.Module
{
    private protected TorchModel(ModelConfig config, string name) : base(name)
    {
        InContextModels.Validate(config);
        Config = config;
        Layout = new ModelLayout(config);
    }

    /// <summary>The configuration.</summary>
    public ModelConfig Config { get; }

    /// <summary>The model's name (<c>ad</c>, <c>dicp-dpt</c>, <c>dicp-idt</c>, …), as Dicp's.</summary>
    public string Name => Layout.Name;

    /// <summary>Floats per observation the network reads.</summary>
    public int ObservationSize => Config.ObservationSize;

    /// <summary>Floats per observation of the environments and histories, of which the network reads the first <see cref="ObservationSize"/> (<see cref="ModelConfig.SourceObservationSize"/>).</summary>
    public int InputObservationSize => Config.InputObservationSize;

    /// <summary>Token sizes, encodings and training targets, derived by Dicp's engine from <see cref="Config"/>.</summary>
    internal ModelLayout Layout { get; }

    /// <summary>The device of the parameters.</summary>
    public Device Device => parameters().First().device;

    /// <summary>
    /// The compute precision of the forward pass (default <see cref="TorchPrecision.Float32"/>). With
    /// <see cref="TorchPrecision.BFloat16"/> the matrix products (every Linear, attention) run in bfloat16 on bfloat16
    /// copies of the float32 weights, while norms, the residual stream, softmax statistics of the losses and the losses
    /// stay float32; gradients flow back to the float32 parameters (see <see cref="TorchPrecision"/>).
    /// </summary>
    public TorchPrecision Precision { get; set; }

    /// <summary>Steps per training window (n_transit).</summary>
    public int SampleSteps => Config.NTransit;

    /// <summary>The return-to-go segment the window sampler computes (IDT: c; else 0, none).</summary>
    public int ReturnConditionedSegment => Layout.ReturnConditionedSegment;

    /// <summary>The stride of window starts (IDT with aligned windows: c; else 1).</summary>
    public int WindowStartStride => Layout.WindowStartStride;

    /// <summary>The training loss of a batch of windows (dropout in training mode) and its metrics, as Dicp's engine computes them.</summary>
    /// <exception cref="ArgumentException">The batch does not fit the model.</exception>
    public abstract TorchTrainingLoss Loss(WindowBatch batch);

    /// <summary>A Dicp-engine model (CPU) with this model's configuration and current weights.</summary>
    public ITrainableInContextModel ToDicpModel()
    {
        var model = InContextModels.Create(Config, seed: 0);
        model.Network.LoadStateDict(ToDicpStateDict(), strict: true);
        return model;
    }

    /// <summary>The parameters as Dicp tensors (float32, CPU copies) under Dicp's (= the reference's) keys.</summary>
    public IReadOnlyDictionary<string, DicpTensor> ToDicpStateDict()
    {
        var result = new Dictionary<string, DicpTensor>(StringComparer.Ordinal);
        foreach (var (name, p) in named_parameters())
        {
            using var t = p.detach().to(ScalarType.Float32).cpu().contiguous();
            var shape = t.shape.Select(s => (int)s).ToArray();
            result.Add(name, new DicpTensor(t.data<float>().ToArray(), shape) { Name = name });
        }
        return result;
    }

    /// <summary>Copies Dicp tensors into the parameters (on their device), checking names and shapes.</summary>
    /// <param name="state">Tensors by Dicp key.</param>
    /// <param name="strict">Throw <see cref="StateDictException"/> on missing or unexpected keys.</param>
    /// <returns>The missing and unexpected keys.</returns>
    /// <exception cref="StateDictException">Strict loading found missing or unexpected keys.</exception>
    /// <exception cref="ArgumentException">A tensor's shape differs from its parameter's.</exception>
    public LoadStateDictResult LoadDicpStateDict(IReadOnlyDictionary<string, DicpTensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var parameters = named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter, StringComparer.Ordinal);
        var missing = parameters.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !parameters.ContainsKey(k)).ToList();
        var result = new LoadStateDictResult(missing, unexpected);
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new StateDictException($"{Name}: state dict does not match the TorchSharp model: {result}", result);
        using var noGrad = no_grad();
        foreach (var (name, p) in parameters)
        {
            if (!state.TryGetValue(name, out var src)) continue;
            var shape = p.shape.Select(s => (int)s).ToArray();
            if (!src.Shape.SequenceEqual(shape))
                throw new ArgumentException($"{Name}: '{name}' has shape ({string.Join(", ", src.Shape.ToArray())}), the model needs ({string.Join(", ", shape)}).", nameof(state));
            using var t = tensor(src.ToArray(), p.shape);
            p.copy_(t);
        }
        return result;
    }

    /// <summary>
    /// Writes the weights as Dicp's <c>model.safetensors</c> (float32 tensors under the reference keys, metadata
    /// <c>model</c> and <c>model_config</c>), atomically: Dicp's engine, <c>dicp evaluate</c> and its planners load it.
    /// </summary>
    public void Save(string path)
    {
        var meta = new Dictionary<string, string>
        {
            ["model"] = Name,
            ["model_config"] = ModelFile.ConfigJson(Config),
            ["backend"] = "torchsharp",
        };
        SafeTensors.Save(path, ToDicpStateDict(), meta);
    }

    /// <summary>
    /// Loads a model written by Dicp's engine or by <see cref="Save"/> — a <c>model.safetensors</c> or a trainer
    /// <c>checkpoint.safetensors</c> (its <c>model.</c> tensors) — as the TorchSharp model of its family
    /// (<see cref="TorchInContextModel"/> for AD/DPT, <see cref="TorchIdtModel"/> for IDT), on the CPU.
    /// </summary>
    /// <exception cref="InvalidDataException">The file has no model configuration, or its tensors do not fit it.</exception>
    public static TorchModel Load(string path)
    {
        var (config, state) = ReadDicpFile(path);
        TorchModel model = config.Model == "idt" ? new TorchIdtModel(config) : new TorchInContextModel(config);
        try { model.LoadDicpStateDict(state, strict: true); }
        catch (Exception e) when (e is StateDictException or ArgumentException)
        {
            model.Dispose();
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
        return model;
    }

    /// <summary>A freshly initialised model of <paramref name="config"/>'s family on the CPU whose initial weights are exactly Dicp's <c>InContextModels.Create(config, seed)</c>.</summary>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public static TorchModel Create(ModelConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        TorchModel model = config.Model == "idt" ? new TorchIdtModel(config) : new TorchInContextModel(config);
        model.LoadDicpStateDict(InContextModels.Create(config, seed).Network.StateDict(), strict: true);
        return model;
    }

    private static (ModelConfig Config, Dictionary<string, DicpTensor> State) ReadDicpFile(string path)
    {
        var file = SafeTensorsFile.Read(path);
        if (!file.Metadata.TryGetValue("model_config", out var json))
            throw new InvalidDataException($"'{path}': no 'model_config' in the safetensors metadata; build the model with Create and call LoadDicpStateDict.");
        ModelConfig config;
        try { config = ModelConfigJson.Deserialize(json, path); }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"'{path}': model_config is invalid: {e.Message}", e);
        }
        var isCheckpoint = file.Metadata.ContainsKey("format") || file.Names.Any(n => n.StartsWith("model.", StringComparison.Ordinal));
        var state = new Dictionary<string, DicpTensor>(StringComparer.Ordinal);
        foreach (var name in file.Names)
        {
            if (isCheckpoint && !name.StartsWith("model.", StringComparison.Ordinal)) continue;
            state.Add(isCheckpoint ? name["model.".Length..] : name, file.GetTensor(name));
        }
        return (config, state);
    }

    /// <summary>Copies the metric tensors to the CPU in one transfer (one device synchronisation per step).</summary>
    private protected static Dictionary<string, double> ReadMetrics(List<(string Key, TorchTensor Value)> pending)
    {
        var values = stack(pending.Select(p => p.Value.detach().to(ScalarType.Float32).reshape(1)).ToArray()).cpu().data<float>().ToArray();
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < pending.Count; i++) metrics[pending[i].Key] = values[i];
        return metrics;
    }
}
