using Dicp.Core.Tests.TestUtil;
using Dicp.Environments;
using Dicp.Data;
using Xunit;

namespace Dicp.Cli.Tests;

/// <summary>
/// <c>dicp collect</c> as a user runs it (the real process): shards written concurrently into one directory, settings
/// that disagree with the directory, signals and <c>kill -9</c> followed by a rerun, and every user error as one line
/// with exit code 2. Also the dataset validation that <c>dicp train</c> runs when it opens a history directory.
/// </summary>
public sealed class CollectProcessTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dicp-collect-" + Guid.NewGuid().ToString("N"));

    public CollectProcessTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private string Dir(string name) => Path.Combine(_root, name);

    private static string[] Collect(string dir, params string[] more) =>
        ["collect", "--env", "darkroom", "--out", dir, .. more];

    private static readonly string[] Small = ["--tasks", "0-11", "--streams", "2", "--steps-per-stream", "40", "--parallel", "1"];

    /// <summary>Long enough per task (≈ 0.5–2 s) to signal a run between tasks; eight tasks leave the test six tasks of margin after task 1 is written.</summary>
    private static readonly string[] Slow = ["--tasks", "0-7", "--streams", "4", "--steps-per-stream", "300", "--parallel", "1"];

    /// <summary>
    /// Waits until task 1's file exists in <paramref name="dir"/> (it appears by an atomic rename, so it is whole). The file system,
    /// not standard output, is watched: on a loaded machine the asynchronous output reader can lag seconds behind the process.
    /// </summary>
    private static void WaitForTaskOne(DicpProcess p, string dir)
    {
        var file = Path.Combine(dir, HistoryFormat.TaskFileName(1));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(file))
        {
            Assert.False(p.HasExited, $"the run ended before it could be signalled:\n{p.Stdout}");
            Assert.True(watch.Elapsed < TimeSpan.FromMinutes(3), $"task 1 not written after 3 minutes:\n{p.Stdout}");
            Thread.Sleep(5);
        }
    }

    /// <summary>Every file of two directories (hidden ones included) is byte-identical.</summary>
    private static void AssertSameFiles(string expected, string actual)
    {
        var names = Directory.GetFiles(expected).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(names, Directory.GetFiles(actual).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        foreach (var n in names)
            Assert.True(File.ReadAllBytes(Path.Combine(expected, n!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, n!))), $"{n} differs");
    }

    private static void AssertOneLineError(int code, string stderr, string because)
    {
        Assert.True(code == 2, $"{because}: exit code {code}, stderr: {stderr}");
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"{because}: expected one line, got:\n{stderr}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void FourProcessesCollectingDisjointShardsEqualOneProcessByteForByte()
    {
        var one = DicpProcess.Run(_root, Collect(Dir("one"), Small));
        Assert.True(one.Code == 0, one.Stderr);

        var shards = Enumerable.Range(0, 4).Select(i => new DicpProcess(_root, Collect(Dir("many"), [.. Small, "--shard", $"{i}/4"]))).ToArray();
        var results = shards.Select(p => p.Wait()).ToArray();
        foreach (var p in shards) p.Dispose();
        foreach (var r in results) Assert.True(r.Code == 0, r.Stderr);
        Assert.Contains("collected 3, skipped 0", results[2].Stdout);

        AssertSameFiles(Dir("one"), Dir("many"));
        using var data = HistoryDataset.Open(Dir("many"), HistorySplit.All);
        Assert.Equal(12, data.Tasks.Count);
    }

    [Fact]
    public void AnotherSplitOfTheSameHistoriesLinksTheValidTaskFilesCollectsTheRestAndEqualsAFreshCollection()
    {
        string[] args = ["--streams", "2", "--steps-per-stream", "20", "--parallel", "1"];
        Assert.Equal(0, DicpProcess.Run(_root, Collect(Dir("split0"), ["--tasks", "0-3", .. args])).Code);

        // Another split of the same histories: every file linked, none collected, only the manifest written.
        var r = DicpProcess.Run(_root, Collect(Dir("split3"), ["--tasks", "0-3", .. args, "--split-seed", "3", "--histories-from", Dir("split0")]));
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Contains("collected 0, skipped 4", r.Stdout);
        Assert.Contains($"(4 reused from '{Dir("split0")}': 4 linked, 0 copied)", r.Stdout);
        var (train, test) = TaskSplit.Split(81, 3, 0.9);
        var m0 = HistoryManifest.Read(Dir("split0"));
        var m3 = HistoryManifest.Read(Dir("split3"));
        Assert.Equal(0, m0.Split.Seed);
        Assert.Equal(3, m3.Split.Seed);
        Assert.Equal(train, m3.Split.Train);
        Assert.Equal(test, m3.Split.Test);
        Assert.NotEqual(m0.Split.Test, m3.Split.Test);
        Assert.Equal(0, DicpProcess.Run(_root, Collect(Dir("fresh3"), ["--tasks", "0-3", .. args, "--split-seed", "3"])).Code);
        AssertSameFiles(Dir("fresh3"), Dir("split3"));

        // A source that holds only some tasks, one of them cut short: the valid ones are linked, the rest collected, and
        // the result equals a fresh collection of all six tasks.
        Directory.CreateDirectory(Dir("partial"));
        foreach (var i in new[] { 0, 1, 2 })
            File.Copy(Path.Combine(Dir("split0"), HistoryFormat.TaskFileName(i)), Path.Combine(Dir("partial"), HistoryFormat.TaskFileName(i)));
        var cut = Path.Combine(Dir("partial"), HistoryFormat.TaskFileName(1));
        File.WriteAllBytes(cut, File.ReadAllBytes(cut)[..1000]);
        r = DicpProcess.Run(_root, Collect(Dir("six"), ["--tasks", "0-5", .. args, "--split-seed", "3", "--histories-from", Dir("partial")]));
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Contains("collected 4, skipped 2", r.Stdout);
        Assert.Contains($"Task 1: existing file is invalid, not reused from '{Dir("partial")}'", r.Stderr);
        Assert.Equal(0, DicpProcess.Run(_root, Collect(Dir("fresh6"), ["--tasks", "0-5", .. args, "--split-seed", "3"])).Code);
        AssertSameFiles(Dir("fresh6"), Dir("six"));
        Assert.Equal(1000, new FileInfo(cut).Length); // the source is never written
    }

    [Fact]
    public void ConcurrentCollectorsWithOtherSettingsCannotMixAndTheLoserNamesTheSetting()
    {
        var a = new DicpProcess(_root, Collect(Dir("d"), "--tasks", "0-3", "--streams", "2", "--steps-per-stream", "40", "--parallel", "1"));
        var b = new DicpProcess(_root, Collect(Dir("d"), "--tasks", "4-7", "--streams", "3", "--steps-per-stream", "40", "--parallel", "1"));
        var (ra, rb) = (a.Wait(), b.Wait());
        a.Dispose();
        b.Dispose();
        Assert.Equal([0, 2], new[] { ra.Code, rb.Code }.Order());
        var loser = ra.Code == 2 ? ra : rb;
        AssertOneLineError(loser.Code, loser.Stderr, "settings differ");
        Assert.Contains("streams", loser.Stderr);
        Assert.Contains("in the directory", loser.Stderr);
        // The manifest agrees with every file it lists.
        using var data = HistoryDataset.Open(Dir("d"), HistorySplit.All);
        Assert.Equal(4, data.Tasks.Count);
    }

    [Fact]
    public void EveryUserErrorIsOneLineAndExitCode2()
    {
        var good = Dir("good");
        Assert.Equal(0, DicpProcess.Run(_root, Collect(good, "--tasks", "0-1", "--streams", "2", "--steps-per-stream", "20")).Code);
        var file = Path.Combine(_root, "a-file");
        File.WriteAllText(file, "x");
        var taskDir = Dir("taskdir");
        Directory.CreateDirectory(Path.Combine(taskDir, HistoryFormat.TaskFileName(1)));
        var badManifest = Dir("badmanifest");
        Directory.CreateDirectory(badManifest);
        File.WriteAllText(Path.Combine(badManifest, HistoryFormat.ManifestFileName), "{");
        var cases = new (string Because, string[] Args, string Names)[]
        {
            ("tasks not a number", Collect(Dir("x"), "--tasks", "1,x"), "--tasks"),
            ("task out of range", Collect(Dir("x"), "--tasks", "81"), "Task index 81"),
            ("empty task range", Collect(Dir("x"), "--tasks", "5-2"), "--tasks"),
            ("shard out of range", Collect(Dir("x"), "--shard", "4/4"), "--shard"),
            ("zero streams", Collect(Dir("x"), "--streams", "0"), "--streams"),
            ("train ratio of 1", Collect(Dir("x"), "--train-ratio", "1"), "--train-ratio"),
            ("other split seed", Collect(good, "--tasks", "0-1", "--streams", "2", "--steps-per-stream", "20", "--split-seed", "2"), "split.seed"),
            ("missing --out", ["collect", "--env", "darkroom"], "--out"),
            ("unknown environment", ["collect", "--env", "darkrum", "--out", Dir("x")], "darkrum"),
            ("--out is a file", Collect(file), "a-file"),
            ("other seed", Collect(good, "--tasks", "0-1", "--streams", "2", "--steps-per-stream", "20", "--seed", "1"), "seed 0 in the directory, 1 requested"),
            ("a directory where a task file belongs", Collect(taskDir, "--tasks", "0-1", "--streams", "2", "--steps-per-stream", "20"), HistoryFormat.TaskFileName(1)),
            ("corrupt manifest", Collect(badManifest, "--tasks", "0", "--streams", "2", "--steps-per-stream", "20"), HistoryFormat.ManifestFileName),
            ("missing histories directory", Collect(Dir("x"), "--histories-from", Dir("nowhere")), "nowhere"),
            ("histories from the output itself", Collect(good, "--tasks", "0-1", "--streams", "2", "--steps-per-stream", "20", "--histories-from", good), "output directory itself"),
            ("histories of other settings", Collect(Dir("y"), "--tasks", "0-1", "--streams", "2", "--steps-per-stream", "40", "--histories-from", good),
                Path.Combine(good, HistoryFormat.TaskFileName(0))),
        };
        foreach (var (because, args, names) in cases)
        {
            var r = DicpProcess.Run(_root, args);
            AssertOneLineError(r.Code, r.Stderr, because);
            Assert.True(r.Stderr.Contains(names, StringComparison.Ordinal), $"{because}: '{r.Stderr}' does not name {names}");
        }
        Assert.False(Directory.Exists(Dir("x")), "a refused run created its output directory");
        Assert.False(File.Exists(Path.Combine(taskDir, HistoryFormat.TaskFileName(0))), "work started before the inputs were checked");
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void ASignalKeepsTheFinishedTasksAndARerunResumesBitIdentically(string signal)
    {
        Assert.Equal(0, DicpProcess.Run(_root, Collect(Dir("reference"), Slow)).Code);
        using (var p = new DicpProcess(_root, Collect(Dir("run"), Slow)))
        {
            WaitForTaskOne(p, Dir("run"));
            p.Signal(signal);
            var r = p.Wait();
            var expected = signal == "TERM" ? 143 : 130; // 128 + the signal's number
            Assert.True(r.Code == expected, $"exit code {r.Code}: {r.Stderr}");
            var m = System.Text.RegularExpressions.Regex.Match(r.Stderr, @"cancelled: kept (\d) finished task\(s\) in '.*' \(tasks 0-(\d); (\d) collected by this run\), (\d) not finished; run the same command again to resume\.");
            Assert.True(m.Success, r.Stderr);
            int kept = int.Parse(m.Groups[1].Value), last = int.Parse(m.Groups[2].Value), collected = int.Parse(m.Groups[3].Value), left = int.Parse(m.Groups[4].Value);
            Assert.True(kept >= 2 && kept < 8 && last == kept - 1 && collected == kept && left == 8 - kept, r.Stderr);
        }
        Assert.Empty(Directory.GetFiles(Dir("run"), "*.tmp"));
        var again = DicpProcess.Run(_root, Collect(Dir("run"), Slow));
        Assert.True(again.Code == 0, again.Stderr);
        Assert.Contains("task 0: exists, skipped", again.Stdout);
        AssertSameFiles(Dir("reference"), Dir("run"));
    }

    [Fact]
    public void KillNineThenRerunRemovesDebrisRedoesCorruptFilesAndEqualsAnUninterruptedRun()
    {
        Assert.Equal(0, DicpProcess.Run(_root, Collect(Dir("reference"), Slow)).Code);
        using (var p = new DicpProcess(_root, Collect(Dir("run"), Slow)))
        {
            WaitForTaskOne(p, Dir("run"));
            p.Signal("KILL");
            Assert.Equal(137, p.Wait().Code);
        }
        // What a kill during a write leaves: an empty temporary file. And a task file cut short.
        var stale = Path.Combine(Dir("run"), $".{HistoryFormat.TaskFileName(3)}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(stale, []);
        var first = Path.Combine(Dir("run"), HistoryFormat.TaskFileName(0));
        File.WriteAllBytes(first, File.ReadAllBytes(first)[..1000]);

        var again = DicpProcess.Run(_root, Collect(Dir("run"), Slow));
        Assert.True(again.Code == 0, again.Stderr);
        Assert.Contains("Task 0: existing file is invalid, collected again", again.Stderr);
        Assert.Contains("task 1: exists, skipped", again.Stdout);
        Assert.Contains(stale, again.Stderr);
        Assert.Empty(Directory.GetFiles(Dir("run"), "*.tmp"));
        AssertSameFiles(Dir("reference"), Dir("run"));
    }

    private const string TrainYaml = """
        model:
          model: ad
          dynamics: true
          n_transit: 10
          embedding_dim: 8
          layers: 1
          heads: 1
          inner: 16
        data:
          environment: darkroom
          streams: 4
          steps_per_stream: 100
        training:
          steps: 2
          batch_size: 4
          log_interval: 1
          eval_interval: 2
          test_windows: 4
          checkpoint_interval: 2
        evaluation:
          episodes: 1
          max_tasks: 1
        """;

    [Theory]
    [InlineData("off-grid", "field 'states': value 9 at stream 1, step 3, component 1 is not a cell coordinate of the 9 × 9 grid")]
    [InlineData("reward", "field 'rewards': value 0.5 at stream 2, step 50 is not a reward class in [0, 2)")]
    [InlineData("nan", "field 'next_states': value NaN at stream 0, step 99, component 0 is not finite")]
    [InlineData("mixed", "its metadata disagrees with")]
    public void TrainRefusesADatasetWithBadValuesOrMixedFilesNamingFileFieldIndexAndValue(string defect, string expected)
    {
        var data = Dir("data");
        SyntheticHistories.WriteDarkroom(data, [24, 48, 26, 75, 38, 51], streams: 4, steps: 100, [24, 48, 26, 75], [38, 51]);
        var path = Path.Combine(data, HistoryFormat.TaskFileName(26));
        var h = TaskHistory.Read(path);
        switch (defect)
        {
            case "off-grid": h.States[2 * (1 * 100 + 3) + 1] = 9; break;
            case "reward": h.Rewards[2 * 100 + 50] = 0.5f; break;
            case "nan": h.NextStates[2 * 99] = float.NaN; break;
            default: h = new TaskHistory(h.Info with { Seed = 5 }, 2, 1, h.States, h.Actions, h.Rewards, h.NextStates, h.Dones, h.OptimalActions); break;
        }
        h.Save(path);
        var config = Path.Combine(_root, "c.yaml");
        File.WriteAllText(config, TrainYaml);
        var r = DicpProcess.Run(_root, "train", "--config", config, "--data", data, "--out", Dir("run"));
        AssertOneLineError(r.Code, r.Stderr, defect);
        Assert.Contains(path, r.Stderr);
        Assert.Contains(expected, r.Stderr);
        Assert.DoesNotContain("learning rate", r.Stderr);
    }
}
