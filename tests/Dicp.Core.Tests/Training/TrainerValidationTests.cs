using Dicp.Core.Tests.TestUtil;
using Dicp.Data;
using Dicp.Models;
using Dicp.Training;
using Xunit;

namespace Dicp.Core.Tests.Training;

/// <summary>The trainer refuses a checkpoint of another model configuration and reports what a cancellation kept.</summary>
public sealed class TrainerValidationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dicp-trainer-validation-" + Guid.NewGuid().ToString("N"));
    private readonly string _data;

    public TrainerValidationTests()
    {
        _data = Path.Combine(_root, "data");
        SyntheticHistories.WriteDarkroom(_data, [24, 48, 26, 75], streams: 4, steps: 100, [24, 48, 26, 75], []);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private sealed class CancelAt(CancellationTokenSource cts, int step) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            if (p.Step == step) cts.Cancel();
        }
    }

    [Fact]
    public void CancellationKeepsACheckpointAtTheCancelPointAndSaysWhichStep()
    {
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        var options = new TrainerOptions(Steps: 30, BatchSize: 8, LogInterval: 1, CheckpointInterval: 10, Seed: 1);
        var run = Path.Combine(_root, "run");
        using var cts = new CancellationTokenSource();
        var e = Assert.Throws<TrainingCancelledException>(() =>
            new Trainer(new TinyWindowModel(10, seed: 0), train, null, options, run) { ModelConfig = new ModelConfig(NTransit: 10) }.Run(new CancelAt(cts, 13), cts.Token));
        Assert.Equal(13, e.Step);
        Assert.Equal(TrainingCheckpoint.PathIn(run), e.CheckpointPath);
        Assert.Equal(13, TrainingCheckpoint.Read(e.CheckpointPath).Step);
    }

    [Fact]
    public void ARunDirectoryIsTrainedByOneHolderOfItsLockAtATime()
    {
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        var options = new TrainerOptions(Steps: 10, BatchSize: 8, LogInterval: 5, CheckpointInterval: 5, Seed: 1);
        var run = Path.Combine(_root, "run");
        Trainer Make(RunDirectoryLock? held = null) =>
            new(new TinyWindowModel(10, seed: 0), train, null, options, run) { ModelConfig = new ModelConfig(NTransit: 10), RunLock = held };
        using (var held = RunDirectoryLock.Acquire(run))
        {
            // Another holder (flock locks conflict between open files, within a process as between processes): refused
            // before anything is written, naming the directory and its lock file.
            var e = Assert.Throws<IOException>(() => Make().Run());
            Assert.Contains($"'{run}' is in use", e.Message);
            Assert.Contains(Path.Combine(run, RunDirectoryLock.FileName), e.Message);
            Assert.Equal([RunDirectoryLock.FileName], Directory.GetFiles(run).Select(Path.GetFileName));
            Assert.Throws<IOException>(() => RunDirectoryLock.Acquire(run));
            Assert.True(RunDirectoryLock.IsInUse(run));
            // The holder trains.
            Assert.Equal(10, Make(held).Run().FinalStep);
            // Run took no lock of its own: the directory is still the holder's.
            Assert.Throws<IOException>(() => RunDirectoryLock.Acquire(run));
        }
        // Released by the holder; and Run releases the lock it takes itself.
        Assert.Equal(10, Make().Run().StartStep);
        Assert.False(RunDirectoryLock.IsInUse(run));
        RunDirectoryLock.Acquire(run).Dispose();
        Assert.False(RunDirectoryLock.IsInUse(Path.Combine(_root, "never-trained")));
        // A lock of another directory, or one already released, is not the run's.
        using (var other = RunDirectoryLock.Acquire(Path.Combine(_root, "other")))
            Assert.Contains("not the trainer's run directory", Assert.Throws<InvalidOperationException>(() => Make(other).Run()).Message);
        var released = RunDirectoryLock.Acquire(run);
        released.Dispose();
        Assert.Contains("released", Assert.Throws<InvalidOperationException>(() => Make(released).Run()).Message);
        // A file where the run directory belongs.
        var file = Path.Combine(_root, "file");
        File.WriteAllText(file, "");
        Assert.Contains("is a file, not a run directory", Assert.Throws<IOException>(() => RunDirectoryLock.Acquire(file)).Message);
    }

    [Fact]
    public void ResumingACheckpointOfAnotherModelConfigurationIsRefusedNamingTheKeys()
    {
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        var options = new TrainerOptions(Steps: 10, BatchSize: 8, LogInterval: 5, CheckpointInterval: 5, Seed: 1);
        var run = Path.Combine(_root, "run");
        var config = new ModelConfig(NTransit: 10, Heads: 2);
        new Trainer(new TinyWindowModel(10, seed: 0), train, null, options with { Steps = 5 }, run) { ModelConfig = config }.Run();
        var before = File.ReadAllBytes(TrainingCheckpoint.PathIn(run));
        var e = Assert.Throws<ModelConfigMismatchException>(() =>
            new Trainer(new TinyWindowModel(10, seed: 0), train, null, options, run) { ModelConfig = config with { Heads = 4, Layers = 2 } }.Run());
        Assert.Equal(["layers", "heads"], e.Differences.Select(d => d.Key));
        Assert.Contains("heads 2 → 4", e.Message);
        Assert.Equal(before, File.ReadAllBytes(TrainingCheckpoint.PathIn(run)));
        // The same configuration resumes.
        Assert.Equal(5, new Trainer(new TinyWindowModel(10, seed: 0), train, null, options, run) { ModelConfig = config }.Run().StartStep);
        Assert.Equal(config, ModelFile.ReadConfig(Path.Combine(run, Trainer.ModelFileName)));
    }

    [Fact]
    public void TheTrainerTakesTheConfigurationFromTheModel()
    {
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        var config = new ModelConfig(NTransit: 10, EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 32, Dropout: 0f);
        var model = InContextModels.Create(config, seed: 0);
        var run = Path.Combine(_root, "own");
        var options = new TrainerOptions(Steps: 2, BatchSize: 4, LogInterval: 1, CheckpointInterval: 2, Seed: 1);
        var trainer = new Trainer(model, train, null, options, run);
        Assert.Equal(config, trainer.ModelConfig);
        trainer.Run();
        Assert.Equal(config, ModelFile.ReadConfig(Path.Combine(run, Trainer.ModelFileName)));
        Assert.Equal(config, TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(run)).ReadModelConfig());
        // Giving the same configuration again is allowed; another one is refused, naming the keys.
        Assert.Equal(config, new Trainer(model, train, null, options, run) { ModelConfig = config }.ModelConfig);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, train, null, options, run) { ModelConfig = config with { Heads = 4 } });
        Assert.Contains("heads 2 → 4", e.Message);
    }
}
