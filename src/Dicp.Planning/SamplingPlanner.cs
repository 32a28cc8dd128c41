using Dicp.Environments;
using Dicp.Models;
using Dicp.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dicp.Planning;

/// <summary>
/// The paper's greedy search for continuous actions (as in the DICP paper): try the policy mean and L − 1 samples of the
/// policy, execute the one with the highest predicted reward.
/// </summary>
/// <remarks>
/// Per environment that plans (window full when required and <see cref="PlanRequest.EpisodeSteps"/> ≥
/// <see cref="SamplingOptions.StartStep"/>): with the policy's (mean μ, log-variance v) at the observation, candidate
/// 0 is μ and candidates 1 … L − 1 are μ + exp(½v)·ε, ε ~ N(0, I), all clipped to the action box; one
/// <see cref="IInContextSession.Step"/> of the environment's root with the L actions gives their predicted rewards (clipped by the model);
/// the first candidate with the largest reward wins (so the mean wins ties). Not thread-safe (buffers are reused).
/// </remarks>
public sealed class SamplingPlanner : IPlanner
{
    private const string PlannerName = "sampling";
    private readonly Generator _rng;
    private readonly ILogger<SamplingPlanner> _logger;
    private int _a = -1, _o = -1;
    private bool _rtg;
    private float[] _policy = [], _qActions = [];
    private CandidatePredictions? _pred;

    /// <summary>Creates a sampling planner.</summary>
    /// <param name="options">The settings; <see cref="SamplingOptions"/> defaults when null.</param>
    /// <param name="logger">Debug output per plan; none when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public SamplingPlanner(SamplingOptions? options = null, ILogger<SamplingPlanner>? logger = null)
    {
        Options = options ?? new SamplingOptions();
        Options.Validate();
        _rng = new Generator(Options.Seed);
        _logger = logger ?? NullLogger<SamplingPlanner>.Instance;
    }

    /// <summary>The settings.</summary>
    public SamplingOptions Options { get; }

    /// <inheritdoc/>
    public string Name => PlannerName;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, object> Settings => new Dictionary<string, object>
    {
        ["planner"] = PlannerName,
        ["samples"] = Options.Candidates,
        ["start_step"] = Options.StartStep,
        ["planning_start"] = Options.Start.Name(),
        ["deterministic"] = Options.Deterministic,
        ["seed"] = Options.Seed,
    };

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A buffer has the wrong length, or a step count is invalid.</exception>
    /// <exception cref="InvalidOperationException">The model's actions are not a box, or it has no dynamics heads.</exception>
    public void Plan(IInContextSession session, PlanRequest request, Span<float> actions, PlanTrace? trace = null)
    {
        var (envs, planned) = PlannerSupport.PlanContinuous(PlannerName, session, request, actions, trace, _rng, Options.Start,
            Options.StartStep, Options.Deterministic, ref _policy, Prepare, (e, dist, box, action, tr) => Search(session, request, e, dist, box, action, tr));
        if (_logger.IsEnabled(LogLevel.Debug)) _logger.LogDebug("sampling: planned {Planned} of {Environments} environments", planned, envs);
    }

    private void Prepare(int a, int o, IInContextModel model)
    {
        if (a == _a && o == _o && model.HasReturnToGo == _rtg) return;
        var l = Options.Candidates;
        (_a, _o, _rtg) = (a, o, model.HasReturnToGo);
        _qActions = new float[l * a];
        _pred = PlannerSupport.Predictions(model, l);
    }

    /// <summary>Environment <paramref name="e"/>: the policy mean and L − 1 samples, the highest predicted reward wins.</summary>
    private void Search(IInContextSession session, PlanRequest request, int e, ReadOnlySpan<float> dist, BoxSpace box, Span<float> action, PlanTrace? trace)
    {
        int a = _a, o = _o, l = Options.Candidates;
        for (var c = 0; c < l; c++) PlannerSupport.GaussianAction(_rng, dist, box, deterministic: c == 0, _qActions.AsSpan(c * a, a));
        session.Root(e, request.Observations.AsSpan(e * o, o)).Step(_qActions.AsSpan(0, l * a), _pred!, new Rollout[l]);
        PlannerSupport.CheckFinite(PlannerName, _pred!, l, o);
        var best = PlannerSupport.ArgMax(_pred!.Rewards.AsSpan(0, l));
        _qActions.AsSpan(best * a, a).CopyTo(action);
        if (trace is not null)
        {
            trace.Actions[e] = action.ToArray();
            trace.PredictedRewards[e] = [_pred.Rewards[best]];
        }
    }
}
