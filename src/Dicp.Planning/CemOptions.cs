namespace Dicp.Planning;

/// <summary>Settings of <see cref="CemPlanner"/> (not in the paper; the defaults are a small, cheap search).</summary>
/// <param name="Horizon">H, the steps of each imagined action sequence (default 5); also limited by
/// <see cref="PlanRequest.StepsLeft"/>.</param>
/// <param name="Iterations">Refinements of the sampling distribution (default 5).</param>
/// <param name="Population">Sequences imagined per iteration, the current mean included (default 32). Must not exceed
/// the session's <see cref="Models.SessionOptions.MaxCandidates"/>.</param>
/// <param name="Elites">The best sequences the distribution is refitted to (default 4; at most the population).</param>
/// <param name="Momentum">Weight α of the previous distribution when refitting:
/// <c>μ ← α·μ + (1 − α)·μ_elite</c>, <c>σ ← α·σ + (1 − α)·σ_elite</c> (default 0.1; 0 = no smoothing).</param>
/// <param name="MinStd">Lower bound of every σ (default 0.05), so the search never collapses completely.</param>
/// <param name="StartStep">Plan only from this step of an episode on (default 0).</param>
/// <param name="Start">When planning starts (default <see cref="PlanningStart.NTransit"/>: once the session has seen
/// n_transit transitions, as the reference); before that act from the policy.</param>
/// <param name="Deterministic">Environments that do not plan take the policy mean when true; when false (default)
/// they sample from the policy. Either way the action is clipped to the action box.</param>
/// <param name="Seed">Seeds the planner's generator.</param>
public sealed record CemOptions(
    int Horizon = 5,
    int Iterations = 5,
    int Population = 32,
    int Elites = 4,
    float Momentum = 0.1f,
    float MinStd = 0.05f,
    int StartStep = 0,
    PlanningStart Start = PlanningStart.NTransit,
    bool Deterministic = false,
    int Seed = 0)
{
    /// <summary>Throws if a setting is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The message names the setting.</exception>
    public void Validate()
    {
        if (Horizon < 1) throw new ArgumentOutOfRangeException(nameof(Horizon), Horizon, "CemOptions.Horizon must be at least 1.");
        if (Iterations < 1) throw new ArgumentOutOfRangeException(nameof(Iterations), Iterations, "CemOptions.Iterations must be at least 1.");
        if (Population < 2) throw new ArgumentOutOfRangeException(nameof(Population), Population, "CemOptions.Population must be at least 2.");
        if (Elites < 1 || Elites > Population)
            throw new ArgumentOutOfRangeException(nameof(Elites), Elites, $"CemOptions.Elites must be in [1, Population = {Population}].");
        if (!(Momentum >= 0f && Momentum < 1f)) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "CemOptions.Momentum must be in [0, 1).");
        if (!(MinStd >= 0f) || !float.IsFinite(MinStd)) throw new ArgumentOutOfRangeException(nameof(MinStd), MinStd, "CemOptions.MinStd must be a finite number ≥ 0.");
        if (StartStep < 0) throw new ArgumentOutOfRangeException(nameof(StartStep), StartStep, "CemOptions.StartStep must not be negative.");
    }
}
