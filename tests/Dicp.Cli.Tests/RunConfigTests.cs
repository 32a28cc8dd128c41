using System.Text.Json;
using Dicp.Cli;
using Xunit;

namespace Dicp.Cli.Tests;

public sealed class RunConfigTests
{
    internal static string ConfigsDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Dicp.sln"))) return Path.Combine(dir.FullName, "configs");
        throw new DirectoryNotFoundException("Dicp.sln not found above the test directory.");
    }

    private static RunConfig Load(string name) => RunConfig.Load(Path.Combine(ConfigsDirectory(), name));

    public static TheoryData<string> AllConfigs()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(ConfigsDirectory(), "*.yaml").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(AllConfigs))]
    public void EveryConfigLoadsAndIsConsistent(string file)
    {
        var c = Load(file);
        Assert.Equal(file.StartsWith("dicp-", StringComparison.Ordinal), c.Model.Dynamics);
        Assert.Equal(c.Model.Dynamics ? (c.Model.ActionCount > 0 ? "beam" : "sampling") : "none", c.Planner.Name);
        Assert.StartsWith(c.Model.Model + "-", file.Replace("dicp-", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal((0.9f, 0.99f, 0.01f, 1f, 0), (c.Training.Beta1, c.Training.Beta2, c.Training.WeightDecay, c.Training.GradClip, c.Training.WarmupSteps));
        Assert.Equal((10, 5, 10), (c.Planner.Resolved().BeamK, c.Planner.Resolved().BeamL, c.Planner.Resolved().Samples));
    }

    [Theory]
    // spec §4 Configurations: n_transit, lr, batch, steps (DPT uses the AD rows).
    [InlineData("ad-darkroom.yaml", 80, 1e-2f, 512, 50_000, 8)]
    [InlineData("dicp-ad-darkroom.yaml", 80, 1e-2f, 512, 50_000, 8)]
    [InlineData("ad-key-to-door.yaml", 200, 1e-2f, 4096, 50_000, 16)]
    [InlineData("dicp-ad-key-to-door.yaml", 200, 1e-2f, 4096, 50_000, 16)]
    [InlineData("ad-darkroom-permuted.yaml", 200, 1e-2f, 512, 50_000, 16)]
    [InlineData("dicp-dpt-darkroom-permuted.yaml", 200, 1e-2f, 512, 50_000, 16)]
    [InlineData("idt-darkroom.yaml", 80, 1e-2f, 1024, 50_000, 8)]
    [InlineData("idt-key-to-door.yaml", 200, 1e-3f, 2048, 100_000, 16)]
    [InlineData("dicp-idt-darkroom-permuted.yaml", 200, 1e-3f, 512, 50_000, 10)] // DICP-IDT plans c = 10 steps inside the segment
    [InlineData("dicp-idt-darkroom.yaml", 80, 1e-2f, 1024, 50_000, 10)]
    [InlineData("dpt-key-to-door.yaml", 200, 1e-2f, 4096, 50_000, 16)]
    [InlineData("dicp-dpt-key-to-door.yaml", 200, 1e-2f, 4096, 50_000, 16)]
    [InlineData("ad-metaworld-ml1.yaml", 1000, 1e-2f, 512, 50_000, 1)]
    [InlineData("dicp-idt-metaworld-ml1.yaml", 1000, 1e-3f, 512, 50_000, 1)]
    public void ReferenceRowsMatchTheSpec(string file, int nTransit, float lr, int batch, int steps, int horizon)
    {
        var c = Load(file);
        Assert.Equal((nTransit, lr, batch, steps, horizon), (c.Model.NTransit, c.Training.LearningRate, c.Training.BatchSize, c.Training.Steps, c.Planner.Resolved().Horizon));
        var metaWorld = file.Contains("metaworld", StringComparison.Ordinal);
        var expectedWidth = metaWorld && c.Model.Model == "ad" ? (64, 8, 256)
            : c.Model.Model == "dpt" && file.Contains("key-to-door", StringComparison.Ordinal) ? (32, 4, 200) // the reference's dpt_dktd.yaml
            : (32, 4, 128);
        Assert.Equal(expectedWidth, (c.Model.EmbeddingDim, c.Model.Heads, c.Model.Inner));
        Assert.Equal((4, 0.1f), (c.Model.Layers, c.Model.Dropout));
        Assert.Equal(metaWorld ? 10_000 : 1000, c.Data.StepsPerStream);
        Assert.Equal(100, c.Data.Streams);
        Assert.Equal(c.Model.Dynamics || metaWorld ? 100 : 50, c.Evaluation.Episodes); // Meta-World reach: 100 episodes
        Assert.Equal("n_transit", c.Planner.Resolved().PlanningStart); // plans from step n_transit, as the reference
        Assert.Equal((true, false, false), (c.Model.LatentNoisePerStep, c.Model.AlignedWindows, c.Model.SlidingImagination));
    }

    [Fact]
    public void IdtPlansAtMostCStepsUnlessSliding()
    {
        const string idt = "model:\n  model: idt\n  dynamics: true\nplanner:\n  name: beam\n";
        var e = Assert.Throws<ConfigException>(() => RunConfig.Parse(idt + "  horizon: 16\n", "x.yaml"));
        Assert.Contains("planner.horizon", e.Message);
        Assert.Equal(10, RunConfig.Parse(idt + "  horizon: 10\n", "x.yaml").Planner.Horizon);
        Assert.True(RunConfig.Parse(idt.Replace("dynamics: true", "dynamics: true\n  sliding_imagination: true") + "  horizon: 16\n", "x.yaml").Model.SlidingImagination);
        e = Assert.Throws<ConfigException>(() => RunConfig.Parse("planner:\n  planning_start: soon\n", "x.yaml"));
        Assert.Contains("planner.planning_start", e.Message);
        Assert.Equal(Dicp.Planning.PlanningStart.WindowFull, RunConfig.Parse("planner:\n  planning_start: window_full\n", "x.yaml").Planner.Start);
    }

    [Fact]
    public void ImaginationReserveIsReadAndChecked()
    {
        Assert.Equal(7, RunConfig.Parse("model:\n  dynamics: true\nplanner:\n  name: beam\n  imagination_reserve: 7\n", "x.yaml").Planner.ImaginationReserve);
        Assert.Equal(0, RunConfig.Parse("model:\n  dynamics: true\nplanner:\n  name: beam\n", "x.yaml").Planner.Resolved().ImaginationReserve);
        foreach (var bad in new[] { "-1", "79", "200" }) // the default n_transit 80 leaves a window of 79 transitions
        {
            var e = Assert.Throws<ConfigException>(() => RunConfig.Parse($"planner:\n  imagination_reserve: {bad}\n", "x.yaml"));
            Assert.Contains("planner.imagination_reserve", e.Message);
            Assert.Contains(bad, e.Message);
        }
        var sliding = "model:\n  model: idt\n  dynamics: true\n  sliding_imagination: true\nplanner:\n  name: beam\n  imagination_reserve: 2\n";
        Assert.Contains("sliding_imagination", Assert.Throws<ConfigException>(() => RunConfig.Parse(sliding, "x.yaml")).Message);
    }

    [Fact]
    public void ReferenceSplitsPerEnvironment()
    {
        Assert.Equal((0, 0.9), (Load("ad-darkroom.yaml").Data.SplitSeed, Load("ad-darkroom.yaml").Data.TrainRatio));
        Assert.Equal((4, 0.9), (Load("ad-darkroom-permuted.yaml").Data.SplitSeed, Load("ad-darkroom-permuted.yaml").Data.TrainRatio));
        Assert.Equal((4, 0.95), (Load("dpt-key-to-door.yaml").Data.SplitSeed, Load("dpt-key-to-door.yaml").Data.TrainRatio));
        Assert.Equal((10, 8), (Load("idt-darkroom.yaml").Model.SegmentLength, Load("idt-darkroom.yaml").Model.LatentDim));
    }

    [Fact]
    public void SmallPresetsExistAndAreSmall()
    {
        foreach (var f in new[] { "ad-darkroom-small.yaml", "dicp-ad-darkroom-small.yaml" })
        {
            var c = Load(f);
            Assert.Equal("darkroom", c.Data.Environment);
            Assert.True(c.Training.Steps * c.Training.BatchSize <= 500_000, f);
            Assert.True(c.Model.NTransit <= 80 && c.Data.Streams <= 20, f);
        }
    }

    [Fact]
    public void UnknownKeysAndBadValuesAreNamed()
    {
        var e = Assert.Throws<ConfigException>(() => RunConfig.Parse("model:\n  n_transitt: 3\n", "x.yaml"));
        Assert.Contains("x.yaml:2", e.Message);
        Assert.Contains("model.n_transitt", e.Message);
        Assert.Contains("n_transit", e.Message);
        e = Assert.Throws<ConfigException>(() => RunConfig.Parse("modle:\n  n_transit: 3\n", "x.yaml"));
        Assert.Contains("unknown section 'modle'", e.Message);
        e = Assert.Throws<ConfigException>(() => RunConfig.Parse("training:\n  learning_rate: fast\n", "x.yaml"));
        Assert.Contains("'training.learning_rate': 'fast' is not a number", e.Message);
        e = Assert.Throws<ConfigException>(() => RunConfig.Parse("training:\n  steps: null\n", "x.yaml"));
        Assert.Contains("'training.steps' needs a value", e.Message);
        e = Assert.Throws<ConfigException>(() => RunConfig.Parse("training:\n  learning_rate: -1\n", "x.yaml"));
        Assert.Contains("training.learning_rate", e.Message);
        e = Assert.Throws<ConfigException>(() => RunConfig.Parse("model:\n  dynamics: maybe\n", "x.yaml"));
        Assert.Contains("true or false", e.Message);
        e = Assert.Throws<ConfigException>(() => RunConfig.Parse("planner:\n  name: beam\n", "x.yaml"));
        Assert.Contains("model.dynamics", e.Message);
        e = Assert.Throws<ConfigException>(() => RunConfig.Parse("model: [1, 2]\n", "x.yaml"));
        Assert.Contains("mapping", e.Message);
        e = Assert.Throws<ConfigException>(() => RunConfig.Parse("model:\n  n_transit: [3\n", "x.yaml"));
        Assert.Contains("not valid YAML", e.Message);
    }

    [Fact]
    public void DefaultsOverridesAndJsonRoundTrip()
    {
        var c = RunConfig.Parse("training:\n  steps: 5e4\ndata:\n  max_train_tasks: 3\n", "x.yaml");
        Assert.Equal(50_000, c.Training.Steps);
        Assert.Equal(3, c.Data.MaxTrainTasks);
        Assert.Equal(1e-2f, c.Training.LearningRate);
        Assert.Equal(80, c.Model.NTransit);
        var o = TrainCommand.Override(c, steps: 7, seed: 3);
        Assert.Equal((7, 3), (o.Training.Steps, o.Training.Seed));
        var back = JsonSerializer.Deserialize<RunConfig>(o.ToJson(), RunConfig.Json)!;
        Assert.Equal(o, back);
        Assert.Contains("\"n_transit\": 80", o.ToJson());
    }
}
