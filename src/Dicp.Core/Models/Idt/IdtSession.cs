using Dicp.Autograd;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// The in-context evaluation state of an <see cref="IdtModel"/> for E environments: per environment the high-level
/// context (the last K − 1 finished segments: return-to-go, first state, reviewed z-distribution), the segment in
/// progress (its low-level steps and its sampled decision z) and the return-to-go.
/// </summary>
/// <remarks>
/// <para>Return-to-go: starts at <see cref="SessionOptions.TargetReturns"/> (the task's max return for grid worlds,
/// 10 × horizon for continuous tasks), drops by each finished segment's reward, and restarts at the target when an
/// episode ends. A segment ends after c steps or with its episode; Reviewing-Decisions then encodes it into the
/// high-level context, which keeps the last K − 1 = n_transit / c − 1 segments (K with the one in progress).</para>
/// <para>A segment's decisions are drawn once, at its first <see cref="Policy"/>: Making-Decisions predicts their
/// distribution from the context and the segment's first state, and ε comes from the session's generator
/// (<see cref="SessionOptions.Seed"/>): c samples z_0 … z_{c−1}, one per low-level step, with
/// <see cref="ModelConfig.LatentNoisePerStep"/> (the reference), else one shared by the segment. Decisions-to-Go then
/// reads the policy at the current state token, and for <see cref="Predict"/> the dynamics at the query-action token of
/// the segment's steps followed by the candidate's imagined ones (all of them, or with
/// <see cref="ModelConfig.SlidingImagination"/> the last c − 1).</para>
/// <para>Inference runs without gradients and without dropout.</para>
/// <para>KV-cached imagination (<see cref="SessionOptions.SharedPrefix"/>, the default; <see cref="CachedImagination"/>,
/// shared with AD/DPT): the segment's real steps a node keeps (<c>[z, s, a, r]</c> each) are encoded once per
/// (environment, real steps dropped) and cached until the environment's segment or z changes (<see cref="Append"/>, a
/// segment's end, a new z, <see cref="Reset"/>: its rollouts then become stale); each node's stem (its kept imagined
/// steps and <c>[z, s_q]</c>) is encoded once over it, and each stepped action runs only its query-action token.
/// Without it every step runs the node's whole sequence; both give the same predictions within 1e-5.</para>
/// <para>Chaining: without <see cref="ModelConfig.SlidingImagination"/> the window keeps the whole segment and never
/// slides, and a child's stem continues its parent's whole cached stem (the parent's <c>[z, s_q]</c> are the child's
/// step <c>[z, s]</c>): each node runs only <c>[a, r, z, s_q]</c>, 4 tokens, so a path of depth H runs 4H + 2 stem
/// tokens instead of Σ(4h + 2). <see cref="SessionOptions.ImaginationReserve"/> is not needed (and with sliding
/// imagination not supported).</para>
/// </remarks>
public sealed partial class IdtSession : IInContextSession
{
    private readonly IdtModel _model;
    private readonly float[] _targets;
    private readonly Generator _rng;
    private readonly Env[] _envs;
    private readonly Imagination _imagination;

    /// <summary>Opens <paramref name="environments"/> empty contexts.</summary>
    /// <exception cref="ArgumentException"><see cref="SessionOptions.TargetReturns"/> is null or does not hold one value per environment.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one environment or a non-positive candidate capacity.</exception>
    public IdtSession(IdtModel model, int environments, SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(environments);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxCandidates, "SessionOptions.MaxCandidates");
        ArgumentOutOfRangeException.ThrowIfNegative(options.ImaginationReserve, "SessionOptions.ImaginationReserve");
        if (options.ImaginationReserve > 0 && model.Config.SlidingImagination)
            throw new ArgumentException($"{model.Name}: SessionOptions.ImaginationReserve is not supported with ModelConfig.SlidingImagination (got {options.ImaginationReserve}).", nameof(options));
        if (options.TargetReturns is not { } targets || targets.Count != environments)
            throw new ArgumentException($"{model.Name}: SessionOptions.TargetReturns must hold the initial return-to-go of each of the {environments} environments " +
                $"(the task's max return, or 10 × horizon for continuous tasks), got {(options.TargetReturns is null ? "null" : options.TargetReturns.Count + " values")}.", nameof(options));
        _model = model;
        Options = options;
        Environments = environments;
        _targets = [.. targets];
        _rng = new Generator(options.Seed);
        _envs = new Env[environments];
        for (var e = 0; e < environments; e++) _envs[e] = new Env(model, _targets[e]);
        _imagination = new Imagination(this);
    }

    /// <inheritdoc/>
    public IInContextModel Model => _model;

    /// <inheritdoc/>
    public int Environments { get; }

    /// <summary>The inference settings.</summary>
    public SessionOptions Options { get; }

    /// <summary>
    /// How many prefix encodings this session has run so far (a diagnostic of the shared-prefix cache); a prefix
    /// encoded for several environments in one batched pass counts once.
    /// </summary>
    public long PrefixEncodings => _imagination.PrefixEncodings;

    /// <summary>The stem tokens (imagined steps and <c>[z, s_q]</c>) the KV-cached imagination has run so far, summed over nodes.</summary>
    public long StemTokens => _imagination.StemTokenCount;

    /// <summary>The return-to-go of environment <paramref name="environment"/>'s segment in progress.</summary>
    public float ReturnToGo(int environment) => Get(environment).Return;

    /// <summary>The finished segments in environment <paramref name="environment"/>'s high-level context (at most K − 1).</summary>
    public int HighLevelContext(int environment) => Get(environment).History.Count;

    /// <summary>The low-level steps of environment <paramref name="environment"/>'s segment in progress (0 … c − 1).</summary>
    public int SegmentSteps(int environment) => Get(environment).Steps;

    /// <inheritdoc/>
    /// <remarks>The real steps seen since the last <see cref="Reset"/>, capped at <see cref="IInContextModel.WindowTransitions"/>.</remarks>
    public int ContextLength(int environment) => (int)Math.Min(Get(environment).Total, _model.WindowTransitions);

    /// <inheritdoc/>
    public bool IsWindowFull(int environment) => ContextLength(environment) == _model.WindowTransitions;

    /// <inheritdoc/>
    public long StepsSeen(int environment) => Get(environment).Total;

    /// <inheritdoc/>
    public void Reset()
    {
        for (var e = 0; e < Environments; e++) _envs[e] = new Env(_model, _targets[e]);
        _imagination.InvalidateAll();
    }

    /// <inheritdoc/>
    public void Append(ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards,
        ReadOnlySpan<float> nextStates, ReadOnlySpan<bool> dones)
    {
        int n = Environments, o = _model.ObservationSize, a = _model.ActionSize, c = _model.Config.SegmentLength;
        CheckLength(states.Length, n * o, "states", "(E, O)");
        CheckLength(actions.Length, n * a, "actions", "(E, A)");
        CheckLength(rewards.Length, n, "rewards", "(E)");
        CheckLength(nextStates.Length, n * o, "nextStates", "(E, O)");
        CheckLength(dones.Length, n, "dones", "(E)");
        for (var e = 0; e < n; e++) // validate before changing anything
        {
            if (_model.IsGrid) { _model.CellIndex(states.Slice(e * o, o)); _model.CellIndex(nextStates.Slice(e * o, o)); }
            if (_model.DiscreteActions) _model.ActionIndex(actions[e]);
            if (_model.Config.RewardClasses > 0) _model.RewardClass(rewards[e]);
        }
        var closing = new List<int>();
        for (var e = 0; e < n; e++)
        {
            var env = _envs[e];
            var j = env.Steps;
            _imagination.Invalidate(e); // the segment's real steps change
            states.Slice(e * o, o).CopyTo(env.States.AsSpan(j * o));
            actions.Slice(e * a, a).CopyTo(env.Actions.AsSpan(j * a));
            env.Rewards[j] = rewards[e];
            nextStates.Slice(e * o, o).CopyTo(env.NextStates.AsSpan(j * o));
            env.Steps = j + 1;
            env.Total++;
            env.Done = dones[e];
            if (env.Steps == c || dones[e]) closing.Add(e);
        }
        if (closing.Count > 0) CloseSegments(closing);
    }

    /// <inheritdoc/>
    public void Policy(ReadOnlySpan<float> observations, Span<float> distribution)
    {
        int n = Environments, o = _model.ObservationSize, p = _model.PolicySize;
        CheckLength(observations.Length, n * o, "observations", "(E, O)");
        if (distribution.Length < n * p) throw new ArgumentException($"Policy: distribution holds {distribution.Length} floats; (E {n}, P {p}) needs {n * p}.", nameof(distribution));
        if (_model.IsGrid) for (var e = 0; e < n; e++) _model.CellIndex(observations.Slice(e * o, o));
        EnsureDecisions(observations);
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        foreach (var group in Enumerable.Range(0, n).GroupBy(e => _envs[e].Steps))
        {
            var members = group.ToArray();
            int g = members.Length, k = group.Key + 1, a = _model.ActionSize, dz = _model.Config.LatentDim, d = _model.Config.EmbeddingDim;
            var z = new float[g * k * dz];
            var st = new float[g * k * o];
            var ac = new float[g * k * a];
            var rw = new float[g * k];
            for (var i = 0; i < g; i++)
            {
                var env = _envs[members[i]];
                env.Z.AsSpan(0, k * dz).CopyTo(z.AsSpan(i * k * dz)); // step t reads z_t
                env.States.AsSpan(0, (k - 1) * o).CopyTo(st.AsSpan(i * k * o));
                observations.Slice(members[i] * o, o).CopyTo(st.AsSpan((i * k + k - 1) * o));
                env.Actions.AsSpan(0, (k - 1) * a).CopyTo(ac.AsSpan(i * k * a));
                env.Rewards.AsSpan(0, k - 1).CopyTo(rw.AsSpan(i * k));
            }
            var h = _model.ToGo.Forward(new Tensor(z, [g, k, dz]), st, ac, rw, g, k, lastTokens: 2, inference: true); // (G, 4k − 2, d)
            var rows = new float[g * d];
            for (var i = 0; i < g; i++) h.Data.AsSpan((i * (4 * k - 2) + 4 * k - 3) * d, d).CopyTo(rows.AsSpan(i * d));
            var head = _model.ToGo.PredAction.Forward(new Tensor(rows, [g, d])).Span;
            var width = _model.ToGo.PredAction.OutFeatures;
            for (var i = 0; i < g; i++) _model.Layout.WritePolicy(head.Slice(i * width, width), distribution.Slice(members[i] * p, p));
        }
    }

    /// <summary>Draws z for every environment whose segment has none yet (its first state: the observation, or the segment's first step).</summary>
    private void EnsureDecisions(ReadOnlySpan<float> observations)
    {
        int o = _model.ObservationSize, dz = _model.Config.LatentDim;
        var need = Enumerable.Range(0, Environments).Where(e => !_envs[e].HasZ).ToList();
        if (need.Count == 0) return;
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        foreach (var group in need.GroupBy(e => _envs[e].History.Count))
        {
            var members = group.ToArray();
            int g = members.Length, k = group.Key + 1;
            var returns = new float[g * k];
            var first = new float[g * k * o];
            var zd = new float[g * k * 2 * dz];
            for (var i = 0; i < g; i++)
            {
                var env = _envs[members[i]];
                for (var s = 0; s < k - 1; s++)
                {
                    var seg = env.History[s];
                    returns[i * k + s] = seg.Return;
                    seg.FirstState.CopyTo(first, (i * k + s) * o);
                    seg.ZDist.CopyTo(zd, (i * k + s) * 2 * dz);
                }
                returns[i * k + k - 1] = env.Return;
                var s0 = env.Steps > 0 ? env.States.AsSpan(0, o) : observations.Slice(members[i] * o, o);
                s0.CopyTo(first.AsSpan((i * k + k - 1) * o));
            }
            var pred = _model.Making.Forward(returns, first, new Tensor(zd, [g, k, 2 * dz]), g, k, inference: true).Span; // (G, K', 2dz)
            for (var i = 0; i < g; i++)
            {
                var env = _envs[members[i]];
                var row = pred.Slice((i * k + k - 1) * 2 * dz, 2 * dz);
                DrawDecisions(row, env.Z);
                env.HasZ = true;
                _imagination.Invalidate(members[i]); // every cached token holds the old z
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="z"/> (c, dim_z) with the segment's decisions from its distribution <c>[mean ‖ log-var]</c>:
    /// <c>z_t = mean + ε_t ⊙ exp(log-var / 2)</c> with a fresh ε for every low-level step t
    /// (<see cref="ModelConfig.LatentNoisePerStep"/>, the reference), else one ε shared by the c steps.
    /// </summary>
    private void DrawDecisions(ReadOnlySpan<float> distribution, float[] z)
    {
        int dz = _model.Config.LatentDim, c = _model.Config.SegmentLength;
        var rows = _model.Config.LatentNoisePerStep ? c : 1;
        for (var t = 0; t < rows; t++)
            for (var q = 0; q < dz; q++) z[t * dz + q] = distribution[q] + (float)_rng.NextNormal() * MathF.Exp(distribution[dz + q] / 2f);
        for (var t = rows; t < c; t++) z.AsSpan(0, dz).CopyTo(z.AsSpan(t * dz, dz));
    }

    /// <summary>
    /// The row of the segment's decisions (<see cref="Env.Z"/>) that step <paramref name="u"/> of (real ++ imagined)
    /// reads, the segment holding <paramref name="j"/> real steps: a real step or the current one (u ≤ j) its own z_u; the
    /// i-th imagined step after the current one (u = j + i, i ≥ 1) z_{i mod c}, as the reference's beam search, which
    /// reads the segment's i-th sample at imagined depth i whatever j is. All rows are equal with one ε per segment.
    /// </summary>
    private int DecisionRow(int u, int j) => u <= j ? u : (u - j) % _model.Config.SegmentLength;

    /// <summary>Reviews the finished segments of <paramref name="closing"/>, pushes them into the high-level context and updates the returns-to-go.</summary>
    private void CloseSegments(List<int> closing)
    {
        int o = _model.ObservationSize, a = _model.ActionSize, dz = _model.Config.LatentDim;
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        foreach (var group in closing.GroupBy(e => _envs[e].Steps))
        {
            var members = group.ToArray();
            int g = members.Length, k = group.Key;
            float[] st = new float[g * k * o], ac = new float[g * k * a], rw = new float[g * k], ns = new float[g * k * o];
            for (var i = 0; i < g; i++)
            {
                var env = _envs[members[i]];
                env.States.AsSpan(0, k * o).CopyTo(st.AsSpan(i * k * o));
                env.Actions.AsSpan(0, k * a).CopyTo(ac.AsSpan(i * k * a));
                env.Rewards.AsSpan(0, k).CopyTo(rw.AsSpan(i * k));
                env.NextStates.AsSpan(0, k * o).CopyTo(ns.AsSpan(i * k * o));
            }
            var z = _model.Reviewing.Forward(st, ac, rw, ns, g, k, inference: true).Span; // (G, 2dz)
            for (var i = 0; i < g; i++)
            {
                var env = _envs[members[i]];
                env.History.Add(new Segment(env.Return, env.States.AsSpan(0, o).ToArray(), z.Slice(i * 2 * dz, 2 * dz).ToArray()));
                if (env.History.Count > _model.Segments - 1) env.History.RemoveAt(0);
                var reward = 0f;
                for (var t = 0; t < k; t++) reward += env.Rewards[t];
                env.Return = env.Done ? _targets[members[i]] : env.Return - reward;
                env.Steps = 0;
                env.HasZ = false;
                _imagination.Invalidate(members[i]);
            }
        }
    }

    private Env Get(int environment)
    {
        if ((uint)environment >= (uint)Environments)
            throw new ArgumentOutOfRangeException(nameof(environment), $"Environment {environment} is outside [0, {Environments}).");
        return _envs[environment];
    }

    private static void CheckLength(int actual, int expected, string name, string shape)
    {
        if (actual != expected) throw new ArgumentException($"{name} holds {actual} floats; {shape} needs {expected}.", name);
    }

    /// <summary>A finished segment in the high-level context.</summary>
    private sealed record Segment(float Return, float[] FirstState, float[] ZDist);

    /// <summary>One environment's state.</summary>
    private sealed class Env(IdtModel model, float target)
    {
        public readonly List<Segment> History = [];
        public readonly float[] States = new float[model.Config.SegmentLength * model.ObservationSize];
        public readonly float[] Actions = new float[model.Config.SegmentLength * model.ActionSize];
        public readonly float[] Rewards = new float[model.Config.SegmentLength];
        public readonly float[] NextStates = new float[model.Config.SegmentLength * model.ObservationSize];
        /// <summary>(c, dim_z) the segment's decisions, one per low-level step (all equal with one ε per segment).</summary>
        public readonly float[] Z = new float[model.Config.SegmentLength * model.Config.LatentDim];
        public float Return = target;
        public int Steps;
        public long Total;
        public bool HasZ, Done;
    }
}
