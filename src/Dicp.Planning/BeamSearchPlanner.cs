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
/// probability), stepped from the environment's root (<see cref="IInContextSession.Root"/> at the observation): each
/// gets a predicted reward r and next observation s' and becomes a child node;</item>
/// <item>keep the K paths with the largest summed predicted reward Σr, a stable sort (ties keep the policy's order,
/// then the parent's order and the action index);</item>
/// <item>depth d = 1 … D − 1: step every kept node (a path of d imagined transitions, queried at its last predicted
/// next observation) with all N actions; keep the top K children again;</item>
/// <item>execute the first action of the best path.</item>
/// </list>
/// Candidates per planning environment: L' + (D − 1) · min(K, …) · N (50 per depth at the defaults). Every
/// environment's candidates of one depth go through one <see cref="IInContextSession.Step"/>, so a KV-caching session
/// batches the environments; random draws happen environment by environment, as in a per-environment search. Not
/// thread-safe.
/// </remarks>
public sealed class BeamSearchPlanner : IPlanner
{
    private const string PlannerName = "beam";
    private readonly Generator _rng;
    private readonly ILogger<BeamSearchPlanner> _logger;
    private float[] _policy = [];

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
        var n = PlannerSupport.RequireDiscrete(PlannerName, model).N;
        PlannerSupport.RequireDynamics(PlannerName, model);
        if (Options.ReturnToGoAtLeaves && !model.HasReturnToGo)
            throw new InvalidOperationException($"{PlannerName}: ReturnToGoAtLeaves is set but model '{model.Name}' predicts no return-to-go.");
        trace?.Reset(envs);
        int o = model.ObservationSize, first = Math.Min(Options.FirstActions, n);
        if (_policy.Length < envs * n) _policy = new float[envs * n];
        session.Policy(request.Observations, _policy.AsSpan(0, envs * n));

        // Every planning environment's beam starts at its root with the first actions; the others act from the policy.
        var beams = new List<Beam>();
        var order = new int[n];
        for (var e = 0; e < envs; e++)
        {
            var logits = _policy.AsSpan(e * n, n);
            if (!PlannerSupport.ShouldPlan(session, request, e, Options.Start, 0))
            {
                actions[e] = Options.Deterministic ? PlannerSupport.ArgMax(logits) : PlannerSupport.SampleCategorical(_rng, logits);
                continue;
            }
            PlannerSupport.FirstActions(_rng, logits, first, Options.Deterministic, order);
            beams.Add(new Beam(e, Math.Min(Options.Horizon, request.StepsLeft[e]), session.Root(e, request.Observations.AsSpan(e * o, o)), order[..first]));
        }
        for (var d = 0; beams.Exists(b => b.Depth > d); d++) Expand(session, beams, d, n);

        foreach (var beam in beams)
        {
            var best = beam.Kept[0];
            actions[beam.Environment] = best.Ancestor(1).Action[0];
            if (trace is null) continue;
            var path = new Rollout[best.Depth];
            best.PathTo(path);
            trace.Planned[beam.Environment] = true;
            trace.Actions[beam.Environment] = [.. path.Select(x => x.Action[0])];
            trace.PredictedRewards[beam.Environment] = [.. path.Select(x => x.Reward)];
        }
        if (_logger.IsEnabled(LogLevel.Debug)) _logger.LogDebug("beam: planned {Planned} of {Environments} environments", beams.Count, envs);
    }

    /// <summary>
    /// Depth <paramref name="d"/> of every beam still searching, in one <see cref="IInContextSession.Step"/>: the root
    /// with its first actions (d = 0), else every kept node with every action; each beam then keeps its top K children
    /// by Σ predicted reward (the return-to-go in place of the last reward at a leaf, when asked), a stable order.
    /// </summary>
    private void Expand(IInContextSession session, List<Beam> beams, int d, int n)
    {
        var nodes = new List<Rollout>();
        var acts = new List<float>();
        var starts = new int[beams.Count + 1];
        for (var b = 0; b < beams.Count; b++)
        {
            starts[b] = nodes.Count;
            var beam = beams[b];
            if (beam.Depth <= d) continue;
            if (d == 0)
                foreach (var a in beam.FirstActions) { nodes.Add(beam.Kept[0]); acts.Add(a); }
            else
                foreach (var node in beam.Kept)
                    for (var a = 0; a < n; a++) { nodes.Add(node); acts.Add(a); }
        }
        starts[beams.Count] = nodes.Count;
        var count = nodes.Count;
        var pred = PlannerSupport.Predictions(session.Model, count);
        var children = new Rollout[count];
        session.Step(nodes.ToArray(), acts.ToArray(), pred, children);
        PlannerSupport.CheckFinite(PlannerName, pred, count, session.Model.ObservationSize);

        var rank = new float[count];
        var order = new int[count];
        for (var b = 0; b < beams.Count; b++)
        {
            var beam = beams[b];
            int start = starts[b], size = starts[b + 1] - start;
            if (size == 0) continue;
            var leaf = Options.ReturnToGoAtLeaves && d == beam.Depth - 1;
            for (var c = start; c < start + size; c++)
            {
                rank[c] = nodes[c].Return + (leaf ? pred.ReturnsToGo![c] : pred.Rewards[c]);
                order[c - start] = c;
            }
            PlannerSupport.StableSortDescending(rank, order, size);
            beam.Kept = [.. order.Take(Math.Min(size, Options.BeamWidth)).Select(c => children[c])];
        }
    }

    /// <summary>One environment's search: its kept nodes (the root before depth 0; path 0 the best after each depth).</summary>
    private sealed class Beam(int environment, int depth, Rollout root, int[] firstActions)
    {
        public int Environment { get; } = environment;
        public int Depth { get; } = depth;
        public int[] FirstActions { get; } = firstActions;
        public List<Rollout> Kept { get; set; } = [root];
    }
}
