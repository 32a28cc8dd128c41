using Dicp.Autograd;
using Dicp.Environments;
using Dicp.Nn;
using Dicp.Optim;
using Dicp.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dicp.Rl;

/// <summary>
/// Proximal Policy Optimisation (clipped surrogate, GAE) as in Stable-Baselines3 with the reference's settings
/// (<see cref="PpoOptions"/>): one learner acting for <see cref="StreamCount"/> streams of one task in lock-step.
/// </summary>
/// <remarks>
/// <para>Discrete action spaces get a categorical policy over logits; box action spaces a diagonal Gaussian with a
/// state-independent log-std. Gaussian samples are stored unclipped for learning and clipped to the box when written
/// to the environment actions.</para>
/// <para>By default every episode end (termination or truncation at the horizon) is terminal: the advantage does not
/// bootstrap through it, as the reference's grid-world vectorised environments do (they report truncation as
/// <c>done</c>). With <see cref="PpoOptions.BootstrapTruncation"/> (Meta-World's default, as Stable-Baselines3 with a
/// time limit) a truncated episode's last reward gains γ·V(final observation). A rollout that stops mid-episode
/// bootstraps from the value of the next observation. With <see cref="PpoOptions.RecordSampledActions"/> the history
/// records the unclipped samples (<see cref="SampledActions"/>).</para>
/// <para>All randomness (initialisation, action sampling, minibatch order) comes from <see cref="Generator"/>s derived
/// from the seed, so a run is reproducible bit for bit.</para>
/// </remarks>
public sealed class Ppo : ISourceAlgorithm
{
    private static readonly float HalfLog2Pi = 0.5f * MathF.Log(2f * MathF.PI);

    private readonly PpoOptions _o;
    private readonly ILogger<Ppo> _logger;
    private readonly Generator _sampleRng, _shuffleRng;
    private readonly Parameter[] _params;
    private readonly Adam _adam;
    private readonly float[]? _low, _high;
    private readonly int _dims; // logits (discrete) or Gaussian dimensions
    private readonly int _rolloutSize;

    // Rollout storage, index t·N + i.
    private readonly float[] _obs, _actRaw, _logp, _values, _rewards, _adv, _returns, _lastValues;
    private readonly int[] _actIdx;
    private readonly bool[] _dones;
    private readonly int[] _perm;
    private readonly Tensor _actObs, _lastObs;
    private readonly Dictionary<int, Minibatch> _minibatches = [];
    private int _t;
    private bool _acted, _updateDue;
    private int _updates;

    /// <summary>Creates the learner.</summary>
    /// <param name="observationSpace">The observation space (only its size is used).</param>
    /// <param name="actionSpace">A <see cref="DiscreteSpace"/> (categorical policy) or a <see cref="BoxSpace"/> (Gaussian policy).</param>
    /// <param name="streams">The number of streams acting in lock-step.</param>
    /// <param name="options">Hyperparameters (default: <see cref="PpoOptions"/>'s defaults).</param>
    /// <param name="seed">Seeds initialisation, sampling and minibatch order.</param>
    /// <param name="logger">Receives one debug line per update.</param>
    /// <exception cref="ArgumentException">The action space is neither discrete nor a box, or an option is invalid.</exception>
    public Ppo(Space observationSpace, Space actionSpace, int streams, PpoOptions? options = null, int seed = 0, ILogger<Ppo>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(observationSpace);
        ArgumentNullException.ThrowIfNull(actionSpace);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(streams);
        _o = options ?? new PpoOptions();
        _o.Validate();
        _logger = logger ?? NullLogger<Ppo>.Instance;
        StreamCount = streams;
        ObservationSize = observationSpace.Size;
        ActionSize = actionSpace.Size;
        bool continuous;
        switch (actionSpace)
        {
            case DiscreteSpace d:
                continuous = false;
                _dims = d.N;
                break;
            case BoxSpace b:
                continuous = true;
                _dims = b.Size;
                _low = b.Low.ToArray();
                _high = b.High.ToArray();
                break;
            default:
                throw new ArgumentException($"PPO supports DiscreteSpace and BoxSpace actions, got {actionSpace.GetType().Name} ({actionSpace}).", nameof(actionSpace));
        }
        Seed = seed;
        var root = new Generator(seed);
        Policy = new PpoPolicy(ObservationSize, _dims, continuous, _o, root.Derive(1));
        _sampleRng = root.Derive(2);
        _shuffleRng = root.Derive(3);
        _params = [.. Policy.Parameters()];
        _adam = new Adam(_params, new AdamOptions(LearningRate: _o.LearningRate, Beta1: 0.9f, Beta2: 0.999f, Eps: _o.AdamEps, WeightDecay: 0f));

        _rolloutSize = _o.NSteps * streams;
        _obs = new float[_rolloutSize * ObservationSize];
        _actRaw = new float[continuous ? _rolloutSize * _dims : 0];
        _actIdx = new int[continuous ? 0 : _rolloutSize];
        _logp = new float[_rolloutSize];
        _values = new float[_rolloutSize];
        _rewards = new float[_rolloutSize];
        _dones = new bool[_rolloutSize];
        _adv = new float[_rolloutSize];
        _returns = new float[_rolloutSize];
        _perm = new int[_rolloutSize];
        _lastValues = new float[streams];
        _actObs = Tensor.Zeros(streams, ObservationSize);
        _lastObs = Tensor.Zeros(streams, ObservationSize);
    }

    /// <inheritdoc/>
    public string Name => "ppo";

    /// <summary>The seed the learner was created with.</summary>
    public int Seed { get; }

    /// <summary>The hyperparameters.</summary>
    public PpoOptions Options => _o;

    /// <summary>The networks (for inspection and checkpoints).</summary>
    public PpoPolicy Policy { get; }

    /// <summary>The number of completed updates.</summary>
    public int Updates => _updates;

    /// <inheritdoc/>
    public int StreamCount { get; }

    /// <inheritdoc/>
    public int ObservationSize { get; }

    /// <inheritdoc/>
    public int ActionSize { get; }

    /// <inheritdoc/>
    public bool IsUpdateDue => _updateDue;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, object> Hyperparameters
    {
        get
        {
            var d = new SortedDictionary<string, object>(StringComparer.Ordinal);
            foreach (var (k, v) in _o.ToDictionary()) d[k] = v;
            d["distribution"] = Policy.Continuous ? "diagonal_gaussian" : "categorical";
            d["truncation"] = _o.BootstrapTruncation ? "bootstrap" : "terminal";
            return d;
        }
    }

    /// <inheritdoc/>
    public void Act(ReadOnlySpan<float> observations, Span<float> actions)
    {
        CheckLength(observations.Length, StreamCount * ObservationSize, nameof(observations));
        CheckLength(actions.Length, StreamCount * ActionSize, nameof(actions));
        if (_updateDue) throw new InvalidOperationException("PPO: the rollout is full; call Update before acting again.");
        if (_acted) throw new InvalidOperationException("PPO: Act was called twice; call Observe with the outcome of the previous action first.");
        int n = StreamCount, row = _t * n;
        observations.CopyTo(_actObs.Span);
        observations.CopyTo(_obs.AsSpan(row * ObservationSize));
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            var head = Policy.Policy.Forward(_actObs); // (N, dims)
            Policy.Value.Forward(_actObs).Span.CopyTo(_values.AsSpan(row, n));
            if (!Policy.Continuous) SampleCategorical(Ops.LogSoftmax(head).Span, row, actions);
            else SampleGaussian(head.Span, row, actions);
        }
        _acted = true;
    }

    private void SampleCategorical(ReadOnlySpan<float> logProbs, int row, Span<float> actions)
    {
        var k = _dims;
        for (var i = 0; i < StreamCount; i++)
        {
            var lp = logProbs.Slice(i * k, k);
            var u = _sampleRng.NextDouble();
            double cum = 0;
            var a = -1;
            for (var j = 0; j < k; j++)
            {
                var p = Math.Exp(lp[j]);
                if (p <= 0) continue;
                a = j; // the last action with positive probability absorbs rounding
                cum += p;
                if (u < cum) break;
            }
            _actIdx[row + i] = a;
            _logp[row + i] = lp[a];
            actions[i] = a;
        }
    }

    private void SampleGaussian(ReadOnlySpan<float> means, int row, Span<float> actions)
    {
        var d = _dims;
        var logStd = Policy.LogStd!.Span;
        for (var i = 0; i < StreamCount; i++)
        {
            float logp = 0f;
            for (var j = 0; j < d; j++)
            {
                var mu = means[i * d + j];
                var a = mu + MathF.Exp(logStd[j]) * (float)_sampleRng.NextNormal();
                var z = (a - mu) * MathF.Exp(-logStd[j]);
                logp += -0.5f * z * z - logStd[j] - HalfLog2Pi;
                _actRaw[(row + i) * d + j] = a;
                actions[i * d + j] = Math.Clamp(a, _low![j], _high![j]);
            }
            _logp[row + i] = logp;
        }
    }

    /// <inheritdoc/>
    public void Observe(ReadOnlySpan<float> rewards, ReadOnlySpan<bool> dones, ReadOnlySpan<float> nextObservations)
    {
        CheckLength(rewards.Length, StreamCount, nameof(rewards));
        CheckLength(dones.Length, StreamCount, nameof(dones));
        CheckLength(nextObservations.Length, StreamCount * ObservationSize, nameof(nextObservations));
        if (!_acted) throw new InvalidOperationException("PPO: Observe needs a preceding Act.");
        var row = _t * StreamCount;
        rewards.CopyTo(_rewards.AsSpan(row, StreamCount));
        dones.CopyTo(_dones.AsSpan(row, StreamCount));
        _acted = false;
        if (++_t == _o.NSteps)
        {
            nextObservations.CopyTo(_lastObs.Span);
            _updateDue = true;
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// With <see cref="PpoOptions.BootstrapTruncation"/>, a stream whose episode was cut off by the horizon gets
    /// γ·V(final observation) added to its stored reward (the trace is still cut there), as Stable-Baselines3 does for
    /// a time limit: the advantage then bootstraps from the state the episode was truncated in.
    /// </remarks>
    public void Observe(ReadOnlySpan<float> rewards, ReadOnlySpan<bool> dones, ReadOnlySpan<float> nextObservations,
        ReadOnlySpan<bool> truncated, ReadOnlySpan<float> finalObservations)
    {
        var row = _t * StreamCount;
        Observe(rewards, dones, nextObservations);
        if (!_o.BootstrapTruncation) return;
        CheckLength(truncated.Length, StreamCount, nameof(truncated));
        CheckLength(finalObservations.Length, StreamCount * ObservationSize, nameof(finalObservations));
        var any = false;
        for (var i = 0; i < StreamCount; i++) any |= truncated[i] && dones[i];
        if (!any) return;
        _finalObs ??= Tensor.Zeros(StreamCount, ObservationSize);
        finalObservations.CopyTo(_finalObs.Span);
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            var v = Policy.Value.Forward(_finalObs).Span; // (N, 1)
            for (var i = 0; i < StreamCount; i++)
                if (truncated[i] && dones[i]) _rewards[row + i] += _o.Gamma * v[i];
        }
    }

    private Tensor? _finalObs;

    /// <summary>The rollout's stored rewards (NSteps, StreamCount), bootstrapped time-outs included (for tests).</summary>
    internal ReadOnlySpan<float> RolloutRewards => _rewards;

    /// <inheritdoc/>
    /// <remarks>The unclipped Gaussian samples of the last <see cref="Act"/> when <see cref="PpoOptions.RecordSampledActions"/> is set (continuous actions).</remarks>
    public ReadOnlySpan<float> SampledActions =>
        _o.RecordSampledActions && Policy.Continuous ? _actRaw.AsSpan(_t * StreamCount * _dims, StreamCount * _dims) : ReadOnlySpan<float>.Empty;

    /// <inheritdoc/>
    public UpdateStatistics Update(CancellationToken cancellationToken = default)
    {
        if (!_updateDue) throw new InvalidOperationException($"PPO: no update is due ({_t} of {_o.NSteps} rollout steps collected).");
        ComputeAdvantages();
        var stats = new PpoStepAccumulator();
        for (var epoch = 0; epoch < _o.Epochs; epoch++)
        {
            for (var i = 0; i < _perm.Length; i++) _perm[i] = i;
            for (var i = _perm.Length - 1; i > 0; i--)
            {
                var j = _shuffleRng.NextInt(i + 1);
                (_perm[i], _perm[j]) = (_perm[j], _perm[i]);
            }
            for (var start = 0; start < _rolloutSize; start += _o.MinibatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                GradientStep(_perm.AsSpan(start, Math.Min(_o.MinibatchSize, _rolloutSize - start)), ref stats);
            }
        }
        _t = 0;
        _updateDue = false;
        _updates++;
        var result = stats.ToStatistics(_updates);
        if (_logger.IsEnabled(LogLevel.Debug))
            _logger.LogDebug("PPO update {Update}: policy loss {PolicyLoss:F4}, value loss {ValueLoss:F4}, entropy {Entropy:F3}, approx KL {ApproxKl:F5}, clip fraction {ClipFraction:F3}",
                result.Update, result.PolicyLoss, result.ValueLoss, result.Entropy, result.ApproxKl, result.ClipFraction);
        return result;
    }

    /// <summary>GAE(λ) with bootstrapping from the value of the observation after the rollout; dones cut the trace.</summary>
    private void ComputeAdvantages()
    {
        int n = StreamCount;
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
            Policy.Value.Forward(_lastObs).Span.CopyTo(_lastValues);
        float gamma = _o.Gamma, gl = _o.Gamma * _o.GaeLambda;
        for (var i = 0; i < n; i++)
        {
            var last = 0f;
            for (var t = _o.NSteps - 1; t >= 0; t--)
            {
                var k = t * n + i;
                var nextValue = t == _o.NSteps - 1 ? _lastValues[i] : _values[k + n];
                var nonTerminal = _dones[k] ? 0f : 1f;
                var delta = _rewards[k] + gamma * nextValue * nonTerminal - _values[k];
                last = delta + gl * nonTerminal * last;
                _adv[k] = last;
                _returns[k] = last + _values[k];
            }
        }
    }

    private void GradientStep(ReadOnlySpan<int> indices, ref PpoStepAccumulator stats)
    {
        var b = indices.Length;
        if (!_minibatches.TryGetValue(b, out var mb)) _minibatches[b] = mb = new Minibatch(b, ObservationSize, _dims, Policy.Continuous);
        var obsSize = ObservationSize;
        var obs = mb.Obs.Span;
        var adv = mb.Advantages.Span;
        var ret = mb.Returns.Span;
        for (var r = 0; r < b; r++)
        {
            var k = indices[r];
            _obs.AsSpan(k * obsSize, obsSize).CopyTo(obs.Slice(r * obsSize, obsSize));
            if (Policy.Continuous) _actRaw.AsSpan(k * _dims, _dims).CopyTo(mb.Actions!.Span.Slice(r * _dims, _dims));
            else mb.ActionIndex[r] = _actIdx[k];
            mb.OldLogp.Span[r] = _logp[k];
            adv[r] = _adv[k];
            ret[r] = _returns[k];
        }
        if (_o.NormalizeAdvantage && b > 1) Normalize(adv);

        using (TensorScope.Begin())
        {
            var head = Policy.Policy.Forward(mb.Obs);
            Tensor logp; // (B, 1) log π(a|s)
            Tensor? logSoftmax = null;
            float entropy;
            if (!Policy.Continuous)
            {
                logSoftmax = Ops.LogSoftmax(head);
                logp = Ops.Gather(logSoftmax, mb.ActionIndex, mb.IndexShape);
                entropy = CategoricalEntropy(logSoftmax.Span, b);
            }
            else
            {
                // log N(a; μ, σ) = −½ Σ_j ((a_j − μ_j)/σ_j)² − Σ_j log σ_j − d·½log 2π
                var logStd = Policy.LogStd!;
                var z = Ops.Mul(Ops.Sub(mb.Actions!, head), Ops.Exp(Ops.Scale(logStd, -1f))); // (B, d)
                var sumLogStd = Ops.Sum(logStd);
                logp = Ops.AddScalar(Ops.Add(Ops.Scale(Ops.Sum(Ops.Mul(z, z), axis: 1, keepDim: true), -0.5f), Ops.Scale(sumLogStd, -1f)), -_dims * HalfLog2Pi);
                entropy = sumLogStd.Item() + _dims * (0.5f + HalfLog2Pi);
            }

            // The clipped surrogate as cleanrl writes it: ratio = exp(log π − log π_old),
            // pg_loss = max(−A·ratio, −A·clamp(ratio, 1 − ε, 1 + ε)).mean()
            var logRatio = Ops.Sub(logp, mb.OldLogp);
            var ratio = Ops.Exp(logRatio);
            var negAdv = Ops.Scale(mb.Advantages, -1f);
            var policyLoss = Ops.Mean(Ops.Max(Ops.Mul(negAdv, ratio), Ops.Mul(negAdv, Ops.Clamp(ratio, 1f - _o.ClipRange, 1f + _o.ClipRange))));
            var pl = policyLoss.Item();
            float lo = 1f - _o.ClipRange, hi = 1f + _o.ClipRange, invB = 1f / b;
            double kl = 0, clipped = 0;
            ReadOnlySpan<float> r = ratio.Span, lr = logRatio.Span;
            for (var i = 0; i < b; i++)
            {
                kl += r[i] - 1f - lr[i]; // the approximate KL of cleanrl and SB3
                if (r[i] < lo || r[i] > hi) clipped++;
            }
            if (_o.EntropyCoef != 0f)
            {
                var entropyTerm = Policy.Continuous
                    ? Ops.Scale(Ops.Sum(Policy.LogStd!), -_o.EntropyCoef)
                    : Ops.Scale(Ops.Sum(Ops.Mul(Ops.Exp(logSoftmax!), logSoftmax!)), _o.EntropyCoef * invB);
                policyLoss = Ops.Add(policyLoss, entropyTerm);
            }
            var valueLoss = Ops.MseLoss(Policy.Value.Forward(mb.Obs), mb.Returns);
            var loss = Ops.Add(policyLoss, Ops.Scale(valueLoss, _o.ValueCoef));
            _adam.ZeroGrad();
            loss.Backward();
            ClipGradients();
            _adam.Step();
            stats.Add(pl, valueLoss.Item(), entropy, (float)(kl * invB), (float)(clipped * invB));
        }
    }

    private static float CategoricalEntropy(ReadOnlySpan<float> logSoftmax, int rows)
    {
        double h = 0;
        foreach (var lp in logSoftmax) h -= Math.Exp(lp) * lp;
        return (float)(h / rows);
    }

    private static void Normalize(Span<float> x)
    {
        double mean = 0;
        foreach (var v in x) mean += v;
        mean /= x.Length;
        double ss = 0;
        foreach (var v in x) ss += (v - mean) * (v - mean);
        var std = Math.Sqrt(ss / (x.Length - 1)); // unbiased, as torch.std
        for (var i = 0; i < x.Length; i++) x[i] = (float)((x[i] - mean) / (std + 1e-8));
    }

    /// <summary><c>clip_grad_norm_</c> over all parameters, without allocating.</summary>
    private void ClipGradients()
    {
        double sq = 0;
        foreach (var p in _params)
            if (p.Grad is { } g) sq += TensorPrimitives.Dot(g.AsSpan(0, p.Size), g.AsSpan(0, p.Size));
        var total = (float)Math.Sqrt(sq);
        var coef = _o.MaxGradNorm / (total + 1e-6f);
        if (coef >= 1f) return;
        foreach (var p in _params)
            if (p.Grad is { } g) TensorPrimitives.Multiply(g.AsSpan(0, p.Size), coef, g.AsSpan(0, p.Size));
    }

    private static void CheckLength(int actual, int expected, string name)
    {
        if (actual != expected) throw new ArgumentException($"PPO: buffer '{name}' must hold {expected} elements, got {actual}.", name);
    }

    /// <summary>Reusable input tensors for one minibatch size.</summary>
    private sealed class Minibatch
    {
        public Minibatch(int b, int obsSize, int dims, bool continuous)
        {
            Obs = Tensor.Zeros(b, obsSize);
            Returns = Tensor.Zeros(b, 1);
            Advantages = Tensor.Zeros(b, 1);
            OldLogp = Tensor.Zeros(b, 1);
            if (continuous)
            {
                Actions = Tensor.Zeros(b, dims);
                ActionIndex = [];
            }
            else
            {
                ActionIndex = new int[b];
            }
            IndexShape = [b, 1];
        }

        public Tensor Obs { get; }
        public Tensor Returns { get; }
        public Tensor? Actions { get; }
        public int[] ActionIndex { get; }
        public int[] IndexShape { get; }
        public Tensor Advantages { get; } // (B, 1)
        public Tensor OldLogp { get; }    // (B, 1)
    }
}
