namespace Dicp.Planning;

/// <summary>Settings of <see cref="BeamSearchPlanner"/> (defaults: the DICP authors' Darkroom settings).</summary>
/// <remarks>One Predict carries up to max(L, K · N) candidates (N = number of actions; 50 at the defaults on the grid
/// worlds): the session's <see cref="Models.SessionOptions.MaxCandidates"/> must be at least that.</remarks>
/// <param name="BeamWidth">K, the paths kept after every depth (default 10).</param>
/// <param name="FirstActions">L, the first actions tried (default 5; at most the number of actions are used).</param>
/// <param name="Horizon">The longest imagined path in steps (default 8; the reference uses 16 on Key-to-Door and Permuted).
/// The depth is also limited by <see cref="PlanRequest.StepsLeft"/>.</param>
/// <param name="Deterministic">
/// false (default): the first actions are sampled from the policy without replacement and environments that do not
/// plan sample their action from the policy. true: the first actions are the L most probable ones (policy order) and
/// environments that do not plan take the policy's most probable action.
/// </param>
/// <param name="ReturnToGoAtLeaves">
/// Rank the final paths by the predicted rewards of all steps but the last plus the predicted return-to-go of the
/// last step (which counts that step's reward and every later one) instead of its predicted reward alone. Needs a
/// model with <see cref="Models.IInContextModel.HasReturnToGo"/>. Default false, as in the paper.
/// </param>
/// <param name="Start">When planning starts (default <see cref="PlanningStart.NTransit"/>: once the session has seen
/// n_transit transitions, as the reference); before that act from the policy.</param>
/// <param name="Seed">Seeds the planner's generator (first-action and fallback sampling).</param>
public sealed record BeamSearchOptions(
    int BeamWidth = 10,
    int FirstActions = 5,
    int Horizon = 8,
    bool Deterministic = false,
    bool ReturnToGoAtLeaves = false,
    PlanningStart Start = PlanningStart.NTransit,
    int Seed = 0)
{
    /// <summary>Throws if a setting is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The message names the setting.</exception>
    public void Validate()
    {
        if (BeamWidth < 1) throw new ArgumentOutOfRangeException(nameof(BeamWidth), BeamWidth, "BeamSearchOptions.BeamWidth (K) must be at least 1.");
        if (FirstActions < 1) throw new ArgumentOutOfRangeException(nameof(FirstActions), FirstActions, "BeamSearchOptions.FirstActions (L) must be at least 1.");
        if (Horizon < 1) throw new ArgumentOutOfRangeException(nameof(Horizon), Horizon, "BeamSearchOptions.Horizon must be at least 1.");
    }
}
