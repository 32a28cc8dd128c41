namespace Dicp.Planning;

/// <summary>
/// When an in-context planner starts planning: before it, every environment acts from the policy. One setting shared by
/// the planners (<see cref="BeamSearchOptions.Start"/>, <see cref="SamplingOptions.Start"/>, <see cref="CemOptions.Start"/>);
/// the continuous planners' episode-step condition (<c>StartStep</c>) applies on top of it.
/// </summary>
public enum PlanningStart
{
    /// <summary>
    /// Once the session has seen n_transit real transitions (<see cref="Models.IInContextSession.StepsSeen"/> ≥
    /// <see cref="Models.IInContextModel.WindowTransitions"/> + 1): the reference's <c>step ≥ n_transit</c>, i.e. from
    /// step 80 on Darkroom, one step after the window of n_transit − 1 transitions first fills; for IDT (n_transit a
    /// multiple of c) a segment start. The default.
    /// </summary>
    NTransit,

    /// <summary>Once the context window holds its n_transit − 1 transitions (step n_transit − 1: one step earlier than the reference).</summary>
    WindowFull,

    /// <summary>From the first step (early plans then rely on a short context).</summary>
    FirstStep,
}

/// <summary>The configuration names of <see cref="PlanningStart"/>: <c>n_transit</c>, <c>window_full</c>, <c>first_step</c>.</summary>
public static class PlanningStartNames
{
    /// <summary>The accepted names, in the order of the enum.</summary>
    public static IReadOnlyList<string> All { get; } = ["n_transit", "window_full", "first_step"];

    /// <summary>The configuration name of <paramref name="start"/>.</summary>
    public static string Name(this PlanningStart start) => All[(int)start];

    /// <summary>Parses a configuration name; false when it is not one of <see cref="All"/>.</summary>
    public static bool TryParse(string? name, out PlanningStart start)
    {
        var i = name is null ? -1 : All.ToList().IndexOf(name);
        start = i < 0 ? PlanningStart.NTransit : (PlanningStart)i;
        return i >= 0;
    }
}
