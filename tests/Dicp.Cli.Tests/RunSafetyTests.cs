using System.Text.Json;
using System.Text.Json.Nodes;
using Dicp.Core.Tests.TestUtil;
using Dicp.Environments;
using Dicp.Metrics;
using Dicp.Training;
using Xunit;
using Xunit.Abstractions;

namespace Dicp.Cli.Tests;

/// <summary>
/// Issue 14, run side, driven through the real <c>dicp</c> process: a run directory's model and data cannot be changed
/// by a rerun (1), the split must be the data's and evaluation uses the trained one (2), weights load only into their own
/// model configuration (5), SIGINT / SIGTERM / kill -9 and a rerun reproduce the uninterrupted run byte for byte (7),
/// user errors are one line with exit code 2 (8), TensorBoard events are not duplicated by a resume and a planner that
/// would never plan is refused (9), and a run directory of an earlier Dicp is adopted on its first rerun.
/// </summary>
public sealed class RunSafetyTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = CreateRoot();

    private static string CreateRoot()
    {
        var root = Path.Combine(Path.GetTempPath(), "dicp-runsafety-" + Guid.NewGuid().ToString("N"));
        // Darkroom histories of a scripted learner; the manifest's split is seed 0, ratio 0.9 (test goals 38 and 51 first).
        SyntheticHistories.WriteDarkroom(Path.Combine(root, "data"), [24, 48, 26, 75, 38, 51], streams: 4, steps: 100, [24, 48, 26, 75], [38, 51]);
        return root;
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static string Yaml(int heads = 2, int embedding = 16, int nTransit = 6, int steps = 20, string data = "", int checkpointInterval = 10) => $"""
        model:
          model: ad
          dynamics: true
          n_transit: {nTransit}
          embedding_dim: {embedding}
          layers: 1
          heads: {heads}
          inner: 32
        data:
          environment: darkroom
          streams: 4
          steps_per_stream: 100
        {data}
        training:
          steps: {steps}
          batch_size: 8
          log_interval: 10
          eval_interval: 50
          test_windows: 8
          checkpoint_interval: {checkpointInterval}
        evaluation:
          episodes: 2
          max_tasks: 2
        planner:
          name: beam
          beam_k: 4
          horizon: 2
        """;

    private string Config(string name, string yaml)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    private (int Code, string Stdout, string Stderr) Dicp(params string[] args)
    {
        var r = DicpProcess.Run(_root, args);
        output.WriteLine($"$ dicp {string.Join(' ', args)}  → {r.Code}\n{r.Stdout}{r.Stderr}");
        return r;
    }

    /// <summary>Exit code 2 and exactly one line on stderr that contains every fragment, no stack trace.</summary>
    private void AssertUserError((int Code, string Stdout, string Stderr) r, params string[] fragments)
    {
        Assert.True(r.Code == 2, $"exit code {r.Code}, expected 2:\n{r.Stdout}{r.Stderr}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr:\n{r.Stderr}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr + r.Stdout);
        foreach (var f in fragments) Assert.Contains(f, lines[0]);
    }

    private string Train(string config, string run, params string[] extra)
    {
        var r = Dicp(["train", "--config", config, "--data", "data", "--out", run, "-q", .. extra]);
        Assert.True(r.Code == 0, r.Stderr);
        return r.Stderr;
    }

    /// <summary>Every file of a directory but the run's lock file (empty; unreadable to .NET while a lock holds it).</summary>
    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != RunDirectoryLock.FileName)
            .ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    [Fact]
    public void Case8_Bf16PrecisionNeedsTheTorchSharpBackend()
    {
        AssertUserError(Dicp("train", "--config", Config("p.yaml", Yaml()), "--data", "data", "--out", "run", "--precision", "bf16"),
            "--precision bf16", "--backend torchsharp");
        Assert.False(Directory.Exists(Path.Combine(_root, "run")));
    }

    [Theory]
    [InlineData("DICP_NUMERICS", "3")]
    [InlineData("DICP_NUMERICS", "two")]
    [InlineData("DICP_ATTENTION_BUDGET_MB", "-1")]
    public void Case8_ABadEngineEnvironmentVariableIsOneLineBeforeAnyWork(string variable, string value)
    {
        var r = DicpProcess.Run(new Dictionary<string, string> { [variable] = value }, _root,
            "train", "--config", Config("e.yaml", Yaml()), "--data", "data", "--out", "run-env");
        AssertUserError(r, variable, $"'{value}'");
        Assert.False(Directory.Exists(Path.Combine(_root, "run-env")));
    }

    [Fact]
    public void Case1And5_ARerunWithAnotherModelIsRefusedAndWeightsLoadOnlyIntoTheirOwnConfig()
    {
        var config = Config("a.yaml", Yaml());
        Train(config, "run");
        var before = Snapshot(Path.Combine(_root, "run"));
        Assert.True(before.ContainsKey(RunIdentity.FileName));

        // Same parameter shapes (heads 2 → 4): refused, nothing in the run directory changes.
        AssertUserError(Dicp("train", "--config", Config("heads.yaml", Yaml(heads: 4)), "--data", "data", "--out", "run"), "model.heads 2 → 4", RunIdentity.FileName);
        // Another shape: refused before anything is touched (before, the config was overwritten and train crashed).
        AssertUserError(Dicp("train", "--config", Config("wide.yaml", Yaml(embedding: 32)), "--data", "data", "--out", "run"), "model.embedding_dim 16 → 32");
        var after = Snapshot(Path.Combine(_root, "run"));
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (k, v) in before) Assert.True(v.AsSpan().SequenceEqual(after[k]), $"{k} changed");

        // The run still evaluates as trained.
        Assert.Equal(0, Dicp("evaluate", "--run", "run", "--out", "r.json", "-q").Code);

        // Case 5: weights of another configuration with the same shapes are refused on load, naming the key.
        Train(Config("b.yaml", Yaml(heads: 4)), "other");
        File.Copy(Path.Combine(_root, "other", Trainer.ModelFileName), Path.Combine(_root, "run", Trainer.ModelFileName), overwrite: true);
        AssertUserError(Dicp("evaluate", "--run", "run", "--out", "r.json"), "model.safetensors", "heads 4 → 2");

        // A hand-edited run-config.json cannot change the model the run is evaluated as.
        var runConfig = Path.Combine(_root, "run", RunConfig.FileName);
        File.WriteAllText(runConfig, File.ReadAllText(runConfig).Replace("\"heads\": 2", "\"heads\": 4", StringComparison.Ordinal));
        AssertUserError(Dicp("evaluate", "--run", "run", "--out", "r.json"), "model.heads 2 → 4");
    }

    [Fact]
    public void Case2_TheSplitMustBeTheDatasAndEvaluationUsesTheTrainedSplit()
    {
        AssertUserError(Dicp("train", "--config", Config("s3.yaml", Yaml(data: "  split_seed: 3")), "--data", "data", "--out", "run"),
            "data.split_seed is 3", "split with seed 0", "manifest.json");
        AssertUserError(Dicp("train", "--config", Config("r8.yaml", Yaml(data: "  train_ratio: 0.8")), "--data", "data", "--out", "run"),
            "data.train_ratio is 0.8", "ratio 0.9");
        Assert.False(Directory.Exists(Path.Combine(_root, "run", "tensorboard")));

        Train(Config("a.yaml", Yaml()), "run");
        // Someone edits the stored split: evaluation still holds out the goals the model did not train on.
        var runConfig = Path.Combine(_root, "run", RunConfig.FileName);
        var json = JsonNode.Parse(File.ReadAllText(runConfig))!;
        json["data"]!["split_seed"] = 3;
        File.WriteAllText(runConfig, json.ToJsonString());
        var r = Dicp("evaluate", "--run", "run", "--planner", "none", "--out", "r.json", "-q");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "r.json")));
        var tasks = new DarkroomTasks();
        Assert.Equal(tasks.Split(0, 0.9).Test.Take(2), doc.RootElement.GetProperty("task_indices").EnumerateArray().Select(x => x.GetInt32()));
        Assert.NotEqual(tasks.Split(3, 0.9).Test.Take(2), tasks.Split(0, 0.9).Test.Take(2));
        Assert.Equal(0, doc.RootElement.GetProperty("split_seed").GetInt32());
    }

    [Fact]
    public void Case7_SigintSigtermAndKill9ThenARerunReproduceTheUninterruptedRunByteForByte()
    {
        const int steps = 1500;
        var config = Config("a.yaml", Yaml(steps: steps, checkpointInterval: 50));
        Train(config, "reference");
        var run = Path.Combine(_root, "run");
        var checkpoint = TrainingCheckpoint.PathIn(run);
        var metrics = Path.Combine(run, Trainer.MetricsFileName);
        int Rows() => File.Exists(metrics) ? File.ReadAllLines(metrics).Length : 0;
        string[] args = ["train", "--config", config, "--data", "data", "--out", "run", "-q"];

        // SIGINT once metric rows are being written: checkpoint at the cancel point, one line saying so, exit code 130.
        int kept;
        using (var p = new DicpProcess(_root, args))
        {
            p.WaitUntil(() => Rows() >= 3, "metric rows");
            p.Signal(2);
            Assert.Equal(130, p.WaitForExit());
            output.WriteLine(p.Stderr);
            kept = TrainingCheckpoint.Read(checkpoint).Step;
            Assert.Contains($"kept the checkpoint of step {kept}", p.Stderr);
            Assert.InRange(kept, 20, steps - 1);
            Assert.Equal(kept / 10 + 1, Rows()); // header + the rows up to the kept step
        }
        // SIGTERM: the same, exit code 143.
        using (var p = new DicpProcess(_root, args))
        {
            p.WaitUntil(() => Rows() >= kept / 10 + 3, "new metric rows");
            p.Signal(15);
            Assert.Equal(143, p.WaitForExit());
            var step = TrainingCheckpoint.Read(checkpoint).Step;
            Assert.True(step > kept, $"checkpoint step {step} after SIGTERM, {kept} before");
            Assert.Contains($"kept the checkpoint of step {step}", p.Stderr);
            kept = step;
        }
        // kill -9 after a periodic checkpoint and further rows: no chance to clean up.
        using (var p = new DicpProcess(_root, args))
        {
            p.WaitUntil(() => TrainingCheckpoint.Read(checkpoint).Step > kept && Rows() > TrainingCheckpoint.Read(checkpoint).Step / 10 + 2, "a new checkpoint");
            p.Signal(9);
            Assert.Equal(137, p.WaitForExit());
        }
        Assert.True(TrainingCheckpoint.Read(checkpoint).Step < steps);
        Train(config, "run");

        foreach (var file in new[] { Trainer.ModelFileName, Trainer.MetricsFileName, TrainingCheckpoint.FileName, RunConfig.FileName, RunIdentity.FileName })
            Assert.True(File.ReadAllBytes(Path.Combine(_root, "reference", file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(run, file))), $"{file} differs");

        // Point 9: one TensorBoard event file, every step once, the same scalars as the uninterrupted run.
        static (long Step, bool Scalar)[] Events(string dir) =>
            [.. TensorBoardEventFile.Read(Assert.Single(Directory.GetFiles(Path.Combine(dir, TrainCommand.TensorBoardFolder)))).Select(r => (r.Step, r.IsScalar))];
        var reference = Events(Path.Combine(_root, "reference"));
        Assert.Equal(reference, Events(run));
        var scalarSteps = reference.Where(e => e.Scalar).Select(e => e.Step).Distinct().ToArray();
        Assert.Equal(Enumerable.Range(1, steps / 10).Select(i => (long)i * 10), scalarSteps);
    }

    [Fact]
    public void Case7_EvaluateAndQuickstartStopOnSigintAndKeepWhatIsFinished()
    {
        Train(Config("a.yaml", Yaml()), "run");
        using (var p = new DicpProcess(_root, "evaluate", "--run", "run", "--planner", "none", "--episodes", "100000", "--out", "r.json"))
        {
            p.WaitUntil(() => p.Stdout.Contains("episodes, planner"), "the evaluation's first line");
            Thread.Sleep(200);
            p.Signal(2);
            Assert.Equal(130, p.WaitForExit());
            Assert.Contains("interrupted: no results were written", p.Stderr);
            Assert.False(File.Exists(Path.Combine(_root, "r.json")));
        }

        string[] quickstart = ["quickstart", "--out", "qs", "--steps", "30", "--episodes", "4", "--streams", "4", "--steps-per-stream", "100", "--train-tasks", "3", "-q"];
        var data = Path.Combine(_root, "qs", "data");
        using (var p = new DicpProcess(_root, quickstart))
        {
            p.WaitUntil(() => Directory.Exists(data) && Directory.GetFiles(data, "task-*.safetensors").Length >= 1, "a finished history file");
            p.Signal(2);
            Assert.Equal(130, p.WaitForExit());
            Assert.Contains("interrupted: kept ", p.Stderr);
            Assert.Contains("run the same command again to resume", p.Stderr);
        }
        var finished = Directory.GetFiles(data, "task-*.safetensors").Length;
        Assert.InRange(finished, 1, 11);
        var r = Dicp(quickstart);
        Assert.Equal(0, r.Code);
        Assert.Equal(11, Directory.GetFiles(data, "task-*.safetensors").Length);
        Assert.True(File.Exists(Path.Combine(_root, "qs", "results-beam.json")));
    }

    [Fact]
    public void Case10_ASecondTrainingOfARunDirectoryIsRefusedWhileAnotherProcessTrainsIt()
    {
        var config = Config("a.yaml", Yaml());
        Train(config, "run");
        var run = Path.Combine(_root, "run");
        var before = Snapshot(run);
        Assert.Equal("done", Status("run")["state"]!.GetValue<string>());
        using (RunDirectoryLock.Acquire(run))
        {
            // This test process holds the lock, as a running dicp train would: the second trainer writes nothing.
            AssertUserError(Dicp("train", "--config", config, "--data", "data", "--out", "run", "--steps", "30"),
                "'run' is in use", Path.Combine("run", RunDirectoryLock.FileName));
            Assert.Equal(before, Snapshot(run));
            // dicp status sees the holder (and its probe does not disturb it).
            Assert.Equal("training", Status("run")["state"]!.GetValue<string>());
            Assert.True(RunDirectoryLock.IsInUse(run));
            // Reading the run is not training it: evaluation goes on.
            Assert.Equal(0, Dicp("evaluate", "--run", "run", "--episodes", "1", "--planner", "none", "--out", "r.json", "-q").Code);
        }
        // Released (as when the first process ends, however it ends): the same command resumes the run.
        Train(config, "run", "--steps", "30");
        Assert.Equal(30, TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(run)).Step);
    }

    [Fact]
    public void Case10_StatusReadsEachRunsStateStepsLossesAndNumericsAndRefusesWhatIsNotARun()
    {
        var config = Config("a.yaml", Yaml());
        Train(config, "run");
        var s = Status("run");
        Assert.Equal("done", s["state"]!.GetValue<string>());
        var metrics = File.ReadAllLines(Path.Combine(_root, "run", Trainer.MetricsFileName));
        var last = metrics[^1].Split(',');
        var columns = metrics[0].Split(',');
        Assert.Equal(int.Parse(last[0]), s["step"]!.GetValue<int>());
        Assert.Equal(s["step"]!.GetValue<int>(), s["steps"]!.GetValue<int>());
        Assert.Equal(double.Parse(last[Array.IndexOf(columns, "loss")], System.Globalization.CultureInfo.InvariantCulture), s["loss"]!.GetValue<double>());
        var checkpoint = TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(Path.Combine(_root, "run")));
        Assert.Equal(checkpoint.Step, s["checkpoint_step"]!.GetValue<int>());
        Assert.Equal(checkpoint.Numerics, s["numerics"]!.GetValue<string>());
        Assert.Null(s["eta_seconds"]); // only while training

        // A run whose final model is missing has stopped; one that has only its configuration has not started.
        CopyDirectory(Path.Combine(_root, "run"), Path.Combine(_root, "cut"));
        File.Delete(Path.Combine(_root, "cut", Trainer.ModelFileName));
        Assert.Equal("stopped", Status("cut")["state"]!.GetValue<string>());
        Directory.CreateDirectory(Path.Combine(_root, "fresh"));
        File.Copy(Path.Combine(_root, "run", RunConfig.FileName), Path.Combine(_root, "fresh", RunConfig.FileName));
        Assert.Equal("not started", Status("fresh")["state"]!.GetValue<string>());

        // The table: a header and one row per run, in the order given.
        var table = Dicp("status", "run", "cut");
        Assert.Equal(0, table.Code);
        var lines = table.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("RUN ", lines[0]);
        Assert.Matches(@"^run\s+done\s+", lines[1]);
        Assert.Matches(@"^cut\s+stopped\s+", lines[2]);

        AssertUserError(Dicp("status", "nowhere"), "nowhere", "no such run directory");
        AssertUserError(Dicp("status", "data"), RunConfig.FileName);
        File.WriteAllText(Path.Combine(_root, "cut", Trainer.MetricsFileName), "step,loss\n10,x\n");
        AssertUserError(Dicp("status", "cut"), Trainer.MetricsFileName, "'x'");
    }

    private JsonObject Status(string run)
    {
        var r = Dicp("status", run, "--json");
        Assert.True(r.Code == 0, r.Stderr);
        return JsonNode.Parse(r.Stdout)!.AsObject();
    }

    [Fact]
    public void Case8_UserErrorsAreOneLineWithExitCode2()
    {
        var config = Config("a.yaml", Yaml());
        Train(config, "run");
        var run = Path.Combine(_root, "run");

        AssertUserError(Dicp("train", "--config", "data", "--data", "data", "--out", "x"), "data");
        AssertUserError(Dicp("train", "--config", config, "--data", "nowhere", "--out", "x"), "nowhere");
        AssertUserError(Dicp("train", "--config", config, "--data", "data"), "--out");
        AssertUserError(Dicp("train", "--config", config, "--data", "data", "--out", "run", "--steps", "many"), "many");
        AssertUserError(Dicp("train", "--config", config, "--data", "data", "--out", config), "a file, not a run directory");

        // A truncated checkpoint, and a directory where the checkpoint belongs.
        CopyDirectory(run, Path.Combine(_root, "cut"));
        var cut = TrainingCheckpoint.PathIn(Path.Combine(_root, "cut"));
        File.WriteAllBytes(cut, File.ReadAllBytes(cut)[..1000]);
        AssertUserError(Dicp("train", "--config", config, "--data", "data", "--out", "cut", "--steps", "30"), "checkpoint.safetensors");
        CopyDirectory(run, Path.Combine(_root, "dir"));
        File.Delete(TrainingCheckpoint.PathIn(Path.Combine(_root, "dir")));
        Directory.CreateDirectory(TrainingCheckpoint.PathIn(Path.Combine(_root, "dir")));
        AssertUserError(Dicp("train", "--config", config, "--data", "data", "--out", "dir", "--steps", "30"), "checkpoint.safetensors");

        // evaluate: a truncated model, a directory where the model belongs, --out checked before the evaluation.
        CopyDirectory(run, Path.Combine(_root, "badmodel"));
        var model = Path.Combine(_root, "badmodel", Trainer.ModelFileName);
        File.WriteAllBytes(model, File.ReadAllBytes(model)[..100]);
        AssertUserError(Dicp("evaluate", "--run", "badmodel", "--out", "r.json"), Trainer.ModelFileName);
        File.Delete(model);
        Directory.CreateDirectory(model);
        AssertUserError(Dicp("evaluate", "--run", "badmodel", "--out", "r.json"), Trainer.ModelFileName);
        var r = Dicp("evaluate", "--run", "run", "--episodes", "100000", "--out", "run");
        AssertUserError(r, "--out run", "a directory");
        Assert.DoesNotContain("episodes, planner", r.Stdout); // refused before the evaluation started
        AssertUserError(Dicp("evaluate", "--run", "run", "--out", Path.Combine(config, "r.json")), "--out");
        AssertUserError(Dicp("evaluate", "--run", "data"), RunConfig.FileName);
        AssertUserError(Dicp("evaluate", "--run", "run", "--split", "validation"), "validation");

        // tasks and quickstart.
        AssertUserError(Dicp("tasks", "darkroom", "--train-ratio", "1.5"), "--train-ratio 1.5: must be in (0, 1]");
        AssertUserError(Dicp("tasks", "nowhere-land"), "nowhere-land");
        AssertUserError(Dicp("tasks", "darkroom", "--split-seed", "x"), "'x'", "--split-seed", "as an integer");
        AssertUserError(Dicp("quickstart", "--out", "qs", "--config", "data"), "data");
        AssertUserError(Dicp("quickstart", "--out", config), config, "a file, not a directory");
    }

    [Fact]
    public void Case9_APlannerThatWouldNeverPlanIsRefusedAndALatePlannerIsNamed()
    {
        // n_transit 31: the window holds 30 transitions, a Darkroom episode has 20 steps.
        Train(Config("w.yaml", Yaml(nTransit: 31, steps: 4)), "run");
        AssertUserError(Dicp("evaluate", "--run", "run", "--planner", "beam", "--episodes", "1", "--out", "r.json"),
            "--planner beam would never plan", "30 transitions", "1 episodes × 20 steps = 20 steps", "--plan-before-full-window");
        var late = Dicp("evaluate", "--run", "run", "--planner", "beam", "--episodes", "2", "--out", "r.json", "-q");
        Assert.Equal(0, late.Code);
        Assert.Contains("note: --planner beam plans from episode 2 on (9 of 40 steps per task)", late.Stderr);
        var early = Dicp("evaluate", "--run", "run", "--planner", "beam", "--episodes", "1", "--plan-before-full-window", "--out", "r.json", "-q");
        Assert.Equal(0, early.Code);
        Assert.DoesNotContain("note:", early.Stderr);

        // An imagination reserve (SessionOptions.ImaginationReserve) is recorded; one that leaves no real context is refused.
        var reserved = Dicp("evaluate", "--run", "run", "--planner", "beam", "--episodes", "2", "--imagination-reserve", "7", "--out", "r7.json", "-q");
        Assert.Equal(0, reserved.Code);
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "r7.json"))))
            Assert.Equal(7, doc.RootElement.GetProperty("imagination_reserve").GetInt32());
        AssertUserError(Dicp("evaluate", "--run", "run", "--planner", "beam", "--episodes", "1", "--plan-before-full-window", "--imagination-reserve", "30",
                "--out", "r30.json", "-q"),
            "ImaginationReserve", "30 transitions");

        // The same reserve from the run's configuration (planner.imagination_reserve) gives the same returns; --expect
        // refuses a file made with another reserve (a user error naming the key), and the command line overrides it.
        var runConfig = Path.Combine(_root, "run", RunConfig.FileName);
        var json = JsonNode.Parse(File.ReadAllText(runConfig))!;
        json["planner"]!["imagination_reserve"] = 7;
        File.WriteAllText(runConfig, json.ToJsonString());
        var fromConfig = Dicp("evaluate", "--run", "run", "--planner", "beam", "--episodes", "2", "--expect", "r7.json", "-q");
        Assert.Equal(0, fromConfig.Code);
        var mismatch = Dicp("evaluate", "--run", "run", "--planner", "beam", "--episodes", "2", "--imagination-reserve", "0", "--expect", "r7.json", "-q");
        Assert.Equal(2, mismatch.Code); // after the planning note, one error line
        Assert.Contains("error: --expect r7.json: its imagination_reserve is 7, this evaluation's is 0", mismatch.Stderr);
        Assert.DoesNotContain("evaluated in", mismatch.Stdout); // refused before evaluating
        json["planner"]!["imagination_reserve"] = 30;
        File.WriteAllText(runConfig, json.ToJsonString());
        AssertUserError(Dicp("evaluate", "--run", "run", "--planner", "beam", "--episodes", "1", "--plan-before-full-window"),
            "planner.imagination_reserve 30", "30 transitions");
    }

    [Fact]
    public void ARunDirectoryOfAnEarlierDicpIsAdoptedOnItsFirstRerun()
    {
        var config = Config("a.yaml", Yaml());
        Train(config, "run");
        var run = Path.Combine(_root, "run");
        var identity = JsonNode.Parse(File.ReadAllText(RunIdentity.PathIn(run)))!.ToJsonString();
        // What the previous version left: the same files without run-identity.json (its run-config.json, checkpoint
        // and model formats are unchanged).
        CopyDirectory(run, Path.Combine(_root, "legacy"));
        File.Delete(RunIdentity.PathIn(Path.Combine(_root, "legacy")));
        var legacy = Path.Combine(_root, "legacy");

        // evaluate reads it as before, with a notice.
        var e = Dicp("evaluate", "--run", "legacy", "--out", "r.json", "-q");
        Assert.Equal(0, e.Code);
        Assert.Contains($"has no {RunIdentity.FileName}", e.Stderr);

        // Another model: refused, nothing written.
        AssertUserError(Dicp("train", "--config", Config("h.yaml", Yaml(heads: 4)), "--data", "data", "--out", "legacy", "--steps", "30"), "heads 2 → 4");
        Assert.False(File.Exists(RunIdentity.PathIn(legacy)));
        // Only a run-config.json (no checkpoint yet): its stored configuration is what is compared.
        CopyDirectory(legacy, Path.Combine(_root, "legacy2"));
        File.Delete(TrainingCheckpoint.PathIn(Path.Combine(_root, "legacy2")));
        File.Delete(Path.Combine(_root, "legacy2", Trainer.ModelFileName));
        AssertUserError(Dicp("train", "--config", Config("h.yaml", Yaml(heads: 4)), "--data", "data", "--out", "legacy2"), RunConfig.FileName, "model.heads 2 → 4");
        Assert.False(File.Exists(RunIdentity.PathIn(Path.Combine(_root, "legacy2"))));

        // The same configuration with more steps: adopted (one notice), extended with a warning naming the option.
        var err = Train(config, "legacy", "--steps", "30");
        Assert.Single(err.Split('\n'), l => l.StartsWith("note:", StringComparison.Ordinal) && l.Contains("adopted", StringComparison.Ordinal));
        Assert.Contains("steps 20 → 30", err);
        Assert.Equal(identity, JsonNode.Parse(File.ReadAllText(RunIdentity.PathIn(legacy)))!.ToJsonString());
        Assert.Equal(30, TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(legacy)).Step);
        // From now on it is an ordinary run: a second rerun gives no notice.
        Assert.DoesNotContain("adopted", Train(config, "legacy", "--steps", "30"));
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
    }
}
