using System.CommandLine;
using System.Text.Json;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;
using Xunit;

namespace Dicp.Cli.Tests;

/// <summary>
/// Meta-World in context: every shipped configuration against its environment's spaces (and two training steps on a
/// tiny history of that environment), the observation selection, learn_transition, and the tiny ML1 Reach pipeline
/// through the command line with the shipped configurations.
/// </summary>
[Collection("environment variables")]
public sealed class MetaWorldInContextTests : IDisposable
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "dicp-mw-ic-" + Environment.ProcessId);
    private static readonly Dictionary<string, string> Histories = [];
    private readonly string _runs = Path.Combine(Root, "runs-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_runs)) Directory.Delete(_runs, recursive: true);
    }

    /// <summary>Meta-World's assets: <c>$DICP_METAWORLD_ASSETS</c>, else <c>../shared/metaworld/assets_v2</c> next to the repository.</summary>
    internal static string Assets()
    {
        var v = Environment.GetEnvironmentVariable(TaskSetResolver.AssetsVariable);
        if (!string.IsNullOrEmpty(v)) return v;
        var repo = Path.GetDirectoryName(RunConfigTests.ConfigsDirectory())!;
        return Path.Combine(Path.GetDirectoryName(repo)!, "shared", "metaworld", "assets_v2");
    }

    /// <summary>One PPO history per environment (first train and first test task, 1 stream × 1000 steps), collected once per test run.</summary>
    private static string History(string environment, ITaskSet tasks, int train, int test)
    {
        lock (Histories)
        {
            if (Histories.TryGetValue(environment, out var dir)) return dir;
            dir = Path.Combine(Root, environment);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            new HistoryCollector(tasks, new HistoryCollectionOptions(dir, [train, test], Streams: 1, StepsPerStream: 1000, MaxParallelism: 1))
                .RunAsync().GetAwaiter().GetResult();
            return Histories[environment] = dir;
        }
    }

    [Theory]
    [MemberData(nameof(RunConfigTests.AllConfigs), MemberType = typeof(RunConfigTests))]
    public void EveryConfigFitsItsEnvironmentAndTrainsTwoSteps(string file)
    {
        var c = RunConfig.Load(Path.Combine(RunConfigTests.ConfigsDirectory(), file));
        var tasks = TaskSetResolver.Resolve(c.Data.Environment, Assets());
        var (train, test) = tasks.Split(c.Data.SplitSeed, c.Data.TrainRatio);
        var env = tasks.Create(train[0]);
        try
        {
            Assert.True(env.ObservationSpace.Size == c.Model.InputObservationSize,
                $"{file}: {c.Data.Environment} emits {env.ObservationSpace.Size} floats, the model reads {c.Model.InputObservationSize}");
            Assert.True(c.Model.ObservationSize <= env.ObservationSpace.Size);
            if (c.Model.ActionCount > 0) Assert.Equal(c.Model.ActionCount, Assert.IsType<DiscreteSpace>(env.ActionSpace).N);
            else Assert.Equal(c.Model.ActionSize, Assert.IsType<BoxSpace>(env.ActionSpace).Size);
            if (c.Data.Environment.StartsWith("metaworld", StringComparison.Ordinal))
            {
                // The reference's Meta-World settings: the first 11 of 39 floats, no next-state loss in ML1, planning from step 51 (IDT: segments from 60).
                Assert.Equal((11, 39), (c.Model.ObservationSize, c.Model.SourceObservationSize));
                Assert.False(c.Model.LearnTransition);
                Assert.Equal(c.Model.Model == "idt" ? 60 : 51, c.Planner.Resolved().StartStep);
                Assert.Equal(c.Data.Environment == "metaworld-ml1-reach" ? 100 : 200, c.Evaluation.Episodes);
            }
        }
        finally
        {
            (env as IDisposable)?.Dispose();
        }

        var data = History(TaskSetResolver.Canonical(c.Data.Environment), tasks, train[0], test[0]);
        using var trainSet = HistoryDataset.Open(data, HistorySplit.Train, null, 1, 1000);
        using var testSet = HistoryDataset.Open(data, HistorySplit.Test, null, 1, 1000);
        var model = InContextModels.Create(c.Model, 0);
        var options = c.Training with { Steps = 2, BatchSize = 2, LogInterval = 1, EvalInterval = 2, TestWindows = 2, CheckpointInterval = 2 };
        var run = Path.Combine(_runs, file);
        new Trainer(model, trainSet, testSet, options, run).Run();
        var rows = File.ReadAllLines(Path.Combine(run, Trainer.MetricsFileName));
        Assert.Equal(3, rows.Length);
        var header = rows[0].Split(',');
        var loss = double.Parse(rows[2].Split(',')[Array.IndexOf(header, "loss")], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(double.IsFinite(loss), $"{file}: loss {loss}");
    }

    [Fact]
    public void ASelectionThatDoesNotFitIsAnErrorNamingTheKeyAndTheSizes()
    {
        var tasks = TaskSetResolver.Resolve("metaworld-ml1-reach", Assets());
        var data = History("metaworld-ml1-reach", tasks, 0, 50);
        using var train = HistoryDataset.Open(data, HistorySplit.Train);
        var config = new ModelConfig(ObservationSize: 11, StateClasses: 0, ActionCount: 0, ActionSize: 4, RewardClasses: 0, NTransit: 20,
            EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 32, SourceObservationSize: 40);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(InContextModels.Create(config, 0), train, null, new TrainerOptions(), _runs));
        Assert.Contains("model.source_observation_size: 40", e.Message);
        Assert.Contains("39 floats", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Trainer(InContextModels.Create(config with { SourceObservationSize = 0 }, 0), train, null, new TrainerOptions(), _runs));
        Assert.Contains("model.observation_size", e.Message);
        Assert.Contains("source_observation_size: 39", e.Message);
        e = Assert.Throws<ArgumentException>(() => InContextModels.Create(config with { SourceObservationSize = 5 }, 0));
        Assert.Contains("SourceObservationSize (5)", e.Message);

        var env = tasks.Create(50);
        try
        {
            e = Assert.Throws<ArgumentException>(() => InContextEvaluator.Run(InContextModels.Create(config, 0), [env], new PolicyPlanner()));
            Assert.Contains("model.source_observation_size: 40", e.Message);
            Assert.Contains("39 floats", e.Message);
        }
        finally
        {
            (env as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void TrainingWindowsAndEvaluationContextsSeeTheSelectedFloats()
    {
        var tasks = TaskSetResolver.Resolve("metaworld-ml1-reach", Assets());
        var data = History("metaworld-ml1-reach", tasks, 0, 50);
        using var train = HistoryDataset.Open(data, HistorySplit.Train);
        var sampler = new WindowSampler(train, 30, 3, seed: 1, observationSize: 11);
        var batch = sampler.Next();
        Assert.Equal(11, batch.ObservationSize);
        var h = TaskHistory.Read(Path.Combine(data, HistoryFormat.TaskFileName(0)));
        var p = new WindowSampler(train, 30, 3, seed: 1).NextPosition(); // the same generator draws the same first window
        for (var t = 0; t < 30; t++)
            Assert.Equal(h.State(p.Stream, p.Start + t)[..11].ToArray(), batch.States.AsSpan(t * 11, 11).ToArray());

        var env = tasks.Create(50);
        try
        {
            var full = new float[39];
            var part = new float[11];
            var wrapped = new ObservationPrefixEnvironment(tasks.Create(50), 11);
            env.Reset(0, full);
            wrapped.Reset(0, part);
            Assert.Equal(full[..11], part);
            var r1 = env.Step([0.3f, -0.2f, 0.1f, 1f], full);
            var r2 = wrapped.Step([0.3f, -0.2f, 0.1f, 1f], part);
            Assert.Equal(full[..11], part);
            Assert.Equal(r1, r2);
            (wrapped.Inner as IDisposable)?.Dispose();
        }
        finally
        {
            (env as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void LearnTransitionOffDropsTheNextStateLoss()
    {
        var tasks = TaskSetResolver.Resolve("metaworld-ml1-reach", Assets());
        var data = History("metaworld-ml1-reach", tasks, 0, 50);
        using var train = HistoryDataset.Open(data, HistorySplit.Train);
        foreach (var kind in new[] { "ad", "idt" })
        {
            var on = new ModelConfig(kind, Dynamics: true, ObservationSize: 11, StateClasses: 0, ActionCount: 0, ActionSize: 4, RewardClasses: 0,
                NTransit: 20, EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 32, Dropout: 0f, SourceObservationSize: 39);
            var batch = new WindowSampler(train, 20, 4, seed: 2, returnsToGoSegment: kind == "idt" ? 10 : 0, observationSize: 11).Next();
            var a = InContextModels.Create(on, 0).Loss(batch);
            var off = InContextModels.Create(on with { LearnTransition = false }, 0);
            var b = off.Loss(batch);
            Assert.Equal(a.Metrics["next_state_loss"], b.Metrics["next_state_loss"], 6); // same weights, same predictions
            Assert.Equal(a.Metrics["action_loss"] + a.Metrics["reward_loss"] + a.Metrics["next_state_loss"], a.Metrics["loss"], 4);
            Assert.Equal(b.Metrics["action_loss"] + b.Metrics["reward_loss"], b.Metrics["loss"], 4);
            b.Total.Backward();
            var head = off.Network.StateDict().First(kv => kv.Key.Contains("pred_next", StringComparison.Ordinal) && kv.Key.EndsWith(".weight", StringComparison.Ordinal)).Value;
            Assert.True(head.Grad is null || head.Grad.AsSpan(0, head.Size).ToArray().All(g => g == 0f), $"{kind}: the next-state head got a gradient");
        }
    }

    [Fact]
    public async Task TinyMl1ReachPipelineThroughTheCommandLine()
    {
        var previous = Environment.GetEnvironmentVariable(TaskSetResolver.AssetsVariable);
        Environment.SetEnvironmentVariable(TaskSetResolver.AssetsVariable, Assets());
        try
        {
            var root = new RootCommand { CollectCommand.Create(), TrainCommand.Create(), EvaluateCommand.Create() };
            var data = Path.Combine(_runs, "data");
            var run = Path.Combine(_runs, "dicp-ad");
            var configs = RunConfigTests.ConfigsDirectory();
            Assert.Equal(0, await root.Parse(["collect", "--env", "metaworld-ml1-reach", "--out", data, "--tasks", "0,1,50", "--streams", "1",
                "--steps-per-stream", "300", "--parallel", "2"]).InvokeAsync());
            Assert.Equal("metaworld-ml1-reach", HistoryManifest.Read(data).Environment);
            string[] sizes = ["model.n_transit=100", "model.embedding_dim=16", "model.heads=2", "model.inner=32", "model.layers=1",
                "data.streams=1", "data.steps_per_stream=300", "training.batch_size=4", "training.test_windows=4", "training.log_interval=2",
                "training.eval_interval=2", "training.checkpoint_interval=2", "evaluation.max_tasks=1"];
            Assert.Equal(0, await root.Parse(["train", "--config", Path.Combine(configs, "dicp-ad-metaworld-ml1.yaml"), "--data", data, "--out", run,
                "--steps", "4", .. sizes.SelectMany(s => new[] { "--set", s })]).InvokeAsync());
            var results = Path.Combine(run, "results.json");
            Assert.Equal(0, await root.Parse(["evaluate", "--run", run, "--episodes", "2", "--planner", "sampling", "--out", results]).InvokeAsync());
            using var doc = JsonDocument.Parse(File.ReadAllText(results));
            var r = doc.RootElement;
            Assert.Equal("sampling", r.GetProperty("planner").GetString());
            Assert.Equal(51, r.GetProperty("planner_settings").GetProperty("start_step").GetInt32());
            Assert.Equal([50], r.GetProperty("task_indices").EnumerateArray().Select(e => e.GetInt32()));
            var perEpisode = r.GetProperty("success_rate_per_episode").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var cumulative = r.GetProperty("cumulative_success_rate_per_episode").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal(2, perEpisode.Length);
            Assert.Equal(2, cumulative.Length);
            Assert.Equal(perEpisode[0], cumulative[0]);
            Assert.Equal(Math.Max(perEpisode[0], perEpisode[1]), cumulative[1]);

            // The wrong size for the selection is exit code 2.
            Assert.Equal(2, await root.Parse(["train", "--config", Path.Combine(configs, "dicp-ad-metaworld-ml1.yaml"), "--data", data,
                "--out", Path.Combine(_runs, "bad"), "--steps", "4", .. sizes.SelectMany(s => new[] { "--set", s }), "--set", "model.source_observation_size=40"]).InvokeAsync());
        }
        finally
        {
            Environment.SetEnvironmentVariable(TaskSetResolver.AssetsVariable, previous);
        }
    }
}
