using Dicp.Environments;
using Dicp.Models;

namespace Dicp.Planning;

/// <summary>Builds a planner from a <see cref="PlannerConfig"/> after checking that the model can drive it.</summary>
/// <remarks>
/// <code>
/// var planner = Planners.Create(new PlannerConfig("beam"), model, seed: 0); // K 10, L 5, horizon 8
/// </code>
/// </remarks>
public static class Planners
{
    /// <summary>The planner names: <c>none</c>, <c>beam</c>, <c>sampling</c>, <c>cem</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["none", "beam", "sampling", "cem"];

    /// <summary>Creates the planner named by <paramref name="config"/> for <paramref name="model"/>.</summary>
    /// <param name="config">Name and settings (null settings take the library's defaults, see <see cref="PlannerConfig.Resolved"/>).</param>
    /// <param name="model">The model the planner will drive (checked by <see cref="CheckCompatible"/>).</param>
    /// <param name="seed">The planner's seed.</param>
    /// <param name="deterministic">Beam search takes the L most probable first actions; sampling and CEM start from the
    /// policy mean without noise where they can (the policy planner follows <paramref name="greedy"/>).</param>
    /// <param name="greedy">The policy planner (<c>none</c>) takes the most likely action instead of sampling.</param>
    /// <exception cref="ArgumentException">Unknown name, a setting out of range, or a model that cannot drive the planner (the message says which and why).</exception>
    public static IPlanner Create(PlannerConfig config, IInContextModel model, int seed = 0, bool deterministic = false, bool greedy = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(model);
        CheckCompatible(config, model);
        var c = config.Resolved();
        int horizon = c.Horizon!.Value, startStep = c.StartStep!.Value, population = c.Population!.Value;
        try
        {
            return c.Name switch
            {
                "none" => new PolicyPlanner(new PolicyPlannerOptions(greedy, seed)),
                "beam" => new BeamSearchPlanner(new BeamSearchOptions() with
                {
                    BeamWidth = c.BeamK!.Value, FirstActions = c.BeamL!.Value, Horizon = horizon, Deterministic = deterministic, Start = c.Start, Seed = seed,
                }),
                "sampling" => new SamplingPlanner(new SamplingOptions() with
                {
                    Candidates = c.Samples!.Value, StartStep = startStep, Start = c.Start, Deterministic = deterministic, Seed = seed,
                }),
                _ => new CemPlanner(new CemOptions() with
                {
                    Horizon = horizon, Population = population, Elites = Math.Min(c.Elites!.Value, population), StartStep = startStep,
                    Start = c.Start, Deterministic = deterministic, Seed = seed,
                }),
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"planner '{c.Name}': {e.Message}", nameof(config), e);
        }
    }

    /// <summary>
    /// Rejects a planner the model cannot drive: planning needs dynamics heads; beam search discrete actions, sampling and
    /// CEM continuous ones; an IDT model (known configuration) plans at most a segment ahead unless it imagines in a
    /// sliding window.
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown or the combination does not work (the message says why).</exception>
    public static void CheckCompatible(PlannerConfig config, IInContextModel model)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(model);
        var name = config.Name;
        if (!Names.Contains(name)) throw new ArgumentException($"Unknown planner '{name}'; expected one of {string.Join(", ", Names)}.", nameof(config));
        _ = config.Start; // a bad planning_start is named
        if (name == "none") return;
        if (!model.HasDynamics)
            throw new ArgumentException($"Planner '{name}' needs a model with dynamics heads; '{model.Name}' has none (train a dicp-* configuration or use the planner 'none').", nameof(model));
        var discrete = model.ActionSpace is DiscreteSpace;
        if (name == "beam" && !discrete) throw new ArgumentException($"Planner 'beam' needs discrete actions; '{model.Name}' has continuous ones (use sampling or cem).", nameof(model));
        if (name is "sampling" or "cem" && discrete) throw new ArgumentException($"Planner '{name}' needs continuous actions; '{model.Name}' has discrete ones (use beam).", nameof(model));
        if (model is ITrainableInContextModel { Config: { Model: "idt", SlidingImagination: false } idt } && name is "beam" or "cem"
            && config.Resolved().Horizon > idt.SegmentLength)
            throw new ArgumentException($"planner.horizon must be at most the IDT model's segment_length ({idt.SegmentLength}), whose plans imagine inside the segment " +
                $"(the reference imagines c steps); got {config.Resolved().Horizon} (or set model.sliding_imagination: true).", nameof(config));
    }
}
