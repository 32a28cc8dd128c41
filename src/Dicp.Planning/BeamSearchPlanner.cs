using Dicp.Models;
using Dicp.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dicp.Planning;

/// <summary>
/// DICP's model-predictive control for discrete actions (as in the DICP paper): a beam search through the in-context world
/// model that executes the first action of the best imagined path.
/// </summary>
/// <remarks>
/// Per environment that plans (from <see cref="BeamSearchOptions.Start"/> on), with N actions,
/// K = <see cref="BeamSearchOptions.BeamWidth"/>, L = <see cref="BeamSearchOptions.FirstActions"/> and
/// D = min(<see cref="BeamSearchOptions.Horizon"/>, <see cref="PlanRequest.StepsLeft"/>):
/// <list type="number">
/// <item>depth 0: L' = min(L, N) first actions, sampled from the policy without replacement (or by decreasing
/// probability); one <see cref="IInContextSession.Predict"/> of L' candidates (depth 0, query = the observation)
/// gives each a predicted reward r and next observation s';</item>
/// <item>keep the K paths with the largest summed predicted reward Σr, a stable sort (ties keep the policy's order,
/// then the parent's order and the action index);</item>
/// <item>depth d = 1 … D − 1: expand every kept path with all N actions, one Predict of (kept · N) candidates whose
/// d imagined transitions are the path's (state, action, predicted reward, predicted next state) and whose query
/// observation is the path's last predicted next observation; keep the top K again;</item>
/// <item>execute the first action of the best path.</item>
/// </list>
/// Predict calls per planning environment: D; candidates: L' + (D − 1) · min(K, …) · N (50 per depth at the defaults).
/// Environments are planned one after another; the planner reuses its buffers, so it is not thread-safe.
/// </remarks>
public sealed class BeamSearchPlanner : IPlanner
{
    private const string PlannerName = "beam";
    private readonly Generator _rng;
    private readonly ILogger<BeamSearchPlanner> _logger;

    // Buffers, sized for the last model seen: candidates (C = max(L, K·N)) and paths (K), H steps each.
    private int _n = -1, _o = -1;
    private bool _rtg;
    private float[] _cStates = [], _cActions = [], _cRewards = [], _cNext = [], _qStates = [], _qActions = [];
    private PathSet _paths = new(), _next = new();
    private CandidatePredictions? _pred;
    private float[] _rank = [], _policy = [];
    private int[] _order = [];

    /// <summary>Creates a beam-search planner.</summary>
    /// <param name="options">The settings; <see cref="BeamSearchOptions"/> defaults when null.</param>
    /// <param name="logger">Debug output per plan; none when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public BeamSearchPlanner(BeamSearchOptions? options = null, ILogger<BeamSearchPlanner>? logger = null)
    {
        Options = options ?? new BeamSearchOptions();
        Options.Validate();
        _rng = new Generator(Options.Seed);
        _logger = logger ?? NullLogger<BeamSearchPlanner>.Instance;
    }

    /// <summary>The settings.</summary>
    public BeamSearchOptions Options { get; }

    /// <inheritdoc/>
    public string Name => PlannerName;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, object> Settings => new Dictionary<string, object>
    {
        ["planner"] = PlannerName,
        ["beam_k"] = Options.BeamWidth,
        ["samples"] = Options.FirstActions,
        ["horizon"] = Options.Horizon,
        ["deterministic"] = Options.Deterministic,
        ["return_to_go"] = Options.ReturnToGoAtLeaves,
        ["planning_start"] = Options.Start.Name(),
        ["seed"] = Options.Seed,
    };

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A buffer has the wrong length, or a step count is invalid.</exception>
    /// <exception cref="InvalidOperationException">The model's actions are not discrete, it has no dynamics heads, or
    /// return-to-go ranking was asked of a model without that head.</exception>
    public void Plan(IInContextSession session, PlanRequest request, Span<float> actions, PlanTrace? trace = null)
    {
        var envs = PlannerSupport.Validate(PlannerName, session, request, actions.Length);
        var model = session.Model;
        var space = PlannerSupport.RequireDiscrete(PlannerName, model);
        PlannerSupport.RequireDynamics(PlannerName, model);
        if (Options.ReturnToGoAtLeaves && !model.HasReturnToGo)
            throw new InvalidOperationException($"{PlannerName}: ReturnToGoAtLeaves is set but model '{model.Name}' predicts no return-to-go.");
        Prepare(space.N, model.ObservationSize, model.HasReturnToGo, envs, model);
        trace?.Reset(envs);

        var o = model.ObservationSize;
        session.Policy(request.Observations, _policy.AsSpan(0, envs * _n));
        var planned = 0;
        for (var e = 0; e < envs; e++)
        {
            var logits = _policy.AsSpan(e * _n, _n);
            if (!PlannerSupport.ShouldPlan(session, request, e, Options.Start, 0))
            {
                actions[e] = Options.Deterministic ? PlannerSupport.ArgMax(logits) : PlannerSupport.SampleCategorical(_rng, logits);
                continue;
            }
            var depth = Math.Min(Options.Horizon, request.StepsLeft[e]);
            Search(session, e, request.Observations.AsSpan(e * o, o), logits, depth);
            actions[e] = _paths.Actions[0];
            planned++;
            if (trace is not null)
            {
                trace.Planned[e] = true;
                trace.Actions[e] = _paths.Actions.AsSpan(0, depth).ToArray();
                trace.PredictedRewards[e] = _paths.Rewards.AsSpan(0, depth).ToArray();
            }
        }
        if (_logger.IsEnabled(LogLevel.Debug)) _logger.LogDebug("beam: planned {Planned} of {Environments} environments", planned, envs);
    }

    /// <summary>Runs the search for one environment; on return path 0 of <see cref="_paths"/> is the best, depth long.</summary>
    private void Search(IInContextSession session, int env, ReadOnlySpan<float> obs, ReadOnlySpan<float> logits, int depth)
    {
        int n = _n, o = _o, k = Options.BeamWidth;
        var first = Math.Min(Options.FirstActions, n);
        var useRtg = Options.ReturnToGoAtLeaves;
        var pred = _pred!;

        // Depth 0: the first actions in the observation.
        PlannerSupport.FirstActions(_rng, logits, first, Options.Deterministic, _order);
        for (var c = 0; c < first; c++)
        {
            obs.CopyTo(_qStates.AsSpan(c * o, o));
            _qActions[c] = _order[c];
        }
        session.Predict(env, new CandidateBatch(first, 0, _cStates, _cActions, _cRewards, _cNext, _qStates, _qActions), pred);
        PlannerSupport.CheckFinite(PlannerName, pred, first, o);
        for (var c = 0; c < first; c++)
            _rank[c] = useRtg && depth == 1 ? pred.ReturnsToGo![c] : pred.Rewards[c];
        var kept = Keep(first, k);
        for (var i = 0; i < kept; i++)
        {
            var c = _order[i];
            _paths.Set(i, 0, obs, _qActions[c], pred.Rewards[c], pred.NextStates.AsSpan(c * o, o), 0f);
        }

        // Depth d ≥ 1: every kept path with every action, through its d imagined transitions.
        for (var d = 1; d < depth; d++)
        {
            var count = kept * n;
            for (var p = 0; p < kept; p++)
            {
                for (var a = 0; a < n; a++)
                {
                    var c = p * n + a;
                    _paths.StatesOf(p, d).CopyTo(_cStates.AsSpan(c * d * o, d * o));        // (N, d, O)
                    _paths.ActionsOf(p, d).CopyTo(_cActions.AsSpan(c * d, d));             // (N, d, 1)
                    _paths.RewardsOf(p, d).CopyTo(_cRewards.AsSpan(c * d, d));             // (N, d)
                    _paths.NextOf(p, d).CopyTo(_cNext.AsSpan(c * d * o, d * o));          // (N, d, O)
                    _paths.NextOf(p, d)[((d - 1) * o)..].CopyTo(_qStates.AsSpan(c * o, o)); // the last predicted s'
                    _qActions[c] = a;
                }
            }
            session.Predict(env, new CandidateBatch(count, d, _cStates, _cActions, _cRewards, _cNext, _qStates, _qActions), pred);
            PlannerSupport.CheckFinite(PlannerName, pred, count, o);
            var leaf = useRtg && d == depth - 1;
            for (var c = 0; c < count; c++)
                _rank[c] = _paths.Score[c / n] + (leaf ? pred.ReturnsToGo![c] : pred.Rewards[c]);
            kept = Keep(count, k);
            for (var i = 0; i < kept; i++)
            {
                var c = _order[i];
                var p = c / n;
                _next.CopyPrefix(i, _paths, p, d);
                _next.Set(i, d, _qStates.AsSpan(c * o, o), _qActions[c], pred.Rewards[c], pred.NextStates.AsSpan(c * o, o), _paths.Score[p]);
            }
            (_paths, _next) = (_next, _paths);
        }
        // The kept paths are stored in rank order: path 0 is the best.
    }

    /// <summary>Orders candidates 0..count by <see cref="_rank"/> (stable, descending) into <see cref="_order"/>; returns min(count, k).</summary>
    private int Keep(int count, int k)
    {
        for (var c = 0; c < count; c++) _order[c] = c;
        PlannerSupport.StableSortDescending(_rank, _order, count);
        return Math.Min(count, k);
    }

    private void Prepare(int n, int o, bool rtg, int envs, IInContextModel model)
    {
        if (_policy.Length < envs * n) _policy = new float[envs * n];
        if (n == _n && o == _o && rtg == _rtg) return;
        (_n, _o, _rtg) = (n, o, rtg);
        int h = Options.Horizon, k = Options.BeamWidth;
        var cap = Math.Max(Math.Min(Options.FirstActions, n), k * n);
        _cStates = new float[cap * h * o];
        _cActions = new float[cap * h];
        _cRewards = new float[cap * h];
        _cNext = new float[cap * h * o];
        _qStates = new float[cap * o];
        _qActions = new float[cap];
        _rank = new float[cap];
        _order = new int[cap];
        _pred = PlannerSupport.Predictions(model, cap);
        _paths = new PathSet(Math.Max(k, Math.Min(Options.FirstActions, n)), h, o);
        _next = new PathSet(_paths.Capacity, h, o);
    }

    /// <summary>Paths of up to H steps (discrete actions, one float each), row-major with stride H.</summary>
    private sealed class PathSet
    {
        private readonly int _h, _o;

        public PathSet() { }

        public PathSet(int capacity, int h, int o)
        {
            (Capacity, _h, _o) = (capacity, h, o);
            States = new float[capacity * h * o];
            Actions = new float[capacity * h];
            Rewards = new float[capacity * h];
            Next = new float[capacity * h * o];
            Score = new float[capacity];
        }

        public int Capacity { get; }
        public float[] States { get; } = [];
        public float[] Actions { get; } = [];
        public float[] Rewards { get; } = [];
        public float[] Next { get; } = [];
        /// <summary>Σ predicted rewards of each path.</summary>
        public float[] Score { get; } = [];

        public ReadOnlySpan<float> StatesOf(int p, int d) => States.AsSpan(p * _h * _o, d * _o);
        public ReadOnlySpan<float> ActionsOf(int p, int d) => Actions.AsSpan(p * _h, d);
        public ReadOnlySpan<float> RewardsOf(int p, int d) => Rewards.AsSpan(p * _h, d);
        public ReadOnlySpan<float> NextOf(int p, int d) => Next.AsSpan(p * _h * _o, d * _o);

        /// <summary>Writes step <paramref name="t"/> of path <paramref name="p"/>; its score becomes <paramref name="prefixScore"/> + reward.</summary>
        public void Set(int p, int t, ReadOnlySpan<float> state, float action, float reward, ReadOnlySpan<float> next, float prefixScore)
        {
            state.CopyTo(States.AsSpan((p * _h + t) * _o, _o));
            Actions[p * _h + t] = action;
            Rewards[p * _h + t] = reward;
            next.CopyTo(Next.AsSpan((p * _h + t) * _o, _o));
            Score[p] = prefixScore + reward;
        }

        /// <summary>Copies the first <paramref name="d"/> steps of <paramref name="src"/>'s path <paramref name="q"/> into path <paramref name="p"/>.</summary>
        public void CopyPrefix(int p, PathSet src, int q, int d)
        {
            src.StatesOf(q, d).CopyTo(States.AsSpan(p * _h * _o));
            src.ActionsOf(q, d).CopyTo(Actions.AsSpan(p * _h));
            src.RewardsOf(q, d).CopyTo(Rewards.AsSpan(p * _h));
            src.NextOf(q, d).CopyTo(Next.AsSpan(p * _h * _o));
        }
    }
}
