using System.Globalization;
using Dicp.Core.Tests.TestUtil;
using Dicp.Data;
using Dicp.Models;
using Dicp.Training;
using Xunit;

namespace Dicp.Core.Tests.Training;

/// <summary>DICP-IDT through the trainer: IDT windows (returns-to-go) are wired in, the logged loss is the model's, and it learns.</summary>
public sealed class IdtTrainingTests : IDisposable
{
    private static readonly int[] Train = [24, 48, 26, 75, 9, 76], Test = [38, 51];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dicp-idt-trainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void DicpIdtLearnsAndTheLoggedLossIsTheModelsLoss()
    {
        var data = Path.Combine(_root, "data");
        SyntheticHistories.WriteDarkroom(data, [.. Train, .. Test], streams: 4, steps: 200, Train, Test, seed: 3);
        using var train = HistoryDataset.Open(data, HistorySplit.Train);
        using var test = HistoryDataset.Open(data, HistorySplit.Train); // a fixed set of training-task windows: 6 goals are too few to generalise
        var config = new ModelConfig(Model: "idt", Dynamics: true, NTransit: 20, EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 32,
            Dropout: 0f, SegmentLength: 5, LatentDim: 4);
        var model = InContextModels.Create(config, seed: 1);
        var run = Path.Combine(_root, "run");
        var options = new TrainerOptions(Steps: 120, BatchSize: 32, LearningRate: 3e-3f, LogInterval: 20, EvalInterval: 40, TestWindows: 128,
            CheckpointInterval: 120, Seed: 1);
        new Trainer(model, train, test, options, run) { ModelConfig = config }.Run();

        var lines = File.ReadAllLines(Path.Combine(run, Trainer.MetricsFileName));
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second)).ToList();
        foreach (var r in rows) // loss = action + λ·(reward + next state), counted once
        {
            Assert.Equal(D(r["action_loss"]) + D(r["reward_loss"]) + D(r["next_state_loss"]), D(r["loss"]), 4);
            if (r["test_loss"] != "") Assert.Equal(D(r["test_action_loss"]) + D(r["test_reward_loss"]) + D(r["test_next_state_loss"]), D(r["test_loss"]), 4);
        }
        var tested = rows.Where(r => r["test_loss"] != "").ToList();
        Assert.Equal(3, tested.Count);
        double first = D(tested[0]["test_action_loss"]), last = D(tested[^1]["test_action_loss"]);
        Assert.True(last < first && last < 0.9 * Math.Log(5), $"test action loss {first} → {last}\n" + string.Join('\n', lines));
        Assert.True(D(tested[^1]["test_next_state_accuracy"]) > 0.5 && D(tested[^1]["test_next_state_accuracy"]) > D(tested[0]["test_next_state_accuracy"]) + 0.1,
            string.Join('\n', lines));
    }
}
