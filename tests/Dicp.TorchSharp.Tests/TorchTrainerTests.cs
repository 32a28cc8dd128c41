using System.Globalization;
using Dicp.Core.Tests.TestUtil;
using Dicp.Data;
using Dicp.Models;
using Dicp.Training;
using Xunit;
using static Dicp.TorchSharp.Tests.Parity;

namespace Dicp.TorchSharp.Tests;

/// <summary>The TorchSharp trainer against Dicp's: the same windows and recipe give the same logged losses (AD, no
/// randomness but the sampler's), IDT windows carry returns-to-go, and the run directory's model evaluates identically on Dicp's engine.</summary>
public sealed class TorchTrainerTests : IDisposable
{
    private static readonly int[] Train = [24, 48, 26, 75], Test = [38, 51];
    private readonly string _root = Directory.CreateTempSubdirectory("dicp-ts-trainer-").FullName;

    public TorchTrainerTests()
    {
        RequireNative();
        SyntheticHistories.WriteDarkroom(Data, [.. Train, .. Test], streams: 2, steps: 120, Train, Test, seed: 4);
    }

    private string Data => Path.Combine(_root, "data");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static List<Dictionary<string, string>> Rows(string run)
    {
        var lines = File.ReadAllLines(Path.Combine(run, Trainer.MetricsFileName));
        var header = lines[0].Split(',');
        return [.. lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second))];
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void DicpAdLogsTheSameLossesAsDicpsTrainer()
    {
        var config = new ModelConfig(Model: "ad", Dynamics: true, NTransit: 10, EmbeddingDim: 16, Layers: 2, Heads: 2, Inner: 32, Dropout: 0f);
        var options = new TrainerOptions(Steps: 6, BatchSize: 8, LearningRate: 3e-3f, LogInterval: 1, EvalInterval: 3, TestWindows: 16, CheckpointInterval: 3, Seed: 2);
        using var train = HistoryDataset.Open(Data, HistorySplit.Train);
        using var test = HistoryDataset.Open(Data, HistorySplit.Test);
        var dicpRun = Path.Combine(_root, "dicp");
        new Trainer(InContextModels.Create(config, options.Seed), train, test, options, dicpRun) { ModelConfig = config }.Run();
        using var model = TorchModel.Create(config, options.Seed);
        var torchRun = Path.Combine(_root, "torch");
        new TorchTrainer(model, train, test, options, torchRun).Run();

        var (expected, actual) = (Rows(dicpRun), Rows(torchRun));
        Assert.Equal(6, actual.Count);
        foreach (var (e, a) in expected.Zip(actual))
            foreach (var key in new[] { "loss", "action_loss", "reward_loss", "next_state_loss", "grad_norm", "test_loss" })
                if (e[key] != "") Close([(float)D(e[key])], [(float)D(a[key])], $"{key} at step {e["step"]}", abs: 1e-4, rel: 1e-3);
        Assert.Equal(2, actual.Count(r => r["test_loss"] != ""));
    }

    [Fact]
    public void DicpIdtTrainsOnReturnConditionedWindowsAndItsModelEvaluatesIdenticallyOnDicp()
    {
        var config = new ModelConfig(Model: "idt", Dynamics: true, NTransit: 20, EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 32, Dropout: 0f,
            SegmentLength: 5, LatentDim: 4);
        var options = new TrainerOptions(Steps: 8, BatchSize: 8, LearningRate: 3e-3f, LogInterval: 4, EvalInterval: 4, TestWindows: 16, CheckpointInterval: 4, Seed: 3);
        using var train = HistoryDataset.Open(Data, HistorySplit.Train);
        using var test = HistoryDataset.Open(Data, HistorySplit.Test);
        using var model = TorchIdtModel.Create(config, options.Seed);
        var run = Path.Combine(_root, "idt");
        var result = new TorchTrainer(model, train, test, options, run).Run();
        Assert.Equal(8, result.FinalStep);
        var rows = Rows(run);
        Assert.Equal(2, rows.Count);
        foreach (var r in rows) // loss = action + λ·(reward + next state), as Dicp's IDT
        {
            Assert.Equal(D(r["action_loss"]) + D(r["reward_loss"]) + D(r["next_state_loss"]), D(r["loss"]), 4);
            Assert.Equal(D(r["test_action_loss"]) + D(r["test_reward_loss"]) + D(r["test_next_state_loss"]), D(r["test_loss"]), 4);
        }

        // The trainer's windows (returns-to-go over segments of c) and its model.safetensors, on Dicp's engine.
        var dicp = (IdtModel)ModelFile.Load(Path.Combine(run, Trainer.ModelFileName));
        using var loaded = TorchIdtModel.Load(Path.Combine(run, Trainer.ModelFileName));
        var sampler = new WindowSampler(test, config.NTransit, 8, seed: 9, returnsToGoSegment: config.SegmentLength);
        var batch = sampler.Next();
        var eps = IdtParityTests.Noise(config, 8, seed: 10);
        Close([(float)dicp.Loss(batch, eps).Metrics["loss"]], [(float)loaded.Loss(batch, eps).Metrics["loss"]], "loss of the trained model");
        Close([(float)dicp.Loss(batch, eps).Metrics["loss"]], [(float)model.Loss(batch, eps).Metrics["loss"]], "loss of the trainer's model");
    }

    [Fact]
    public void ABFloat16RunLogsLossesCloseToFloat32()
    {
        var config = new ModelConfig(Model: "dpt", Dynamics: true, NTransit: 10, EmbeddingDim: 16, Layers: 2, Heads: 2, Inner: 32, Dropout: 0f);
        var options = new TrainerOptions(Steps: 3, BatchSize: 8, LearningRate: 3e-3f, LogInterval: 1, EvalInterval: 0, CheckpointInterval: 3, Seed: 5);
        using var train = HistoryDataset.Open(Data, HistorySplit.Train);
        var losses = new List<double[]>();
        foreach (var precision in new[] { TorchPrecision.Float32, TorchPrecision.BFloat16 })
        {
            using var model = TorchModel.Create(config, options.Seed);
            var run = Path.Combine(_root, precision.ToString());
            var trainer = new TorchTrainer(model, train, null, options, run) { Precision = precision };
            Assert.Equal(precision, model.Precision);
            trainer.Run();
            losses.Add([.. Rows(run).Select(r => D(r["loss"]))]);
        }
        for (var i = 0; i < 3; i++)
            Assert.True(Math.Abs(losses[1][i] - losses[0][i]) <= 0.02 * losses[0][i] + 0.01, $"step {i + 1}: bf16 {losses[1][i]}, fp32 {losses[0][i]}");
        Assert.NotEqual(losses[0][0], losses[1][0]);
    }
}
