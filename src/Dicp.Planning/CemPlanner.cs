using Dicp.Environments;
using Dicp.Models;
using Dicp.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dicp.Planning;

/// <summary>
/// Cross-entropy-method planning for continuous actions through the in-context world model (beyond the paper):
/// refine a diagonal Gaussian over action sequences toward the sequences with the highest imagined return.
/// </summary>
/// <remarks>
/// Per environment that plans, with D = min(<see cref="CemOptions.Horizon"/>, <see cref="PlanRequest.StepsLeft"/>),
/// P = <see cref="CemOptions.Population"/> and α = <see cref="CemOptions.Momentum"/>:
/// <list type="number">
/// <item>μ_t = the policy mean at the observation and σ_t = max(exp(½·logvar), MinStd), for every t &lt; D;</item>
/// <item>each iteration imagines P sequences (D, A): sequence 0 is μ, the others μ + σ ⊙ ε, all clipped to the box;
/// step t is one <see cref="IInContextSession.Step"/> of the P sequences' nodes at depth t (the environment's root at
/// t = 0, then each sequence's child: its earlier steps with their predicted rewards and next observations, queried at
/// the last predicted next observation) with the sequences' actions t; the return is Σ_t predicted reward;</item>
/// <item>the E elites (largest returns, stable order) refit μ ← α·μ + (1 − α)·mean(elites),
/// σ ← max(α·σ + (1 − α)·std(elites), MinStd) (population std over the elites);</item>
/// <item>the first action of the best sequence imagined in any iteration is executed.</item>
/// </list>
/// Step calls per planning environment: Iterations · D, each with P nodes. Not thread-safe.
/// </remarks>
public sealed class CemPlanner : IPlanner
{
    private const string PlannerName = "cem";
    private readonly Generator _rng;
    private readonly ILogger<CemPlanner> _logger;
    private int _a = -1, _o = -1;
    private bool _rtg;
    // The population's action sequences (P, H, A) and returns (P); the actions of one depth (P, A).
    private float[] _seq = [], _returns = [], _qActions = [];
    private float[] _mean = [], _std = [], _bestSeq = [], _bestRewards = [], _policy = [];
    private Rollout[] _nodes = [], _children = [];
    private int[] _order = [];
    private CandidatePredictions? _pred;

    /// <summary>Creates a CEM planner.</summary>
    /// <param name="options">The settings; <see cref="CemOptions"/> defaults when null.</param>
    /// <param name="logger">Debug output per plan; none when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public CemPlanner(CemOptions? options = null, ILogger<CemPlanner>? logger = null)
    {
        Options = options ?? new CemOptions();
        Options.Validate();
        _rng = new Generator(Options.Seed);
        _logger = logger ?? NullLogger<CemPlanner>.Instance;
    }

    /// <summary>The settings.</summary>
    public CemOptions Options { get; }

    /// <inheritdoc/>
    public string Name => PlannerName;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, object> Settings => new Dictionary<string, object>
    {
        ["planner"] = PlannerName,
        ["horizon"] = Options.Horizon,
        ["iterations"] = Options.Iterations,
        ["population"] = Options.Population,
        ["elites"] = Options.Elites,
        ["momentum"] = Options.Momentum,
        ["min_std"] = Options.MinStd,
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
            Options.StartStep, Options.Deterministic, ref _policy, Prepare, (e, dist, box, action, tr) =>
            {
                var depth = Math.Min(Options.Horizon, request.StepsLeft[e]);
                Search(session, e, request.Observations.AsSpan(e * _o, _o), dist, box, depth);
                _bestSeq.AsSpan(0, _a).CopyTo(action);
                if (tr is null) return;
                tr.Actions[e] = _bestSeq.AsSpan(0, depth * _a).ToArray();
                tr.PredictedRewards[e] = _bestRewards.AsSpan(0, depth).ToArray();
            });
        if (_logger.IsEnabled(LogLevel.Debug)) _logger.LogDebug("cem: planned {Planned} of {Environments} environments", planned, envs);
    }

    private void Search(IInContextSession session, int env, ReadOnlySpan<float> obs, ReadOnlySpan<float> dist, BoxSpace box, int depth)
    {
        int a = _a, o = _o, h = Options.Horizon, pop = Options.Population, elites = Options.Elites;
        float alpha = Options.Momentum, minStd = Options.MinStd;
        var pred = _pred!;
        for (var t = 0; t < depth; t++)
            for (var j = 0; j < a; j++)
            {
                _mean[t * a + j] = dist[j];
                _std[t * a + j] = MathF.Max(MathF.Exp(0.5f * dist[a + j]), minStd);
            }
        var bestReturn = float.NegativeInfinity;
        var root = session.Root(env, obs); // one root for every iteration: a caching session encodes its tokens once

        for (var it = 0; it < Options.Iterations; it++)
        {
            // Sample the population (P, H, A); member 0 is the mean.
            for (var c = 0; c < pop; c++)
            {
                for (var t = 0; t < depth; t++)
                {
                    var s = _seq.AsSpan((c * h + t) * a, a);
                    for (var j = 0; j < a; j++)
                        s[j] = _mean[t * a + j] + (c == 0 ? 0f : _std[t * a + j] * (float)_rng.NextNormal());
                    PlannerSupport.Clip(box, s);
                }
            }

            // Imagine step by step: every sequence's node at depth t (the root at t = 0) takes the sequence's action t.
            Array.Fill(_nodes, root);
            for (var t = 0; t < depth; t++)
            {
                for (var c = 0; c < pop; c++) _seq.AsSpan((c * h + t) * a, a).CopyTo(_qActions.AsSpan(c * a, a));
                session.Step(_nodes, _qActions, pred, _children);
                (_nodes, _children) = (_children, _nodes);
                PlannerSupport.CheckFinite(PlannerName, pred, pop, o);
            }
            for (var c = 0; c < pop; c++) _returns[c] = _nodes[c].Return;

            // Elites, the best sequence so far, and the refit.
            for (var c = 0; c < pop; c++) _order[c] = c;
            PlannerSupport.StableSortDescending(_returns, _order, pop);
            var top = _order[0];
            if (_returns[top] > bestReturn)
            {
                bestReturn = _returns[top];
                _seq.AsSpan(top * h * a, depth * a).CopyTo(_bestSeq);
                for (var node = _nodes[top]; node.Parent is not null; node = node.Parent) _bestRewards[node.Depth - 1] = node.Reward;
            }
            for (var t = 0; t < depth; t++)
                for (var j = 0; j < a; j++)
                {
                    double m = 0, v = 0;
                    for (var i = 0; i < elites; i++) m += _seq[(_order[i] * h + t) * a + j];
                    m /= elites;
                    for (var i = 0; i < elites; i++) { var d = _seq[(_order[i] * h + t) * a + j] - m; v += d * d; }
                    var sd = Math.Sqrt(v / elites);
                    var k = t * a + j;
                    _mean[k] = alpha * _mean[k] + (1f - alpha) * (float)m;
                    _std[k] = MathF.Max(alpha * _std[k] + (1f - alpha) * (float)sd, minStd);
                }
        }
    }

    private void Prepare(int a, int o, IInContextModel model)
    {
        if (a == _a && o == _o && model.HasReturnToGo == _rtg) return;
        (_a, _o, _rtg) = (a, o, model.HasReturnToGo);
        int h = Options.Horizon, pop = Options.Population;
        _seq = new float[pop * h * a];
        _returns = new float[pop];
        _qActions = new float[pop * a];
        _nodes = new Rollout[pop];
        _children = new Rollout[pop];
        _mean = new float[h * a];
        _std = new float[h * a];
        _bestSeq = new float[h * a];
        _bestRewards = new float[h];
        _order = new int[pop];
        _pred = PlannerSupport.Predictions(model, pop);
    }
}
