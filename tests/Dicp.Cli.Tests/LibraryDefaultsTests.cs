using Dicp.Data;
using Dicp.Evaluation;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;
using Xunit;

namespace Dicp.Cli.Tests;

/// <summary>The command line's defaults are the library's: a setting a configuration or a command line leaves out
/// takes the value the library's options record documents.</summary>
public sealed class LibraryDefaultsTests
{
    private static readonly ModelConfig Grid = new(Dynamics: true, NTransit: 6, EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 32);

    private static readonly ModelConfig Box = Grid with { StateClasses = 0, ObservationSize = 3, ActionCount = 0, ActionSize = 2, RewardClasses = 0 };

    [Fact]
    public void AnEmptyPlannerSectionBuildsEachPlannerWithTheLibrarysDefaults()
    {
        var section = RunConfig.Parse("model:\n  dynamics: true\n", "x.yaml").Planner;
        Assert.Equal(new PlannerConfig(), section);
        var (grid, box) = (InContextModels.Create(Grid), InContextModels.Create(Box));
        Assert.Equal(new PolicyPlannerOptions(), Assert.IsType<PolicyPlanner>(Planners.Create(section, grid)).Options);
        Assert.Equal(new BeamSearchOptions(), Assert.IsType<BeamSearchPlanner>(Planners.Create(section with { Name = "beam" }, grid)).Options);
        Assert.Equal(new SamplingOptions(), Assert.IsType<SamplingPlanner>(Planners.Create(section with { Name = "sampling" }, box)).Options);
        Assert.Equal(new CemOptions(), Assert.IsType<CemPlanner>(Planners.Create(section with { Name = "cem" }, box)).Options);
        // The values themselves (reference §5): beam K 10, L 5, horizon 8; sampling from step 51 (the reference plans after step 50).
        Assert.Equal((10, 5, 8, 51), (new BeamSearchOptions().BeamWidth, new BeamSearchOptions().FirstActions, new BeamSearchOptions().Horizon, new SamplingOptions().StartStep));
    }

    [Fact]
    public void ACommandLinePlannerOnARunWithoutOneTakesThatPlannersDefaults()
    {
        // A run trained with planner none (no start step stored) evaluated with --planner sampling plans from step 51,
        // with --planner cem at CEM's horizon; the old command line used 0 and 8 for both.
        var section = RunConfig.Parse("model:\n  dynamics: true\n", "x.yaml").Planner;
        var sampling = new EvaluateCommand.PlannerOverrides("sampling").Apply(section).Resolved();
        Assert.Equal(new SamplingOptions().StartStep, sampling.StartStep);
        var cem = new EvaluateCommand.PlannerOverrides("cem").Apply(section).Resolved();
        Assert.Equal((new CemOptions().Horizon, new CemOptions().StartStep, new CemOptions().Population), (cem.Horizon, cem.StartStep, cem.Population));
        // What the configuration gives wins.
        Assert.Equal(16, new EvaluateCommand.PlannerOverrides("cem").Apply(section with { Horizon = 16 }).Resolved().Horizon);
        Assert.Equal(3, new EvaluateCommand.PlannerOverrides("beam", Horizon: 3).Apply(section with { Horizon = 16 }).Resolved().Horizon);
    }

    [Fact]
    public void SectionDefaultsEqualTheLibrarysOptions()
    {
        var c = RunConfig.Parse("model:\n  model: ad\n", "x.yaml");
        Assert.Equal(new TrainerOptions(), c.Training);
        Assert.Equal(new ModelConfig(), c.Model);
        var collection = new HistoryCollectionOptions("");
        Assert.Equal((collection.Streams, collection.StepsPerStream, collection.Seed), (c.Data.Streams, c.Data.StepsPerStream, c.Data.CollectSeed));
        var evaluation = new EvaluationOptions();
        Assert.Equal((evaluation.Episodes, evaluation.Seed), (c.Evaluation.Episodes, c.Evaluation.Seed));
    }

    [Fact]
    public void CollectOptionsDefaultToTheLibrarysCollectionOptions()
    {
        var parse = CollectCommand.Create().Parse("--env darkroom --out x");
        var library = new HistoryCollectionOptions("");
        Assert.Equal((library.Streams, library.StepsPerStream, library.Seed, library.MaxParallelism),
            (parse.GetValue<int>("--streams"), parse.GetValue<int>("--steps-per-stream"), parse.GetValue<int>("--seed"), parse.GetValue<int>("--parallel")));
        Assert.Equal(library.Algorithm, parse.GetValue<string>("--algorithm"));
    }
}
