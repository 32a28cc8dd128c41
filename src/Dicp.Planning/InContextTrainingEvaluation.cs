using Dicp.Environments;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;

namespace Dicp.Evaluation;

/// <summary>
/// The periodic in-context evaluation of a <see cref="Trainer"/>: plays <see cref="EvaluationOptions.Episodes"/>
/// episodes per task with the policy (<see cref="PolicyPlanner"/>, sampling with a fixed seed, so every evaluation is
/// comparable) and reports <c>ic_first_return</c>, <c>ic_last_return</c> (mean over tasks of the first and last
/// episode) and <c>ic_mean_return</c> (over all episodes).
/// </summary>
/// <param name="environments">Creates fresh environments, one per task (called at every evaluation).</param>
/// <param name="options">Episodes and seed.</param>
/// <param name="greedy">Act greedily instead of sampling.</param>
public sealed class InContextTrainingEvaluation(Func<IReadOnlyList<IEnvironment>> environments, EvaluationOptions options, bool greedy = false)
    : ITrainingEvaluation
{
    /// <inheritdoc/>
    public IReadOnlyList<string> MetricNames { get; } = ["ic_first_return", "ic_last_return", "ic_mean_return"];

    /// <summary>The result of the last evaluation.</summary>
    public EvaluationResult? LastResult { get; private set; }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, double> Evaluate(ITrainableInContextModel model, int step, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environments);
        var planner = new PolicyPlanner(new PolicyPlannerOptions(greedy, options.Seed));
        var r = InContextEvaluator.Run(model, environments(), planner, options, null, cancellationToken);
        LastResult = r;
        return new Dictionary<string, double>
        {
            ["ic_first_return"] = r.MeanReturnPerEpisode[0],
            ["ic_last_return"] = r.MeanReturnPerEpisode[^1],
            ["ic_mean_return"] = r.MeanReturnPerEpisode.Average(),
        };
    }
}
