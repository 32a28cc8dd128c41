using Dicp.Models;

namespace Dicp.Planning;

/// <summary>
/// Chooses the action to execute in each environment of an <see cref="IInContextSession"/>: by imitating the
/// in-context policy, or by model-predictive control with the session's world model.
/// </summary>
/// <remarks>
/// Planners own their random generator (seeded from their options' <c>Seed</c>), so the same seed and the same
/// session give the same actions. Buffers are row-major with <c>E</c> = <see cref="IInContextSession.Environments"/>.
/// </remarks>
public interface IPlanner
{
    /// <summary>A short name for results and logs, e.g. <c>"beam"</c>.</summary>
    string Name { get; }

    /// <summary>The planner's settings as JSON-friendly name/value pairs (written into results).</summary>
    IReadOnlyDictionary<string, object> Settings { get; }

    /// <summary>Chooses one action per environment.</summary>
    /// <param name="session">The contexts (real transitions so far) of the environments.</param>
    /// <param name="request">The current observations and where each environment stands in its episode.</param>
    /// <param name="actions">Receives (E, A) the actions to execute.</param>
    /// <param name="trace">When not null, receives the best imagined path of every environment that planned.</param>
    void Plan(IInContextSession session, PlanRequest request, Span<float> actions, PlanTrace? trace = null);
}

/// <summary>The state of the environments a planner acts in.</summary>
/// <param name="Observations">(E, O) the current observations.</param>
/// <param name="EpisodeSteps">(E) the steps already taken in each environment's current episode.</param>
/// <param name="StepsLeft">(E) the steps left before each episode is truncated (limits the planning depth).</param>
public sealed record PlanRequest(float[] Observations, int[] EpisodeSteps, int[] StepsLeft);

/// <summary>For inspection: the best imagined path per environment of the last <see cref="IPlanner.Plan"/>.</summary>
public sealed class PlanTrace
{
    /// <summary>Per environment: whether it planned (false where it acted from the policy alone).</summary>
    public List<bool> Planned { get; } = [];

    /// <summary>Per environment: the actions of the best path (flattened, A floats per step).</summary>
    public List<float[]> Actions { get; } = [];

    /// <summary>Per environment: the predicted reward of each step of the best path.</summary>
    public List<float[]> PredictedRewards { get; } = [];

    /// <summary>Clears the trace for <paramref name="environments"/> environments.</summary>
    public void Reset(int environments)
    {
        Planned.Clear(); Actions.Clear(); PredictedRewards.Clear();
        for (var e = 0; e < environments; e++) { Planned.Add(false); Actions.Add([]); PredictedRewards.Add([]); }
    }
}
