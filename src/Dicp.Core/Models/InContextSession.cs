using Dicp.Autograd;
using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// The contexts of E environments for an AD or DPT model: per environment a sliding window of the last
/// n_transit − 1 real transitions, the batched policy, and world-model predictions for candidate batches with
/// shared-prefix (KV-cached) evaluation.
/// </summary>
/// <remarks>
/// <para>Windows are ring buffers of transition features; every <see cref="Append"/> adds one transition to every
/// environment, so all windows have the same length. Inference runs without gradients and without dropout, whatever the
/// model's training mode.</para>
/// <para>Imagination (<see cref="Root"/>, <see cref="Step"/>) is KV-cached with <see cref="SessionOptions.SharedPrefix"/>
/// (<see cref="CachedImagination"/>): a node at depth h sees the real window minus its first <c>max(0, L + h − W)</c>
/// transitions (AD: encoded once per environment and depth, shared by every node there), then its own imagined
/// transitions and query observation (AD: its stem; DPT: the query state, the kept real transitions and the imagined
/// ones, the query coming first), encoded once per node; each stepped action runs one token. Without it every step
/// recomputes the node's whole window (<see cref="Predict"/>, the reference's way).</para>
/// <para>Chaining: while L + h ≤ W the window does not slide between a node and its child, and the child's stem
/// continues its parent's cached one: it runs only its new transition and query (2 tokens), so a path of depth H runs
/// O(H) stem tokens; once the window slides every depth re-encodes the node's h + 1 stem tokens (O(H²) per path).
/// <see cref="SessionOptions.ImaginationReserve"/> r keeps every query's real context at most W − r transitions, so
/// imagination up to depth r never slides.</para>
/// </remarks>
public sealed partial class InContextSession : IInContextSession
{
    private readonly InContextModel _model;
    private readonly float[][] _windows;
    private readonly Imagination _imagination;
    private int _start, _count;
    private long _seen; // transitions appended since the start or Reset (every environment gets one per Append)

    /// <summary>Opens <paramref name="environments"/> empty contexts for <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one environment or a non-positive candidate capacity.</exception>
    public InContextSession(InContextModel model, int environments, SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(environments);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxCandidates, "SessionOptions.MaxCandidates");
        ArgumentOutOfRangeException.ThrowIfNegative(options.ImaginationReserve, "SessionOptions.ImaginationReserve");
        if (options.ImaginationReserve > 0 && options.ImaginationReserve >= model.WindowTransitions)
            throw new ArgumentOutOfRangeException("SessionOptions.ImaginationReserve", options.ImaginationReserve,
                $"{model.Name}: SessionOptions.ImaginationReserve {options.ImaginationReserve} must leave real context: it must be below the window's {model.WindowTransitions} transitions.");
        _model = model;
        Environments = environments;
        Options = options;
        _windows = new float[environments][];
        for (var e = 0; e < environments; e++) _windows[e] = new float[model.WindowTransitions * model.TransitionFeatures];
        _imagination = new Imagination(this);
    }

    /// <inheritdoc/>
    public IInContextModel Model => _model;

    /// <inheritdoc/>
    public int Environments { get; }

    /// <summary>The inference settings.</summary>
    public SessionOptions Options { get; }

    /// <summary>
    /// How many prefix encodings this session has run so far (a diagnostic of the KV cache). AD encodes a real prefix
    /// for every environment that lacks it in one batched pass, which counts once.
    /// </summary>
    public long PrefixEncodings => _imagination.PrefixEncodings;

    /// <summary>
    /// How many real prefixes were built from the previous context's prefix and the newly appended transition instead of
    /// encoded whole (a diagnostic of the KV cache: after an <see cref="Append"/>, each depth's prefix but the deepest).
    /// </summary>
    public long PrefixExtensions => _imagination.PrefixExtensions;

    /// <summary>The stem tokens (imagined transitions and query observations) the KV-cached imagination has run so far, summed over nodes.</summary>
    public long StemTokens => _imagination.StemTokenCount;

    /// <inheritdoc/>
    public int ContextLength(int environment)
    {
        CheckEnvironment(environment);
        return _count;
    }

    /// <inheritdoc/>
    public bool IsWindowFull(int environment) => ContextLength(environment) == _model.WindowTransitions;

    /// <inheritdoc/>
    public long StepsSeen(int environment)
    {
        CheckEnvironment(environment);
        return _seen;
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _start = _count = 0;
        _seen = 0;
        ClearCaches();
    }

    /// <inheritdoc/>
    public void Append(ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards,
        ReadOnlySpan<float> nextStates, ReadOnlySpan<bool> dones)
    {
        int e = Environments, o = _model.ObservationSize, a = _model.ActionSize, f = _model.TransitionFeatures, w = _model.WindowTransitions;
        CheckLength(states.Length, e * o, "states", "(E, O)");
        CheckLength(actions.Length, e * a, "actions", "(E, A)");
        CheckLength(rewards.Length, e, "rewards", "(E)");
        CheckLength(nextStates.Length, e * o, "nextStates", "(E, O)");
        CheckLength(dones.Length, e, "dones", "(E)");
        var rows = new float[e * f]; // encode (and validate) everything before changing any window
        for (var i = 0; i < e; i++)
            _model.EncodeTransition(states.Slice(i * o, o), actions.Slice(i * a, a), rewards[i], nextStates.Slice(i * o, o), rows.AsSpan(i * f, f));
        _seen++;
        if (w == 0) { ClearCaches(); return; }
        _imagination.AdvanceAll(dropped: _count == w ? 1 : 0); // one transition at the end, the first leaves a full window
        int slot;
        if (_count < w) slot = (_start + _count++) % w;
        else { slot = _start; _start = (_start + 1) % w; }
        for (var i = 0; i < e; i++) rows.AsSpan(i * f, f).CopyTo(_windows[i].AsSpan(slot * f, f));
    }

    /// <inheritdoc/>
    public void Policy(ReadOnlySpan<float> observations, Span<float> distribution)
    {
        int e = Environments, o = _model.ObservationSize, p = _model.PolicySize, f = _model.TransitionFeatures;
        var (skip, l, _, _) = _imagination.ShapeAt(0); // the real transitions the policy sees: all, or the last W − r with a reserve
        CheckLength(observations.Length, e * o, "observations", "(E, O)");
        if (distribution.Length < e * p) throw new ArgumentException($"Policy: distribution holds {distribution.Length} floats; (E {e}, P {p}) needs {e * p}.", nameof(distribution));
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        if (Options.SharedPrefix && !_model.QueryFirst && _model.HasDynamics && l > 0)
        {
            // A planner will predict from this window next: encode (or reuse) every environment's full-window prefix,
            // cache it for Predict, and run only the query-state tokens over it (row e attends to environment e's window).
            var (prefixes, rows) = _imagination.Prefixes([.. Enumerable.Range(0, e)], _imagination.ShapeAt(0));
            var q = _model.BackboneInference(_model.EmbedQueryStates(observations, e), new KvContext(prefixes, rows)); // (E, 1, d)
            var ph = _model.PredAction.Forward(Ops.Reshape(q, e, q.Shape[2])).Span; // (E, d)
            var kq = _model.PredAction.OutFeatures;
            for (var i = 0; i < e; i++) _model.WritePolicy(ph.Slice(i * kq, kq), distribution.Slice(i * p, p));
            return;
        }
        var features = new float[Math.Max(e * l * f, 1)];
        for (var i = 0; i < e; i++) CopyWindow(i, skip, features.AsSpan(i * l * f, l * f));
        var x = _model.AssembleTokens(e, features, l, observations, default, withQueryAction: false); // (E, L + 1, d)
        var h = _model.BackboneInference(x);                                                        // (E, L + 1, d)
        var positions = new int[e];
        Array.Fill(positions, l); // AD: the query-state token; DPT: the last transition (or the query if the window is empty)
        var head = _model.PredAction.Forward(InContextModel.Rows(h, positions)).Span;
        var k = _model.PredAction.OutFeatures;
        for (var i = 0; i < e; i++) _model.WritePolicy(head.Slice(i * k, k), distribution.Slice(i * p, p));
    }

    /// <summary>Copies environment <paramref name="environment"/>'s window rows <c>skip … L − 1</c> in time order.</summary>
    private void CopyWindow(int environment, int skip, Span<float> destination)
    {
        int f = _model.TransitionFeatures, w = _model.WindowTransitions;
        var src = _windows[environment];
        for (var t = skip; t < _count; t++)
            src.AsSpan((_start + t) % w * f, f).CopyTo(destination.Slice((t - skip) * f, f));
    }

    private void ClearCaches() => _imagination.InvalidateAll();

    private void CheckEnvironment(int environment)
    {
        if ((uint)environment >= (uint)Environments)
            throw new ArgumentOutOfRangeException(nameof(environment), $"Environment {environment} is outside [0, {Environments}).");
    }

    private static void CheckLength(int actual, int expected, string name, string shape)
    {
        if (actual != expected) throw new ArgumentException($"{name} holds {actual} floats; {shape} needs {expected}.", name);
    }
}
