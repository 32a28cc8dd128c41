namespace Dicp.Planning;

/// <summary>
/// A planner by name with its settings, as the <c>planner</c> section of a run configuration holds it (snake_case keys:
/// <c>name</c>, <c>beam_k</c>, <c>beam_l</c>, <c>horizon</c>, <c>samples</c>, <c>start_step</c>, <c>population</c>,
/// <c>elites</c>, <c>planning_start</c>, <c>imagination_reserve</c>). <see cref="Planners.Create"/> builds the planner.
/// </summary>
/// <remarks>
/// A setting left null takes the default of the named planner's options record (<see cref="BeamSearchOptions"/>,
/// <see cref="SamplingOptions"/>, <see cref="CemOptions"/>), so a configuration and the library never disagree on a
/// default: beam search K 10, L 5, horizon 8 (the reference's Darkroom settings); sampling 10 candidates from episode
/// step 51 (the reference's Meta-World settings); CEM horizon 5, population 32, 4 elites from step 0; planning from
/// n_transit steps of context (<see cref="PlanningStart.NTransit"/>). <see cref="Resolved"/> fills them in.
/// </remarks>
/// <param name="Name"><c>none</c> (the policy), <c>beam</c> (discrete actions), <c>sampling</c> or <c>cem</c> (continuous actions).</param>
/// <param name="BeamK">Beam search: paths kept per depth K (<see cref="BeamSearchOptions.BeamWidth"/>).</param>
/// <param name="BeamL">Beam search: first actions L sampled from the policy without replacement (<see cref="BeamSearchOptions.FirstActions"/>).</param>
/// <param name="Horizon">Planning depth of beam search and CEM (reference: Darkroom 8, Key-to-Door and Permuted 16).</param>
/// <param name="Samples">Sampling planner: candidates, the policy mean plus samples (<see cref="SamplingOptions.Candidates"/>).</param>
/// <param name="StartStep">Sampling and CEM: plan only from this step of an episode on.</param>
/// <param name="Population">CEM: action sequences per iteration.</param>
/// <param name="Elites">CEM: the best sequences the distribution is refitted to (at most the population).</param>
/// <param name="PlanningStart">When planning starts: <c>n_transit</c>, <c>window_full</c> or <c>first_step</c>
/// (<see cref="PlanningStartNames"/>).</param>
/// <param name="ImaginationReserve">AD/DPT (and IDT without sliding imagination) planning: every query sees only the last
/// W − r real transitions, so imagination up to depth r never slides the window and each rollout node runs only its new
/// tokens (the session's <c>ImaginationReserve</c>; default 0: the whole window, as the reference; a horizon-H beam needs
/// H − 1). Faster, but the model sees r fewer real transitions. A session setting, not the planner's:
/// <see cref="Planners.Create"/> does not read it; pass it as the evaluation's <c>EvaluationOptions.ImaginationReserve</c>
/// (or the session's options), as <c>dicp evaluate</c> does.</param>
public sealed record PlannerConfig(
    string Name = "none",
    int? BeamK = null,
    int? BeamL = null,
    int? Horizon = null,
    int? Samples = null,
    int? StartStep = null,
    int? Population = null,
    int? Elites = null,
    string? PlanningStart = null,
    int? ImaginationReserve = null)
{
    /// <summary><see cref="PlanningStart"/> parsed (the library's default when null).</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="PlanningStartNames.All"/>.</exception>
    [System.Text.Json.Serialization.JsonIgnore]
    public PlanningStart Start => PlanningStart is null ? new BeamSearchOptions().Start
        : PlanningStartNames.TryParse(PlanningStart, out var s) ? s
        : throw new ArgumentException($"planner.planning_start: '{PlanningStart}' is not one of {string.Join(", ", PlanningStartNames.All)}.");

    /// <summary>
    /// This configuration with every null setting replaced by the library's default for the named planner (the horizon
    /// and the start step differ between planners; settings the named planner does not read take beam search's or 0).
    /// </summary>
    public PlannerConfig Resolved()
    {
        BeamSearchOptions beam = new();
        SamplingOptions sampling = new();
        CemOptions cem = new();
        return this with
        {
            BeamK = BeamK ?? beam.BeamWidth,
            BeamL = BeamL ?? beam.FirstActions,
            Horizon = Horizon ?? (Name == "cem" ? cem.Horizon : beam.Horizon),
            Samples = Samples ?? sampling.Candidates,
            StartStep = StartStep ?? Name switch { "sampling" => sampling.StartStep, "cem" => cem.StartStep, _ => 0 },
            Population = Population ?? cem.Population,
            Elites = Elites ?? cem.Elites,
            PlanningStart = PlanningStart ?? Start.Name(),
            ImaginationReserve = ImaginationReserve ?? 0,
        };
    }
}
