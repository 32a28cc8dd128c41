using Dicp.Autograd;
using Dicp.Environments;
using Dicp.Nn;
using Dicp.Optim;
using Dicp.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dicp.Rl;

/// <summary>
/// Soft Actor-Critic (twin critics, Polyak-averaged target critics, tanh-squashed Gaussian policy, automatic entropy
/// tuning) as in Stable-Baselines3 with the specification's settings (<see cref="SacOptions"/>): one learner acting for
/// <see cref="StreamCount"/> streams of one task in lock-step, all of them feeding one replay buffer.
/// </summary>
/// <remarks>
/// <para>Box action spaces only (finite bounds). The policy acts in [−1, 1]ᴬ; an action <c>a</c> is sent to the
/// environment as <c>low + ½(a + 1)(high − low)</c> and stored in the replay buffer unscaled. Until the buffer holds
/// <see cref="SacOptions.LearningStarts"/> transitions the actions are uniform on [−1, 1]ᴬ (Stable-Baselines3's
/// warm-up).</para>
/// <para>An update is due after every <see cref="SacOptions.TrainFrequency"/>-th lock-step environment step once
/// learning has started; it takes <see cref="SacOptions.GradientSteps"/> gradient steps. Every gradient step, on a
/// batch drawn uniformly from the buffer: (1) α: descend <c>−log α·mean(log π(ã|s) + H̄)</c>; (2) critics: descend
/// <c>½ Σᵢ MSE(Qᵢ(s, a), y)</c> with <c>y = r + γ(1 − d)(min_i Q′ᵢ(s′, a′) − α·log π(a′|s′))</c>, a′ ~ π(·|s′);
/// (3) actor: descend <c>mean(α·log π(ã|s) − min_i Qᵢ(s, ã))</c> through the reparameterised ã; (4) targets:
/// <c>θ′ ← (1 − τ)θ′ + τθ</c>. α in (2) and (3) is its value before step (1), as in Stable-Baselines3.</para>
/// <para>A time limit is not terminal (<see cref="SacOptions.BootstrapTruncation"/>, the default, as Stable-Baselines3):
/// the truncated transition is stored with its true final observation and <c>d = 0</c>; a termination has <c>d = 1</c>.
/// Without that option (or through the three-argument <see cref="Observe(ReadOnlySpan{float}, ReadOnlySpan{bool}, ReadOnlySpan{float})"/>)
/// every episode end is terminal.</para>
/// <para>All randomness comes from <see cref="Generator"/>s derived from the seed, so a run is reproducible bit for bit.</para>
/// </remarks>
public sealed partial class Sac : ISourceAlgorithm
{
    private readonly SacOptions _o;
    private readonly ILogger<Sac> _logger;
    private readonly Generator _actRng, _replayRng;
    private readonly float[] _low, _high;
    private readonly int _dims;
    private readonly float _targetEntropy;
    private readonly Adam _actorAdam, _criticAdam;
    private readonly Adam? _alphaAdam;
    private readonly Parameter _logAlpha;
    private readonly Parameter[] _criticParams, _targetParams;
    private readonly ReplayBuffer _buffer;
    private readonly float[] _pendingObs, _pendingAct;
    private readonly Tensor _actObs, _actNoise;
    private readonly Batch _batch;
    private bool _acted, _updateDue;
    private long _envSteps;
    private int _updates;

    /// <summary>Creates the learner.</summary>
    /// <param name="observationSpace">The observation space (only its size is used).</param>
    /// <param name="actionSpace">A <see cref="BoxSpace"/> with finite bounds.</param>
    /// <param name="streams">The number of streams acting in lock-step.</param>
    /// <param name="options">Hyperparameters (default: <see cref="SacOptions"/>'s defaults).</param>
    /// <param name="seed">Seeds initialisation, acting, batch sampling and the policy noise of updates.</param>
    /// <param name="logger">Receives one debug line per update.</param>
    /// <param name="maxTransitions">
    /// The most transitions the learner will ever observe, when known (e.g. streams × steps of a collection): the
    /// buffer is allocated with <c>min(BufferSize, maxTransitions)</c> rows, which changes nothing but memory.
    /// </param>
    /// <exception cref="ArgumentException">The action space is not a finite box, or an option is invalid.</exception>
    public Sac(Space observationSpace, Space actionSpace, int streams, SacOptions? options = null, int seed = 0, ILogger<Sac>? logger = null, long? maxTransitions = null)
    {
        ArgumentNullException.ThrowIfNull(observationSpace);
        ArgumentNullException.ThrowIfNull(actionSpace);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(streams);
        _o = options ?? new SacOptions();
        _o.Validate();
        _logger = logger ?? NullLogger<Sac>.Instance;
        if (actionSpace is not BoxSpace box)
            throw new ArgumentException($"SAC needs a BoxSpace action space, got {actionSpace.GetType().Name} ({actionSpace}).", nameof(actionSpace));
        _low = box.Low.ToArray();
        _high = box.High.ToArray();
        for (var j = 0; j < _low.Length; j++)
            if (!float.IsFinite(_low[j]) || !float.IsFinite(_high[j]) || !(_low[j] < _high[j]))
                throw new ArgumentException($"SAC needs finite action bounds with low < high; dimension {j} is [{_low[j]}, {_high[j]}].", nameof(actionSpace));
        StreamCount = streams;
        ObservationSize = observationSpace.Size;
        ActionSize = _dims = box.Size;
        Seed = seed;
        _targetEntropy = _o.TargetEntropy ?? -_dims;

        var root = new Generator(seed);
        var init = root.Derive(1);
        Actor = new SacActor(ObservationSize, _dims, _o, init);
        Critic = new SacCritic(ObservationSize, _dims, _o, init);
        CriticTarget = new SacCritic(ObservationSize, _dims, _o, init);
        CriticTarget.LoadStateDict(Critic.StateDict());
        _actRng = root.Derive(2);
        _replayRng = root.Derive(3);
        _criticParams = [.. Critic.Parameters()];
        _targetParams = [.. CriticTarget.Parameters()];
        foreach (var p in _targetParams) p.RequiresGrad = false;
        var adam = new AdamOptions(LearningRate: _o.LearningRate, Beta1: 0.9f, Beta2: 0.999f, Eps: 1e-8f, WeightDecay: 0f);
        _actorAdam = new Adam(Actor.Parameters(), adam);
        _criticAdam = new Adam(_criticParams, adam);
        _logAlpha = new Parameter([MathF.Log(_o.InitialEntropyCoef)], [1]);
        _alphaAdam = _o.AutoEntropy ? new Adam([_logAlpha], adam) : null;

        var capacity = (int)Math.Min(_o.BufferSize, Math.Max(1, maxTransitions ?? long.MaxValue));
        _buffer = new ReplayBuffer(capacity, ObservationSize, _dims);
        _pendingObs = new float[streams * ObservationSize];
        _pendingAct = new float[streams * _dims];
        _actObs = Tensor.Zeros(streams, ObservationSize);
        _actNoise = Tensor.Zeros(streams, _dims);
        _batch = new Batch(_o.BatchSize, ObservationSize, _dims);
    }

    /// <inheritdoc/>
    public string Name => "sac";

    /// <summary>The seed the learner was created with.</summary>
    public int Seed { get; }

    /// <summary>The hyperparameters.</summary>
    public SacOptions Options => _o;

    /// <summary>The policy.</summary>
    public SacActor Actor { get; }

    /// <summary>The twin critics.</summary>
    public SacCritic Critic { get; }

    /// <summary>The Polyak-averaged target critics.</summary>
    public SacCritic CriticTarget { get; }

    /// <summary>The current entropy coefficient α.</summary>
    public float EntropyCoefficient => MathF.Exp(_logAlpha[0]);

    /// <summary>The entropy target H̄ (<c>−dim(A)</c> unless set).</summary>
    public float TargetEntropy => _targetEntropy;

    /// <summary>Transitions in the replay buffer.</summary>
    public int BufferCount => _buffer.Count;

    /// <summary>Rows allocated for the replay buffer.</summary>
    public int BufferCapacity => _buffer.Capacity;

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
            foreach (var (k, v) in _o.ToDictionary(_dims)) d[k] = v;
            d["distribution"] = "tanh_gaussian";
            d["truncation"] = _o.BootstrapTruncation ? "bootstrap" : "terminal";
            d["warmup"] = "uniform";
            return d;
        }
    }

    /// <inheritdoc/>
    public void Act(ReadOnlySpan<float> observations, Span<float> actions)
    {
        CheckLength(observations.Length, StreamCount * ObservationSize, nameof(observations));
        CheckLength(actions.Length, StreamCount * ActionSize, nameof(actions));
        if (_updateDue) throw new InvalidOperationException("SAC: an update is due; call Update before acting again.");
        if (_acted) throw new InvalidOperationException("SAC: Act was called twice; call Observe with the outcome of the previous action first.");
        observations.CopyTo(_pendingObs);
        if (_buffer.Count < _o.LearningStarts)
        {
            for (var k = 0; k < _pendingAct.Length; k++) _pendingAct[k] = _actRng.Uniform(-1f, 1f);
        }
        else
        {
            observations.CopyTo(_actObs.Span);
            _actRng.FillNormal(_actNoise.Span);
            using (GradMode.NoGrad())
            using (TensorScope.Begin())
                Actor.Sample(_actObs, _actNoise).Action.Span.CopyTo(_pendingAct);
        }
        for (var i = 0; i < StreamCount; i++)
            for (var j = 0; j < _dims; j++)
            {
                var a = _pendingAct[i * _dims + j];
                actions[i * _dims + j] = Math.Clamp(_low[j] + 0.5f * (a + 1f) * (_high[j] - _low[j]), _low[j], _high[j]);
            }
        _acted = true;
    }

    /// <inheritdoc/>
    public void Observe(ReadOnlySpan<float> rewards, ReadOnlySpan<bool> dones, ReadOnlySpan<float> nextObservations)
    {
        CheckLength(rewards.Length, StreamCount, nameof(rewards));
        CheckLength(dones.Length, StreamCount, nameof(dones));
        CheckLength(nextObservations.Length, StreamCount * ObservationSize, nameof(nextObservations));
        if (!_acted) throw new InvalidOperationException("SAC: Observe needs a preceding Act.");
        int o = ObservationSize;
        for (var i = 0; i < StreamCount; i++)
            _buffer.Add(_pendingObs.AsSpan(i * o, o), _pendingAct.AsSpan(i * _dims, _dims), rewards[i], nextObservations.Slice(i * o, o), dones[i]);
        _acted = false;
        _envSteps++;
        _updateDue = _buffer.Count >= Math.Max(1, _o.LearningStarts) && _envSteps % _o.TrainFrequency == 0;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// With <see cref="SacOptions.BootstrapTruncation"/> (the default, as Stable-Baselines3's replay buffer), a stream cut
    /// off by the horizon is stored with its true final observation and done = false: the soft Q-target bootstraps from
    /// it. A terminated episode stays terminal.
    /// </remarks>
    public void Observe(ReadOnlySpan<float> rewards, ReadOnlySpan<bool> dones, ReadOnlySpan<float> nextObservations,
        ReadOnlySpan<bool> truncated, ReadOnlySpan<float> finalObservations)
    {
        if (!_o.BootstrapTruncation)
        {
            Observe(rewards, dones, nextObservations);
            return;
        }
        CheckLength(rewards.Length, StreamCount, nameof(rewards));
        CheckLength(dones.Length, StreamCount, nameof(dones));
        CheckLength(truncated.Length, StreamCount, nameof(truncated));
        CheckLength(finalObservations.Length, StreamCount * ObservationSize, nameof(finalObservations));
        if (!_acted) throw new InvalidOperationException("SAC: Observe needs a preceding Act.");
        int o = ObservationSize;
        for (var i = 0; i < StreamCount; i++)
            _buffer.Add(_pendingObs.AsSpan(i * o, o), _pendingAct.AsSpan(i * _dims, _dims), rewards[i], finalObservations.Slice(i * o, o),
                dones[i] && !truncated[i]);
        _acted = false;
        _envSteps++;
        _updateDue = _buffer.Count >= Math.Max(1, _o.LearningStarts) && _envSteps % _o.TrainFrequency == 0;
    }

    /// <summary>The replay buffer (for tests).</summary>
    internal ReplayBuffer Buffer => _buffer;

    private static void CheckLength(int actual, int expected, string name)
    {
        if (actual != expected) throw new ArgumentException($"SAC: buffer '{name}' must hold {expected} elements, got {actual}.", name);
    }
}
