using System.Text.Json.Nodes;
using Dicp.Core.Tests.TestUtil;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Models;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Dicp.Core.Tests.Data;

/// <summary>Whole-dataset validation on open, the collector's directory checks, shards and the lock.</summary>
public sealed class DatasetValidationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dicp-validate-" + Guid.NewGuid().ToString("N"));
    private static readonly int[] Tasks = [24, 48, 26, 75];

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static readonly HistoryValueRules GridRules = HistoryValueRules.For(new ModelConfig(Dynamics: true), new DarkroomTasks().Create(0));

    private string Write()
    {
        SyntheticHistories.WriteDarkroom(_dir, Tasks, streams: 3, steps: 30, train: [24, 48, 26], test: [75]);
        return _dir;
    }

    private string FileOf(int task) => Path.Combine(_dir, HistoryFormat.TaskFileName(task));

    /// <summary>Rewrites task <paramref name="task"/>'s file after <paramref name="edit"/> changed its arrays or info.</summary>
    private void Rewrite(int task, Func<TaskHistory, TaskHistory> edit) => edit(TaskHistory.Read(FileOf(task))).Save(FileOf(task));

    private static TaskHistory With(TaskHistory h, TaskHistoryInfo? info = null) =>
        new(info ?? h.Info, h.ObservationSize, h.ActionSize, h.States, h.Actions, h.Rewards, h.NextStates, h.Dones, h.OptimalActions);

    [Fact]
    public void ACleanCollectionPassesEveryRule()
    {
        Write();
        using var d = HistoryDataset.Open(_dir, HistorySplit.All, values: GridRules);
        Assert.Equal(4, d.Tasks.Count);
        Assert.Equal(2, GridRules.RewardClasses);
        Assert.Equal(9, GridRules.GridSide);
    }

    [Theory]
    [InlineData("seed", "seed 99 (expected 26)")]
    [InlineData("streams", "streams 2 (expected 3)")]
    [InlineData("algorithm", "algorithm ppo (expected scripted)")]
    [InlineData("hyperparameters", "hyperparameters.lr 0.001 (expected (missing))")]
    [InlineData("task", "task [8,0] (expected [2,8])")]
    [InlineData("environment", "environment darkroom-permuted (expected darkroom)")]
    public void AFileOfAnotherCollectionIsRejectedNamingTheKey(string key, string expected)
    {
        Write();
        var h = TaskHistory.Read(FileOf(26));
        var info = key switch
        {
            "seed" => h.Info with { Seed = 99 },
            "streams" => h.Info with { Streams = 2 },
            "algorithm" => h.Info with { Algorithm = "ppo" },
            "hyperparameters" => h.Info with { HyperparametersJson = """{"lr":0.001}""" },
            "task" => h.Info with { Task = [8, 0] },
            _ => h.Info with { Environment = "darkroom-permuted" },
        };
        var n = info.Streams * info.StepsPerStream;
        new TaskHistory(info, 2, 1, h.States[..(2 * n)], h.Actions[..n], h.Rewards[..n], h.NextStates[..(2 * n)], h.Dones[..n], h.OptimalActions![..n])
            .Save(FileOf(26));
        var e = Assert.Throws<HistoryFormatException>(() => HistoryDataset.Open(_dir, HistorySplit.Train));
        Assert.Equal(FileOf(26), e.FilePath);
        Assert.Contains(expected, e.Message);
        Assert.Contains("mixes files of different collections", e.Message);
    }

    [Theory]
    [InlineData("states", 9f, "value 9 at stream 1, step 7, component 0 is not a cell coordinate of the 9 × 9 grid")]
    [InlineData("states-box", -1f, "value -1 at stream 1, step 7, component 0 is outside the environment's bounds [0, 8]")]
    [InlineData("next_states", 3.5f, "value 3.5 at stream 1, step 7, component 1 is not a cell coordinate")]
    [InlineData("actions", 5f, "value 5 at stream 1, step 7 is not an action of Discrete(5)")]
    [InlineData("rewards", 0.5f, "value 0.5 at stream 1, step 7 is not a reward class in [0, 2)")]
    public void AnOutOfRangeValueIsRejectedNamingFileFieldPositionAndValue(string field, float value, string expected)
    {
        Write();
        Rewrite(48, h =>
        {
            var k = 1 * 30 + 7;
            switch (field)
            {
                case "states": h.States[2 * k] = value; break;
                case "states-box": h.States[2 * k] = value; break;
                case "next_states": h.NextStates[2 * k + 1] = value; break;
                case "actions": h.Actions[k] = value; break;
                default: h.Rewards[k] = value; break;
            }
            return h;
        });
        // The default (finite values only) accepts finite out-of-range values; the model's and environment's rules do not.
        using (HistoryDataset.Open(_dir, HistorySplit.Train)) { }
        var rules = field == "states-box" ? HistoryValueRules.For(new DarkroomTasks().Create(0)) : GridRules;
        var e = Assert.Throws<HistoryFormatException>(() => HistoryDataset.Open(_dir, HistorySplit.Train, values: rules));
        Assert.Equal(FileOf(48), e.FilePath);
        Assert.Equal(field.Split('-')[0], e.Field);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    public void NonFiniteValuesAreRejectedByDefault(float value, string shown)
    {
        Write();
        Rewrite(75, h =>
        {
            h.NextStates[2 * (2 * 30 + 29)] = value;
            return h;
        });
        var e = Assert.Throws<HistoryFormatException>(() => HistoryDataset.Open(_dir, HistorySplit.Test));
        Assert.Equal(HistoryFormat.NextStates, e.Field);
        Assert.Contains($"value {shown} at stream 2, step 29, component 0 is not finite", e.Message);
        using (HistoryDataset.Open(_dir, HistorySplit.Test, values: HistoryValueRules.None)) { }
    }

    [Fact]
    public void AnOptimalActionOutsideTheActionSpaceIsRejected()
    {
        Write();
        Rewrite(24, h =>
        {
            h.OptimalActions![4] = 7;
            return h;
        });
        var e = Assert.Throws<HistoryFormatException>(() => HistoryDataset.Open(_dir, HistorySplit.Train, values: GridRules));
        Assert.Equal(HistoryFormat.OptimalActions, e.Field);
        Assert.Contains("value 7 at stream 0, step 4", e.Message);
    }

    [Fact]
    public void TheFirstBadFileInTaskOrderIsReported()
    {
        Write();
        foreach (var t in new[] { 26, 48 })
            Rewrite(t, h =>
            {
                h.Rewards[0] = float.NaN;
                return h;
            });
        // Train split order is 24, 48, 26: 48 comes first, whichever thread finished first.
        for (var i = 0; i < 5; i++)
            Assert.Equal(FileOf(48), Assert.Throws<HistoryFormatException>(() => HistoryDataset.Open(_dir, HistorySplit.Train)).FilePath);
    }

    [Fact]
    public void ManifestWithDuplicateOrForeignFileNamesIsRejected()
    {
        Write();
        var path = Path.Combine(_dir, HistoryFormat.ManifestFileName);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json["tasks"]![1]!["file"] = "../elsewhere.safetensors";
        File.WriteAllText(path, json.ToJsonString());
        var e = Assert.Throws<HistoryFormatException>(() => HistoryManifest.Read(_dir));
        Assert.Equal("tasks[1].file", e.Field);

        json["tasks"]![1]!["file"] = HistoryFormat.TaskFileName(24);
        json["tasks"]![1]!["index"] = 24;
        File.WriteAllText(path, json.ToJsonString());
        e = Assert.Throws<HistoryFormatException>(() => HistoryManifest.Read(_dir));
        Assert.Equal("tasks[1].index", e.Field);
        Assert.Contains("task 24 is listed twice", e.Message);
    }

    [Fact]
    public void RulesFromAContinuousModelUseTheEnvironmentsBox()
    {
        var r = HistoryValueRules.For(new ModelConfig(StateClasses: 0, ActionCount: 0, RewardClasses: 0, ObservationSize: 2, ActionSize: 2));
        Assert.Equal(0, r.GridSide);
        Assert.Null(r.ActionSpace);
        Assert.Equal(0, r.RewardClasses);
        Assert.True(r.Finite);
        Assert.Equal(0, HistoryValueRules.For(new ModelConfig(Dynamics: false)).RewardClasses); // plain AD feeds rewards as numbers
        Assert.Equal(2, HistoryValueRules.For(new ModelConfig(Model: "idt")).RewardClasses);
        var point = HistoryValueRules.For(new ModelConfig(StateClasses: 0, ActionCount: 0, RewardClasses: 0), new PointRobotTasks().Create(0));
        Assert.IsType<BoxSpace>(point.ActionSpace);
    }

    [Fact]
    public void ShardsAreDisjointAndCoverTheTasks()
    {
        int[] all = [0, 2, 3, 5, 8, 9, 10];
        var parts = Enumerable.Range(0, 3).Select(i => new CollectionShard(i, 3).Select(all)).ToArray();
        Assert.Equal([0, 5, 10], parts[0]);
        Assert.Equal([2, 8], parts[1]);
        Assert.Equal([3, 9], parts[2]);
        Assert.Equal(new CollectionShard(2, 3), CollectionShard.Parse("2/3"));
        foreach (var bad in new[] { "3/3", "-1/3", "1/0", "1", "a/b", "1/2/3" })
            Assert.Throws<ArgumentException>(() => CollectionShard.Parse(bad));
    }

    private static HistoryCollectionOptions Small(string dir) => new(dir, TaskIndices: [3, 38, 40, 80], Streams: 2, StepsPerStream: 40, Seed: 7, MaxParallelism: 1);

    [Fact]
    public async Task CollectorsOfDisjointShardsInOneDirectoryEqualOneCollector()
    {
        var one = Path.Combine(_dir, "one");
        var many = Path.Combine(_dir, "many");
        await new HistoryCollector(new DarkroomTasks(), Small(one)).RunAsync();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Task.Run(() =>
            new HistoryCollector(new DarkroomTasks(), Small(many) with { Shard = new CollectionShard(i, 3) }).RunAsync())));
        var names = Directory.GetFiles(one).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(names, Directory.GetFiles(many).Select(Path.GetFileName).Order().ToArray());
        Assert.Contains(HistoryCollector.CollectionLockFileName, names);
        foreach (var f in names) Assert.Equal(File.ReadAllBytes(Path.Combine(one, f!)), File.ReadAllBytes(Path.Combine(many, f!)));
        // An empty shard (more shards than tasks) does nothing and succeeds.
        var r = await new HistoryCollector(new DarkroomTasks(), Small(many) with { Shard = new CollectionShard(5, 6) }).RunAsync();
        Assert.Empty(r.Collected);
    }

    [Fact]
    public async Task ACollectorWithOtherSettingsFailsBeforeAnyWorkNamingThem()
    {
        await new HistoryCollector(new DarkroomTasks(), Small(_dir) with { TaskIndices = [3] }).RunAsync();
        var before = Directory.GetFiles(_dir).Order().ToArray();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new HistoryCollector(new DarkroomTasks(), Small(_dir) with { Streams = 3, Seed = 1 }).RunAsync());
        Assert.Contains("seed 7 in the directory, 1 requested", e.Message);
        Assert.Contains("streams 2 in the directory, 3 requested", e.Message);
        Assert.Equal(before, Directory.GetFiles(_dir).Order().ToArray());
        Assert.Single(HistoryManifest.Read(_dir).Tasks);

        // A task file of other settings without a manifest: also refused up front, naming the key.
        File.Delete(Path.Combine(_dir, HistoryFormat.ManifestFileName));
        e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new HistoryCollector(new DarkroomTasks(), Small(_dir) with { Seed = 1 }).RunAsync());
        Assert.Contains("seed 10 (expected 4)", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, HistoryFormat.TaskFileName(38))));
    }

    [Fact]
    public async Task StaleTemporariesAreRemovedAndCorruptFilesReported()
    {
        Directory.CreateDirectory(_dir);
        var stale = Path.Combine(_dir, $".{HistoryFormat.TaskFileName(40)}.{Guid.NewGuid():N}.tmp");
        var foreign = Path.Combine(_dir, $".{HistoryFormat.TaskFileName(41)}.{Guid.NewGuid():N}.tmp"); // another shard's task: kept
        File.WriteAllBytes(stale, []);
        File.WriteAllBytes(foreign, []);
        File.WriteAllBytes(Path.Combine(_dir, HistoryFormat.TaskFileName(38)), [1, 2, 3]);
        var log = new ListLogger();
        var r = await new HistoryCollector(new DarkroomTasks(), Small(_dir), log).RunAsync();
        Assert.Equal([3, 38, 40, 80], r.Collected);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(foreign));
        Assert.Contains(log.Warnings, w => w.Contains("Task 38: existing file is invalid, collected again", StringComparison.Ordinal));
        Assert.Contains(log.Warnings, w => w.Contains(stale, StringComparison.Ordinal));
    }

    [Fact]
    public async Task CancellationCarriesTheFinishedTasks()
    {
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(p => { if (p.Event == CollectionEvent.Completed && p.TasksFinished == 2) cts.Cancel(); });
        var e = await Assert.ThrowsAsync<CollectionCanceledException>(() => new HistoryCollector(new DarkroomTasks(), Small(_dir)).RunAsync(progress, cts.Token));
        Assert.Equal([3, 38], e.Partial.Collected);
        Assert.Equal(2, Directory.GetFiles(_dir, "task-*.safetensors").Length);
    }

    private sealed class SyncProgress(Action<CollectionProgress> report) : IProgress<CollectionProgress>
    {
        public void Report(CollectionProgress value) => report(value);
    }

    /// <summary>Collects warnings of every category.</summary>
    private sealed class ListLogger : ILoggerFactory, ILogger
    {
        public List<string> Warnings { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider) { }

        public void Dispose() { }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning)
                lock (Warnings) Warnings.Add(formatter(state, exception));
        }
    }
}
