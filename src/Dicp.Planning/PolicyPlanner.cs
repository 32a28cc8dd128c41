using Dicp.Environments;
using Dicp.Models;
using Dicp.Tensors;

namespace Dicp.Planning;

/// <summary>Settings of <see cref="PolicyPlanner"/>.</summary>
/// <param name="Greedy">Take the most likely action (argmax of the logits, or the Gaussian mean) instead of sampling.</param>
/// <param name="Seed">Seeds the sampling.</param>
public sealed record PolicyPlannerOptions(bool Greedy = false, int Seed = 0);

/// <summary>
/// The "none" planner: acts from the in-context policy alone, as AD, DPT and IDT are evaluated without DICP. Discrete
/// actions are sampled from softmax(logits) (or the argmax); continuous ones from the diagonal Gaussian
/// N(mean, exp(log-variance)) (or the mean), clipped to the action box.
/// </summary>
/// <remarks>
/// The sampling is the one the other planners use where they do not plan: a categorical draws u ~ U[0, 1) (53 bits) and
/// takes the first action whose cumulative softmax probability (in double) exceeds u; a Gaussian draws one standard
/// normal per dimension. Ties of the argmax go to the lowest index. The generator lives as long as the planner, so a
/// planner created with the same seed and driven by the same session produces the same actions.
/// </remarks>
public sealed class PolicyPlanner : IPlanner
{
    private readonly Generator _rng;
    private float[] _distribution = [];

    /// <summary>Creates the planner.</summary>
    public PolicyPlanner(PolicyPlannerOptions? options = null)
    {
        Options = options ?? new PolicyPlannerOptions();
        _rng = new Generator(Options.Seed);
        Settings = new Dictionary<string, object> { ["greedy"] = Options.Greedy, ["seed"] = Options.Seed };
    }

    /// <summary>The settings.</summary>
    public PolicyPlannerOptions Options { get; }

    /// <inheritdoc/>
    public string Name => "none";

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, object> Settings { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A buffer does not match the session's environments and the model's sizes.</exception>
    /// <exception cref="InvalidOperationException">The action space is neither discrete nor a box, or the policy is not finite.</exception>
    public void Plan(IInContextSession session, PlanRequest request, Span<float> actions, PlanTrace? trace = null)
    {
        var e = PlannerSupport.Validate(Name, session, request, actions.Length);
        var model = session.Model;
        var p = PlannerSupport.PolicySize(model);
        if (_distribution.Length != e * p) _distribution = new float[e * p];
        session.Policy(request.Observations, _distribution);
        trace?.Reset(e);
        for (var i = 0; i < e; i++)
        {
            var row = _distribution.AsSpan(i * p, p);
            if (model.ActionSpace is BoxSpace box) PlannerSupport.GaussianAction(_rng, row, box, Options.Greedy, actions.Slice(i * box.Size, box.Size));
            else actions[i] = Options.Greedy ? PlannerSupport.ArgMax(row) : PlannerSupport.SampleCategorical(_rng, row);
        }
    }
}
