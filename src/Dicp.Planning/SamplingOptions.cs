namespace Dicp.Planning;

/// <summary>Settings of <see cref="SamplingPlanner"/> (defaults: the DICP authors' Meta-World settings).</summary>
/// <param name="Candidates">L, the candidate actions: the policy mean plus L − 1 Gaussian samples (default 10).</param>
/// <param name="StartStep">Plan only from this step of an episode on (<see cref="PlanRequest.EpisodeSteps"/> ≥ StartStep);
/// the reference plans when the step's position in the episode exceeds 50, i.e. from step 51 (default 51).</param>
/// <param name="Start">When planning starts (default <see cref="PlanningStart.NTransit"/>: once the session has seen
/// n_transit transitions, as the reference); before that act from the policy.</param>
/// <param name="Deterministic">
/// Environments that do not plan take the policy mean when true; when false (default) they sample
/// <c>mean + exp(½·logvar)·ε</c>. Either way the action is clipped to the action box.
/// </param>
/// <param name="Seed">Seeds the planner's generator (candidate and fallback sampling).</param>
public sealed record SamplingOptions(
    int Candidates = 10,
    int StartStep = 51,
    PlanningStart Start = PlanningStart.NTransit,
    bool Deterministic = false,
    int Seed = 0)
{
    /// <summary>Throws if a setting is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The message names the setting.</exception>
    public void Validate()
    {
        if (Candidates < 1) throw new ArgumentOutOfRangeException(nameof(Candidates), Candidates, "SamplingOptions.Candidates (L) must be at least 1.");
        if (StartStep < 0) throw new ArgumentOutOfRangeException(nameof(StartStep), StartStep, "SamplingOptions.StartStep must not be negative.");
    }
}
