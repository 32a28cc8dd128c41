using Dicp.Core.Tests.TestUtil;
using Dicp.Data;
using Dicp.Models;
using Dicp.Training;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Dicp.Core.Tests.Training;

/// <summary>
/// Checkpoints record how the kernels rounded (the numerics level and vector path); resuming under other numerics is
/// announced and recorded as a history, resuming under the same numerics is silent.
/// </summary>
public sealed class CheckpointNumericsTests : IDisposable
{
    private static readonly int[] Train = [24, 48, 26, 75], Test = [38];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dicp-numerics-" + Guid.NewGuid().ToString("N"));
    private readonly string _data;

    public CheckpointNumericsTests()
    {
        _data = Path.Combine(_root, "data");
        SyntheticHistories.WriteDarkroom(_data, [.. Train, .. Test], streams: 2, steps: 100, Train, Test, seed: 5);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private (List<string> Warnings, TrainingResult Result) Run(string run, int steps)
    {
        using var train = HistoryDataset.Open(_data, HistorySplit.Train);
        var log = new WarningLogger();
        var options = new TrainerOptions(Steps: steps, BatchSize: 8, LogInterval: 5, EvalInterval: 1000, CheckpointInterval: 5, Seed: 2);
        var result = new Trainer(new TinyWindowModel(10, seed: 0), train, null, options, run, log).Run();
        // A longer Steps is itself warned about (other trainer options); only the numerics warnings matter here.
        return (log.Warnings.Where(w => w.Contains("kernel numerics", StringComparison.Ordinal)).ToList(), result);
    }

    /// <summary>Rewrites the run's checkpoint with <paramref name="numerics"/> in place of what it recorded.</summary>
    private static void Stamp(string run, string? numerics)
    {
        var path = TrainingCheckpoint.PathIn(run);
        var c = TrainingCheckpoint.Read(path);
        new TrainingCheckpoint
        {
            Step = c.Step, OptimizerSteps = c.OptimizerSteps, Model = c.Model, Optimizer = c.Optimizer, SamplerRng = c.SamplerRng,
            DropoutRng = c.DropoutRng, Pending = c.Pending, Columns = c.Columns, TrainerOptionsJson = c.TrainerOptionsJson,
            ModelConfigJson = c.ModelConfigJson, RunConfigJson = c.RunConfigJson, Numerics = numerics,
        }.Save(path);
    }

    private static string Recorded(string run) => TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(run)).Numerics!;

    [Fact]
    public void ARunRecordsItsNumericsAndASameNumericsResumeIsSilent()
    {
        var run = Path.Combine(_root, "same");
        Run(run, 10);
        Assert.Equal(EngineEnvironment.Numerics, Recorded(run));
        Assert.Matches(@"^numerics \d+, (avx512|avx2|scalar)$", Recorded(run));
        var (warnings, result) = Run(run, 15);
        Assert.Equal(10, result.StartStep);
        Assert.Empty(warnings);
        Assert.Equal(EngineEnvironment.Numerics, Recorded(run));
    }

    [Fact]
    public void AResumeUnderOtherNumericsIsWarnedAboutAndRecordedAsAHistory()
    {
        var run = Path.Combine(_root, "other");
        Run(run, 10);
        Stamp(run, "numerics 7, avx1024");
        var (warnings, _) = Run(run, 15);
        var w = Assert.Single(warnings);
        Assert.Contains("numerics 7, avx1024", w);
        Assert.Contains(EngineEnvironment.Numerics, w);
        Assert.Equal($"numerics 7, avx1024 until step 10, then {EngineEnvironment.Numerics}", Recorded(run));

        // The history's last entry is what a further resume compares with: the same process numerics is silent now.
        var (again, _) = Run(run, 20);
        Assert.Empty(again);
        Assert.Equal($"numerics 7, avx1024 until step 10, then {EngineEnvironment.Numerics}", Recorded(run));
    }

    [Fact]
    public void ACheckpointFromBeforeTheRecordCountsAsLevelOne()
    {
        var run = Path.Combine(_root, "old");
        Run(run, 10);
        Stamp(run, null); // written by a binary that did not record numerics
        var (warnings, _) = Run(run, 15);
        if (Kernels.KernelOptions.Numerics == 1)
        {
            Assert.Empty(warnings);
            Assert.Null(TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(run)).Numerics);
        }
        else
        {
            Assert.Contains("numerics 1 (not recorded)", Assert.Single(warnings));
            Assert.Equal($"numerics 1 until step 10, then {EngineEnvironment.Numerics}", Recorded(run));
        }
    }

    private sealed class WarningLogger : ILogger<Trainer>
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning) Warnings.Add(formatter(state, exception));
        }
    }
}
