using System.Globalization;
using Dicp.Core.Tests.TestUtil;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.Models;
using Dicp.Training;
using Xunit;
using Xunit.Abstractions;

namespace Dicp.Core.Tests.Training;

public sealed class TrainerTests : IDisposable
{
    private static readonly int[] Train = [24, 48, 26, 75, 9, 76], Test = [38, 51];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dicp-trainer-" + Guid.NewGuid().ToString("N"));
    private readonly string _data;

    private readonly ITestOutputHelper _out;

    public TrainerTests(ITestOutputHelper output)
    {
        _out = output;
        _data = Path.Combine(_root, "data");
        SyntheticHistories.WriteDarkroom(_data, [.. Train, .. Test], streams: 6, steps: 200, Train, Test, seed: 3);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private static List<Dictionary<string, string>> ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second)).ToList();
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void ModelLearnsAndMetricsAreLoggedPerRow()
    {
        const int Steps = 300;
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        using var test = HistoryDataset.Open(_data, HistorySplit.Test);
        var run = Path.Combine(_root, "run");
        var options = new TrainerOptions(Steps: Steps, BatchSize: 64, LogInterval: 25, EvalInterval: 50, TestWindows: 256, CheckpointInterval: 50, Seed: 1);
        var model = new TinyWindowModel(10, seed: 0);
        var rows = new List<TrainingProgress>();
        var config = new ModelConfig(NTransit: 10);
        var result = new Trainer(model, train, test, options, run) { ModelConfig = config }.Run(new SyncProgress<TrainingProgress>(rows.Add));

        Assert.Equal((0, Steps), (result.StartStep, result.FinalStep));
        Assert.Equal(Enumerable.Range(1, Steps / 25).Select(i => 25 * i), rows.Select(r => r.Step));
        var csv = ReadCsv(Path.Combine(run, Trainer.MetricsFileName));
        Assert.Equal("step,lr,loss,grad_norm,action_loss,action_accuracy,test_loss,test_action_loss,test_action_accuracy",
            File.ReadLines(Path.Combine(run, Trainer.MetricsFileName)).First());
        Assert.Equal(Steps / 25, csv.Count);
        Assert.Equal("", csv[0]["test_loss"]);                           // step 25: no test evaluation
        // Wall-clock rates go to the progress rows and timing.csv (one row per metric row), never into metrics.csv.
        Assert.All(rows, r => Assert.True(double.IsFinite(r.StepsPerSecond) && r.StepsPerSecond > 0, $"steps/s {r.StepsPerSecond}"));
        var timing = ReadCsv(Path.Combine(run, Trainer.TimingFileName));
        Assert.Equal(rows.Select(r => r.Step.ToString(CultureInfo.InvariantCulture)), timing.Select(t => t["step"]));
        Assert.Equal(rows.Select(r => Math.Round(r.StepsPerSecond, 3)), timing.Select(t => D(t["steps_per_second"])));
        Assert.True(D(timing[^1]["wall_seconds"]) >= D(timing[0]["wall_seconds"]) && D(timing[^1]["cpu_seconds"]) > 0);
        _out.WriteLine(File.ReadAllText(Path.Combine(run, Trainer.MetricsFileName)));
        var firstTest = D(csv[1]["test_loss"]);
        var lastTest = D(csv[^1]["test_loss"]);
        // Chance is ln 5 ≈ 1.609; the model must learn the scripted learner's action choice from the context.
        Assert.True(lastTest < 0.8 * Math.Log(5), $"test loss {lastTest}\n" + File.ReadAllText(Path.Combine(run, Trainer.MetricsFileName)));
        Assert.True(lastTest < firstTest, $"test loss {firstTest} → {lastTest}");
        Assert.True(D(csv[^1]["test_action_accuracy"]) > 0.55, $"test accuracy {csv[^1]["test_action_accuracy"]}");
        // Cosine schedule without warm-up: lr of the last step (S − 1) is 1e-2 · ½(1 + cos(π·(S − 1)/S)).
        Assert.Equal(1e-2 * 0.5 * (1 + Math.Cos(Math.PI * (Steps - 1) / Steps)), D(csv[^1]["lr"]), 6);

        var checkpoint = TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(run));
        Assert.Equal(Steps, checkpoint.Step);
        Assert.Equal(Steps, checkpoint.OptimizerSteps);
        Assert.Equal(config, checkpoint.ReadModelConfig());
        Assert.True(File.Exists(Path.Combine(run, Trainer.ModelFileName)));

        // A finished run is not trained further.
        var again = new Trainer(new TinyWindowModel(10, seed: 9), train, test, options, run).Run();
        Assert.Equal((Steps, Steps), (again.StartStep, again.FinalStep));
    }

    [Fact]
    public void InterruptedAndResumedRunReproducesTheUninterruptedRunBitForBit()
    {
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        using var test = HistoryDataset.Open(_data, HistorySplit.Test);
        var options = new TrainerOptions(Steps: 40, BatchSize: 32, LogInterval: 1, EvalInterval: 10, TestWindows: 64,
            InContextEvalInterval: 20, CheckpointInterval: 15, Seed: 4);
        var tasks = new DarkroomTasks();
        InContextTrainingEvaluation Eval() => new(() => Test.Select(i => (IEnvironment)tasks.Create(i)).ToArray(), new EvaluationOptions(Episodes: 2, Seed: 1));

        var a = Path.Combine(_root, "a");
        new Trainer(new TinyWindowModel(10, seed: 0), train, test, options, a) { Evaluation = Eval() }.Run();

        var b = Path.Combine(_root, "b");
        using var cts = new CancellationTokenSource();
        var cancelAt = new SyncProgress<TrainingProgress>(p => { if (p.Step == 23) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new Trainer(new TinyWindowModel(10, seed: 0), train, test, options, b) { Evaluation = Eval() }.Run(cancelAt, cts.Token));
        Assert.Equal(23, TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(b)).Step);
        // Resume into a differently initialised model: everything must come from the checkpoint.
        var resumed = new Trainer(new TinyWindowModel(10, seed: 77), train, test, options, b) { Evaluation = Eval() }.Run();
        Assert.Equal(23, resumed.StartStep);

        var csvA = File.ReadAllText(Path.Combine(a, Trainer.MetricsFileName));
        var csvB = File.ReadAllText(Path.Combine(b, Trainer.MetricsFileName));
        Assert.Equal(41, csvA.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("ic_first_return", csvA);
        Assert.Equal(csvA, csvB);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, Trainer.ModelFileName)), File.ReadAllBytes(Path.Combine(b, Trainer.ModelFileName)));
    }

    [Fact]
    public void MetricRowsAreAlsoWrittenAsTensorBoardScalars()
    {
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        var options = new TrainerOptions(Steps: 12, BatchSize: 16, LogInterval: 4, CheckpointInterval: 12, Seed: 2);
        var run = Path.Combine(_root, "tb-run");
        var tb = Path.Combine(run, "tensorboard");
        new Trainer(new TinyWindowModel(10, seed: 0), train, null, options, run) { TensorBoardDirectory = tb }.Run();
        var file = Assert.Single(Directory.GetFiles(tb));
        var records = Metrics.MetricsTests.ReadRecords(File.ReadAllBytes(file)).Skip(1).Select(Metrics.MetricsTests.Decode).ToList();
        var scalars = records.Select(e =>
        {
            var value = Metrics.MetricsTests.Decode((byte[])Metrics.MetricsTests.Decode((byte[])e[5])[1]);
            return (Step: (long)(ulong)e[2], Tag: System.Text.Encoding.UTF8.GetString((byte[])value[1]), Value: (float)value[2]);
        }).ToList();
        var csv = ReadCsv(Path.Combine(run, Trainer.MetricsFileName));
        Assert.Equal(3, csv.Count);
        Assert.Equal(csv.Sum(r => r.Count(kv => kv.Key != "step" && kv.Value.Length > 0)), scalars.Count);
        foreach (var row in csv)
        {
            var step = (long)D(row["step"]);
            Assert.Equal((float)D(row["loss"]), scalars.Single(x => x.Step == step && x.Tag == "loss").Value);
            Assert.Equal((float)D(row["lr"]), scalars.Single(x => x.Step == step && x.Tag == "lr").Value);
        }
    }

    [Fact]
    public void ResumeAfterACrashDropsRowsWrittenAfterTheLastCheckpoint()
    {
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        var options = new TrainerOptions(Steps: 12, BatchSize: 16, LogInterval: 1, CheckpointInterval: 5, Seed: 2);
        var a = Path.Combine(_root, "a");
        new Trainer(new TinyWindowModel(10, seed: 0), train, null, options, a).Run();
        // A crash after step 12 with the last checkpoint at step 5: the CSV holds rows 6..12 written after it (here
        // deliberately wrong values); resuming must drop them and write them again.
        var c = Path.Combine(_root, "c");
        using (var cts = new CancellationTokenSource())
        {
            var p = new SyncProgress<TrainingProgress>(x => { if (x.Step == 5) cts.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => new Trainer(new TinyWindowModel(10, seed: 0), train, null, options, c).Run(p, cts.Token));
        }
        var full = File.ReadAllLines(Path.Combine(a, Trainer.MetricsFileName));
        File.AppendAllLines(Path.Combine(c, Trainer.MetricsFileName), full.Skip(6).Select(l => l.Replace(",", ",9", StringComparison.Ordinal)));
        File.AppendAllLines(Path.Combine(c, Trainer.TimingFileName), ["12,1.000,1.0,1.0"]);
        new Trainer(new TinyWindowModel(10, seed: 0), train, null, options, c).Run();
        Assert.Equal(13, full.Length);
        Assert.Equal(full, File.ReadAllLines(Path.Combine(c, Trainer.MetricsFileName)));
        // timing.csv is trimmed to the checkpoint too: one row per step 1..12 after the resume, no stale row.
        Assert.Equal(Enumerable.Range(1, 12).Select(i => i.ToString(CultureInfo.InvariantCulture)),
            ReadCsv(Path.Combine(c, Trainer.TimingFileName)).Select(t => t["step"]));
    }

    [Fact]
    public void ResumeFromACheckpointBetweenMetricRowsRestoresTheAveragesExactly()
    {
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        // Rows every 4 steps, checkpoints every 10: the checkpoint at step 10 carries the sums of steps 9 and 10.
        var options = new TrainerOptions(Steps: 20, BatchSize: 16, LogInterval: 4, CheckpointInterval: 10, Seed: 6);
        var a = Path.Combine(_root, "a");
        new Trainer(new TinyWindowModel(10, seed: 0), train, null, options, a).Run();
        var b = Path.Combine(_root, "b");
        var c = Path.Combine(_root, "c");
        // "Crash" at step 12: snapshot the run directory (checkpoint of step 10, CSV rows up to 12).
        var snapshot = new SyncProgress<TrainingProgress>(p =>
        {
            if (p.Step != 12) return;
            Directory.CreateDirectory(c);
            // (not the live run's lock file: the trainer holds it, and a copy is a stopped run)
            foreach (var f in Directory.GetFiles(b).Where(f => Path.GetFileName(f) != RunDirectoryLock.FileName)) File.Copy(f, Path.Combine(c, Path.GetFileName(f)));
        });
        new Trainer(new TinyWindowModel(10, seed: 0), train, null, options, b).Run(snapshot);
        Assert.Equal(10, TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(c)).Step);
        Assert.Equal(2, TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(c)).Pending.Count);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(c, Trainer.MetricsFileName)).Length); // header, 4, 8, 12
        var resumed = new Trainer(new TinyWindowModel(10, seed: 5), train, null, options, c).Run();
        Assert.Equal(10, resumed.StartStep);
        Assert.Equal(File.ReadAllText(Path.Combine(a, Trainer.MetricsFileName)), File.ReadAllText(Path.Combine(c, Trainer.MetricsFileName)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, Trainer.ModelFileName)), File.ReadAllBytes(Path.Combine(c, Trainer.ModelFileName)));
    }

    [Fact]
    public void InvalidOptionsAndCheckpointsGiveClearErrors()
    {
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(new TinyWindowModel(10, 0), train, null, new TrainerOptions(LearningRate: -1f), _root));
        Assert.Contains("LearningRate", e.Message);
        var run = Path.Combine(_root, "bad");
        Directory.CreateDirectory(run);
        File.WriteAllText(TrainingCheckpoint.PathIn(run), "not a checkpoint");
        var d = Assert.Throws<InvalidDataException>(() => new Trainer(new TinyWindowModel(10, 0), train, null, new TrainerOptions(Steps: 2, BatchSize: 4), run).Run());
        Assert.Contains(TrainingCheckpoint.FileName, d.Message);
        // A checkpoint of another architecture does not load.
        var other = Path.Combine(_root, "other");
        new Trainer(new TinyWindowModel(10, 0, hidden: 8), train, null, new TrainerOptions(Steps: 1, BatchSize: 4), other).Run();
        d = Assert.Throws<InvalidDataException>(() => new Trainer(new TinyWindowModel(10, 0), train, null, new TrainerOptions(Steps: 2, BatchSize: 4), other).Run());
        Assert.Contains("fc1.weight", d.Message);
    }
}
