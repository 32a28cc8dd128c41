using Dicp.Data;
using Dicp.Environments;
using Dicp.IO;
using Dicp.Rl;
using Dicp.Tensors;
using Xunit;

namespace Dicp.Core.Tests.Data;

public sealed class HistoryTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dicp-history-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static HistoryCollectionOptions Small(string dir) =>
        new(dir, TaskIndices: [3, 38, 40, 80], Streams: 4, StepsPerStream: 40, Seed: 7, MaxParallelism: 1);

    private static TaskHistory Record(int task, int streams, int steps)
    {
        var tasks = new DarkroomTasks();
        var vec = new VectorEnvironment(_ => tasks.Create(task), streams);
        var ppo = new Ppo(vec[0].ObservationSpace, vec[0].ActionSpace, streams, seed: task);
        var info = new TaskHistoryInfo("darkroom", task, tasks.Describe(task), "ppo", "{}", task, streams, steps);
        var rec = new HistoryRecorder(info, 2, 1, recordOptimalActions: true);
        LockstepRunner.Run(ppo, vec, steps, task, rec.Record);
        return rec.ToHistory();
    }

    [Fact]
    public void RoundTripPreservesEverything()
    {
        var h = Record(38, 3, 45);
        var path = Path.Combine(_dir, "h.safetensors");
        h.Save(path);
        var back = TaskHistory.Read(path);
        Assert.True(h.ContentEquals(back));
        Assert.Equal([4, 2], back.Info.Task);
        Assert.Equal(2, back.ObservationSize);
        Assert.NotNull(back.OptimalActions);
    }

    [Fact]
    public void RecordsTrueTerminalObservationsAndEpisodeStructure()
    {
        var h = Record(80, 2, 45); // goal (8, 8), horizon 20
        const int T = 45;
        for (var s = 0; s < 2; s++)
            for (var t = 0; t < T; t++)
            {
                var k = s * T + t;
                Assert.Equal(t % 20 == 19 ? 1 : 0, h.Dones[k]);
                // next_states follow the action from states (never the reset cell (4,4) unless moved there).
                int x = (int)h.States[k * 2], y = (int)h.States[k * 2 + 1], a = (int)h.Actions[k];
                var (nx, ny) = a switch { 0 => (Math.Min(x + 1, 8), y), 1 => (Math.Max(x - 1, 0), y), 2 => (x, Math.Min(y + 1, 8)), 3 => (x, Math.Max(y - 1, 0)), _ => (x, y) };
                Assert.Equal(nx, (int)h.NextStates[k * 2]);
                Assert.Equal(ny, (int)h.NextStates[k * 2 + 1]);
                Assert.Equal(nx == 8 && ny == 8 ? 1f : 0f, h.Rewards[k]);
                if (t % 20 == 0) Assert.Equal([4f, 4f], h.State(s, t).ToArray());
                else Assert.Equal(h.NextStates.AsSpan((k - 1) * 2, 2).ToArray(), h.State(s, t).ToArray());
            }
    }

    [Fact]
    public void CorruptedFilesAreRejectedNamingFileAndField()
    {
        var path = Path.Combine(_dir, "h.safetensors");
        Record(5, 2, 20).Save(path);
        var bytes = File.ReadAllBytes(path);

        File.WriteAllBytes(path, bytes[..(bytes.Length - 10)]);
        var e = Assert.Throws<HistoryFormatException>(() => TaskHistory.Read(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);

        var f = SafeTensorsFile.Read(WriteBack(path, bytes));
        var w = new SafeTensorsWriter();
        foreach (var n in f.Names)
            if (n == HistoryFormat.Rewards) w.Add(n, new Tensor(new float[2 * 19], [2, 19]));
            else w.AddBytes(n, f.GetInfo(n).DType, f.GetBytes(n), f.GetInfo(n).Shape);
        foreach (var (k, v) in f.Metadata) w.SetMetadata(k, v);
        w.Save(path);
        e = Assert.Throws<HistoryFormatException>(() => TaskHistory.Read(path));
        Assert.Equal(HistoryFormat.Rewards, e.Field);
        Assert.Contains("[2, 19]", e.Message);

        w.SetMetadata("format_version", "99");
        w.Save(path);
        e = Assert.Throws<HistoryFormatException>(() => TaskHistory.Read(path));
        Assert.Equal("format_version", e.Field);
    }

    private static string WriteBack(string path, byte[] bytes)
    {
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public async Task CollectionWritesManifestAndValidFiles()
    {
        var events = new List<CollectionProgress>();
        var result = await new HistoryCollector(new DarkroomTasks(), Small(_dir)).RunAsync(new SyncProgress(events.Add));
        Assert.Equal([3, 38, 40, 80], result.Collected);
        Assert.Empty(result.Skipped);
        var m = HistoryManifest.Read(_dir);
        Assert.Equal("darkroom", m.Environment);
        Assert.Equal([38, 51, 62, 65, 33, 5, 53, 49], m.Split.Test);
        Assert.Equal(0, m.Split.Seed);
        Assert.Equal([4, 2], m.Tasks[1].Task);
        Assert.Equal(20, (int)m.Hyperparameters["n_steps"]!);
        var h = TaskHistory.Read(Path.Combine(_dir, HistoryFormat.TaskFileName(38)));
        Assert.Equal(7 + 38, h.Info.Seed);
        Assert.Equal(4, events.Count(p => p.Event == CollectionEvent.Completed));
        Assert.Contains(events, p => p.Event == CollectionEvent.Advanced && p.Steps == 20);

        var again = await new HistoryCollector(new DarkroomTasks(), Small(_dir)).RunAsync();
        Assert.Equal([3, 38, 40, 80], again.Skipped);
        await Assert.ThrowsAsync<InvalidOperationException>(() => new HistoryCollector(new DarkroomTasks(), Small(_dir) with { Seed = 8 }).RunAsync());
    }

    [Fact]
    public async Task InterruptedThenResumedCollectionEqualsUninterrupted()
    {
        var full = Path.Combine(_dir, "full");
        var resumed = Path.Combine(_dir, "resumed");
        await new HistoryCollector(new DarkroomTasks(), Small(full)).RunAsync();

        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(p => { if (p.Event == CollectionEvent.Completed && p.TasksFinished == 2) cts.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new HistoryCollector(new DarkroomTasks(), Small(resumed)).RunAsync(progress, cts.Token));
        var partial = Directory.GetFiles(resumed, "task-*.safetensors");
        Assert.Equal(2, partial.Length);
        Assert.Empty(Directory.GetFiles(resumed, "*.tmp*"));

        // Corrupt one finished file: resume must redo it, and skip the other.
        File.WriteAllBytes(partial[1], [1, 2, 3]);
        var r = await new HistoryCollector(new DarkroomTasks(), Small(resumed)).RunAsync();
        Assert.Single(r.Skipped);
        Assert.Equal(3, r.Collected.Count);

        foreach (var f in Directory.GetFiles(full).Select(Path.GetFileName).Order())
            Assert.Equal(File.ReadAllBytes(Path.Combine(full, f!)), File.ReadAllBytes(Path.Combine(resumed, f!)));
        Assert.Equal(Directory.GetFiles(full).Length, Directory.GetFiles(resumed).Length);
    }

    private sealed class SyncProgress(Action<CollectionProgress> report) : IProgress<CollectionProgress>
    {
        public void Report(CollectionProgress value) => report(value);
    }
}
