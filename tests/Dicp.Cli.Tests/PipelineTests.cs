using System.Text.Json;
using Dicp.Core.Tests.TestUtil;
using Dicp.Training;
using Xunit;

namespace Dicp.Cli.Tests;

/// <summary><c>dicp train</c> (fresh, resumed, extended) and <c>dicp evaluate</c> end to end, with the small test model.</summary>
public sealed class PipelineTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dicp-cli-" + Guid.NewGuid().ToString("N"));

    private static readonly Func<Models.ModelConfig, int, Models.ITrainableInContextModel> Tiny = (config, seed) => new TinyWindowModel(config.NTransit, seed);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private const string Yaml = """
        model:
          model: ad
          n_transit: 10
        data:
          environment: darkroom
          streams: 4
          steps_per_stream: 100
        training:
          steps: 30
          batch_size: 16
          log_interval: 10
          eval_interval: 10
          test_windows: 32
          checkpoint_interval: 10
          in_context_eval_interval: 15
        evaluation:
          episodes: 3
          max_tasks: 2
          during_training_episodes: 2
        """;

    [Fact]
    public void TrainResumeExtendAndEvaluate()
    {
        var data = Path.Combine(_root, "data");
        SyntheticHistories.WriteDarkroom(data, [24, 48, 26, 75, 38, 51], streams: 4, steps: 100, [24, 48, 26, 75], [38, 51]);
        var config = Path.Combine(_root, "small.yaml");
        File.WriteAllText(config, Yaml);
        var run = Path.Combine(_root, "run");

        Assert.Equal(0, TrainCommand.Run(config, data, run, null, null, CancellationToken.None, Tiny));
        foreach (var f in new[] { Trainer.MetricsFileName, Trainer.ModelFileName, TrainingCheckpoint.FileName, RunConfig.FileName })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        var header = File.ReadLines(Path.Combine(run, Trainer.MetricsFileName)).First();
        Assert.EndsWith("test_action_accuracy,ic_first_return,ic_last_return,ic_mean_return", header);

        // Extending the finished run continues from its checkpoint.
        Assert.Equal(0, TrainCommand.Run(config, data, run, steps: 40, seed: null, CancellationToken.None, Tiny));
        Assert.Equal(40, TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(run)).Step);
        Assert.Equal(40, RunConfig.ReadRun(run).Training.Steps);

        var results = Path.Combine(_root, "results.json");
        Assert.Equal(0, EvaluateCommand.Run(run, episodes: 2, "test", results, greedy: false, seed: null, plannerName: null, CancellationToken.None, Tiny));
        using var doc = JsonDocument.Parse(File.ReadAllText(results));
        Assert.Equal(2, doc.RootElement.GetProperty("returns").GetArrayLength());
        Assert.Equal(2, doc.RootElement.GetProperty("mean_return_per_episode").GetArrayLength());
        Assert.Equal([38, 51], doc.RootElement.GetProperty("task_indices").EnumerateArray().Select(x => x.GetInt32()));

        Assert.Equal(2, EvaluateCommand.Run(run, 2, "test", results, false, null, "beam", CancellationToken.None, Tiny));
        Assert.Equal(2, TrainCommand.Run(config, Path.Combine(_root, "missing"), run, null, null, CancellationToken.None, Tiny));
    }

    [Fact]
    public void EvaluateWithBeamSearchWritesThePlannerSettingsAndPlotFields()
    {
        // a real DICP-AD (the default factory): planners need the dynamics heads
        var (data, config) = WriteTinyDicpAd(_root);
        var run = Path.Combine(_root, "run");
        Assert.Equal(0, TrainCommand.Run(config, data, run, null, null, CancellationToken.None));

        // Planner defaults from the run's planner section; --beam-k and --samples override them.
        var beam = Path.Combine(_root, "beam.json");
        Assert.Equal(0, EvaluateCommand.Run(run, null, "test", beam, false, null,
            new EvaluateCommand.PlannerOverrides(null, BeamK: 4, Samples: 3, Deterministic: true), null, CancellationToken.None));
        using (var doc = JsonDocument.Parse(File.ReadAllText(beam)))
        {
            var root = doc.RootElement;
            Assert.Equal("beam", root.GetProperty("planner").GetString());
            var settings = root.GetProperty("planner_settings");
            Assert.Equal(4, settings.GetProperty("beam_k").GetInt32());
            Assert.Equal(3, settings.GetProperty("samples").GetInt32());
            Assert.Equal(3, settings.GetProperty("horizon").GetInt32());
            Assert.True(settings.GetProperty("deterministic").GetBoolean());
            Assert.Equal("n_transit", settings.GetProperty("planning_start").GetString());
            Assert.Equal("DICP-AD + beam", root.GetProperty("label").GetString());
            Assert.Equal(20, root.GetProperty("steps_per_episode").GetInt32());
            // Test goals (4, 2) and (5, 6): max returns 21 − 2 = 19 and 21 − 3 = 18.
            Assert.Equal(18.5, root.GetProperty("optimal_return").GetDouble(), 6);
            Assert.Equal(2, root.GetProperty("returns").GetArrayLength());
        }

        // --plan-before-full-window reaches the planner (and results.json).
        var early = Path.Combine(_root, "early.json");
        Assert.Equal(0, EvaluateCommand.Run(run, null, "test", early, false, null,
            new EvaluateCommand.PlannerOverrides(null, PlanBeforeFullWindow: true), null, CancellationToken.None));
        using (var doc = JsonDocument.Parse(File.ReadAllText(early)))
            Assert.Equal("first_step", doc.RootElement.GetProperty("planner_settings").GetProperty("planning_start").GetString());

        var none = Path.Combine(_root, "none.json");
        Assert.Equal(0, EvaluateCommand.Run(run, null, "test", none, false, null, new EvaluateCommand.PlannerOverrides("none"), "my curve", CancellationToken.None));
        using (var doc = JsonDocument.Parse(File.ReadAllText(none)))
        {
            Assert.Equal("none", doc.RootElement.GetProperty("planner").GetString());
            Assert.Equal("my curve", doc.RootElement.GetProperty("label").GetString());
        }
        Assert.Equal("DICP-AD", EvaluateCommand.Label("dicp-ad", "none"));

        // Continuous-action planners on a discrete model are refused with exit code 2.
        Assert.Equal(2, EvaluateCommand.Run(run, null, "test", none, false, null, new EvaluateCommand.PlannerOverrides("sampling"), null, CancellationToken.None));
        Assert.Equal(2, EvaluateCommand.Run(run, null, "test", none, false, null, new EvaluateCommand.PlannerOverrides("cem"), null, CancellationToken.None));
    }

    /// <summary>
    /// Synthetic Darkroom histories (4 train goals, the 2 test goals (4, 2) and (5, 6), 4 streams × 100 steps) in
    /// ROOT/data and a tiny DICP-AD run configuration (1 layer, n_transit 6, 4 steps, 2 episodes on 2 test goals, beam
    /// K 6 with horizon 3) in ROOT/dicp.yaml.
    /// </summary>
    internal static (string Data, string Config) WriteTinyDicpAd(string root)
    {
        var data = Path.Combine(root, "data");
        SyntheticHistories.WriteDarkroom(data, [24, 48, 26, 75, 38, 51], streams: 4, steps: 100, [24, 48, 26, 75], [38, 51]);
        var config = Path.Combine(root, "dicp.yaml");
        File.WriteAllText(config, """
        model:
          model: ad
          dynamics: true
          n_transit: 6
          embedding_dim: 16
          layers: 1
          heads: 2
          inner: 32
        data:
          environment: darkroom
          streams: 4
          steps_per_stream: 100
        training:
          steps: 4
          batch_size: 8
          log_interval: 2
          eval_interval: 2
          test_windows: 8
          checkpoint_interval: 4
        evaluation:
          episodes: 2
          max_tasks: 2
        planner:
          name: beam
          beam_k: 6
          horizon: 3
        """);
        return (data, config);
    }
}
