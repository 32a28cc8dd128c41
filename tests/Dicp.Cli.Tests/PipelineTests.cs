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

    [Fact]
    public void EvaluateTraceRecordsEveryStepWithoutChangingTheResults()
    {
        var (data, config) = WriteTinyDicpAd(_root);
        var run = Path.Combine(_root, "run");
        Assert.Equal(0, TrainCommand.Run(config, data, run, null, null, CancellationToken.None));
        var (plain, traced, trace) = (Path.Combine(_root, "plain.json"), Path.Combine(_root, "traced.json"), Path.Combine(_root, "trace.csv"));
        var overrides = new EvaluateCommand.PlannerOverrides(null);
        Assert.Equal(0, EvaluateCommand.Run(run, 3, "test", plain, false, null, overrides, null, CancellationToken.None));
        Assert.Equal(0, EvaluateCommand.Run(run, 3, "test", traced, false, null, overrides, null, CancellationToken.None, trace: trace));

        using var a = JsonDocument.Parse(File.ReadAllText(plain));
        using var b = JsonDocument.Parse(File.ReadAllText(traced));
        Assert.Equal(a.RootElement.GetProperty("returns").GetRawText(), b.RootElement.GetProperty("returns").GetRawText());

        var lines = File.ReadAllLines(trace);
        Assert.Equal("task,episode,step,obs_0,obs_1,action_0,reward,next_obs_0,next_obs_1,done,planned,planned_actions,predicted_rewards", lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Equal(2 * 3 * 20, rows.Length); // 2 test goals × 3 episodes × 20 steps
        var returns = b.RootElement.GetProperty("returns");
        var tasks = b.RootElement.GetProperty("task_indices").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        for (var t = 0; t < tasks.Length; t++)
        {
            var mine = rows.Where(r => int.Parse(r[0]) == tasks[t]).ToArray();
            Assert.Equal(60, mine.Length);
            var (gx, gy) = (tasks[t] / 9, tasks[t] % 9);
            for (var k = 0; k < mine.Length; k++)
            {
                var r = mine[k];
                Assert.Equal((k / 20, k % 20), (int.Parse(r[1]), int.Parse(r[2])));
                int x = (int)float.Parse(r[3]), y = (int)float.Parse(r[4]), nx = (int)float.Parse(r[7]), ny = (int)float.Parse(r[8]);
                Environments.GridWorld.Move((int)float.Parse(r[5]), ref x, ref y);
                Assert.Equal((x, y), (nx, ny)); // the environment's dynamics
                Assert.Equal((nx, ny) == (gx, gy) ? 1f : 0f, float.Parse(r[6]));
                Assert.Equal(k % 20 == 19 ? "1" : "0", r[9]);
                if (k % 20 < 19) Assert.Equal((r[7], r[8]), (mine[k + 1][3], mine[k + 1][4]));
                // n_transit 6: the planner plans once 6 real transitions are in the context (step 6 on), paths of up to horizon 3.
                Assert.Equal(k >= 6 ? "1" : "0", r[10]);
                var (path, predicted) = (r[11].Split(' ', StringSplitOptions.RemoveEmptyEntries), r[12].Split(' ', StringSplitOptions.RemoveEmptyEntries));
                Assert.Equal(path.Length, predicted.Length);
                Assert.Equal(r[10] == "1" ? Math.Min(3, 20 - k % 20) : 0, path.Length);
                if (path.Length > 0) Assert.Equal(r[5], path[0]); // the executed action is the best path's first
            }
            for (var e = 0; e < 3; e++)
                Assert.Equal(returns[t][e].GetDouble(), mine.Skip(e * 20).Take(20).Sum(r => double.Parse(r[6])));
        }

        // A directory as the trace file: one line naming the option, exit code 2, before any evaluation.
        Assert.Equal(2, EvaluateCommand.Run(run, 3, "test", plain, false, null, overrides, null, CancellationToken.None, trace: _root));
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
