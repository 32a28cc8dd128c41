using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.IO;
using Dicp.Cli.Plotting;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp quickstart [--out DIR]</c>: the Darkroom pipeline end to end — collect PPO histories, train DICP-AD, evaluate
/// on the held-out goals without planning and with beam search — with a final table, the time each stage took, and learning curves as PNG and SVG.
/// </summary>
internal static class QuickstartCommand
{
    /// <summary>The preset the quickstart runs (embedded copy of <c>configs/dicp-ad-darkroom-small.yaml</c>).</summary>
    public const string PresetResource = "quickstart.yaml";

    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output directory (data/, run/, results, curves.png/.svg); a rerun resumes.", DefaultValueFactory = _ => "quickstart" };
        var config = new Option<string?>("--config") { Description = "Run configuration to use instead of the built-in preset (configs/dicp-ad-darkroom-small.yaml)." };
        var steps = new Option<int?>("--steps") { Description = "Override training.steps." };
        var episodes = new Option<int?>("--episodes") { Description = "Override evaluation.episodes." };
        var streams = new Option<int?>("--streams") { Description = "Override data.streams (streams collected per task)." };
        var stepsPerStream = new Option<int?>("--steps-per-stream") { Description = "Override data.steps_per_stream." };
        var tasks = new Option<int?>("--train-tasks") { Description = "Collect and train on only the first N train tasks." };
        var cmd = new Command("quickstart", "Collect Darkroom histories, train DICP-AD and evaluate it with and without beam-search planning.")
            { output, config, steps, episodes, streams, stepsPerStream, tasks };
        cmd.SetAction(async (parse, ct) =>
        {
            try
            {
                var o = new Options(parse.GetValue(output)!, parse.GetValue(config), parse.GetValue(steps), parse.GetValue(episodes),
                    parse.GetValue(streams), parse.GetValue(stepsPerStream), parse.GetValue(tasks), CliOutput.Quiet);
                await RunAsync(o, ct);
                return 0;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"interrupted: {Kept(parse.GetValue(output)!)}; run the same command again to resume.");
                return 130;
            }
            catch (Exception e) when (CliErrors.IsUserError(e))
            {
                return CliErrors.Report(e);
            }
        });
        return cmd;
    }

    /// <summary>What an interrupted quickstart keeps in <paramref name="output"/>: finished history files and the training checkpoint.</summary>
    internal static string Kept(string output)
    {
        var data = Path.Combine(output, "data");
        var files = Directory.Exists(data) ? Directory.GetFiles(data, "task-*.safetensors").Length : 0;
        var checkpoint = TrainingCheckpoint.PathIn(Path.Combine(output, "run"));
        var step = 0;
        try
        {
            if (File.Exists(checkpoint)) step = TrainingCheckpoint.Read(checkpoint).Step;
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            // an unreadable checkpoint is reported by the rerun
        }
        return $"kept {files} finished history files in {data}" + (step > 0 ? $" and the training checkpoint of step {step} ({checkpoint})" : "");
    }

    /// <summary>The quickstart's settings.</summary>
    internal sealed record Options(string Output, string? Config = null, int? Steps = null, int? Episodes = null, int? Streams = null,
        int? StepsPerStream = null, int? TrainTasks = null, bool Quiet = false);

    /// <summary>What the quickstart wrote.</summary>
    internal sealed record Outcome(string DataDirectory, string RunDirectory, string WithoutPlanning, string WithPlanning, string Chart, string ChartPng,
        string Summary, IReadOnlyList<StageTiming> Timings);

    /// <summary>How long one stage took in this call, and whether its result was already on disk.</summary>
    internal sealed record StageTiming(string Stage, TimeSpan Elapsed, string Note = "");

    /// <summary>The results file key holding the settings an evaluation ran with; a rerun reuses the file when they match.</summary>
    internal const string SettingsKey = "quickstart_settings";

    /// <summary>Loads the run configuration: the file given, or the embedded preset, with the overrides applied.</summary>
    internal static RunConfig LoadConfig(Options o)
    {
        RunConfig c;
        if (o.Config is not null) c = RunConfig.Load(o.Config);
        else
        {
            using var stream = typeof(QuickstartCommand).Assembly.GetManifestResourceStream(PresetResource)
                ?? throw new InvalidOperationException($"The CLI was built without its embedded preset '{PresetResource}'.");
            using var reader = new StreamReader(stream);
            c = RunConfig.Parse(reader.ReadToEnd(), "configs/dicp-ad-darkroom-small.yaml (built in)");
        }
        c = c with
        {
            Data = c.Data with
            {
                Streams = o.Streams ?? c.Data.Streams,
                StepsPerStream = o.StepsPerStream ?? c.Data.StepsPerStream,
                MaxTrainTasks = o.TrainTasks ?? c.Data.MaxTrainTasks,
            },
            Training = c.Training with { Steps = o.Steps ?? c.Training.Steps },
            Evaluation = c.Evaluation with { Episodes = o.Episodes ?? c.Evaluation.Episodes },
        };
        c.Validate(o.Config ?? "quickstart preset");
        if (c.Data.Environment != "darkroom") throw new ConfigException($"The quickstart runs Darkroom; the configuration's data.environment is '{c.Data.Environment}'.");
        if (!c.Model.Dynamics) throw new ConfigException("The quickstart plans with the world model: the configuration needs model.dynamics: true.");
        return c;
    }

    /// <summary>Runs the pipeline; every stage resumes from what <paramref name="o"/>.Output already holds.</summary>
    internal static async Task<Outcome> RunAsync(Options o, CancellationToken ct, TextWriter? console = null)
    {
        var config = LoadConfig(o);
        var ui = new QuickstartDisplay(o.Quiet, console);
        var family = new DarkroomTasks();
        var (trainSplit, testSplit) = family.Split(config.Data.SplitSeed, config.Data.TrainRatio);
        var trainTasks = trainSplit.Take(config.Data.MaxTrainTasks ?? int.MaxValue).ToArray();
        var testTasks = testSplit.Take(config.Evaluation.MaxTasks ?? int.MaxValue).ToArray();
        var data = Path.Combine(o.Output, "data");
        var runDir = Path.Combine(o.Output, "run");
        if (File.Exists(o.Output)) throw new ConfigException($"--out {o.Output}: a file, not a directory.");
        Directory.CreateDirectory(o.Output);
        ui.Header(config, trainTasks.Length, testTasks.Length, o.Output);
        var timings = new List<StageTiming>();

        // 1. Histories of PPO on the train goals (for training) and the test goals (for the test loss only).
        var collection = new HistoryCollectionOptions(data, [.. trainTasks, .. testTasks], config.Data.Streams, config.Data.StepsPerStream,
            config.Data.CollectSeed, SplitSeed: config.Data.SplitSeed, TrainRatio: config.Data.TrainRatio);
        var goals = trainTasks.Length + testTasks.Length;
        ui.Line($"1. PPO learning histories: {goals} goals × {config.Data.Streams} streams × {config.Data.StepsPerStream} steps");
        var collected = await ui.Stage("collect", goals, progress => new HistoryCollector(family, collection).RunAsync(
                new ProgressRelay<CollectionProgress>(p => { if (p.Event is CollectionEvent.Completed or CollectionEvent.Skipped) progress(p.TasksFinished); }), ct));
        timings.Add(new StageTiming("collection", collected.Elapsed, collected.Skipped.Count == goals ? "reused" : collected.Skipped.Count > 0 ? $"{collected.Skipped.Count} of {goals} reused" : ""));
        ui.Line($"   {collected.Collected.Count} collected, {collected.Skipped.Count} already on disk ({Seconds(collected.Elapsed)})");

        // 2. DICP-AD on the train goals' histories.
        var model = InContextModels.Create(config.Model, config.Training.Seed);
        ui.Line($"2. Training {model.Name}: {model.Network.ParameterCount():N0} parameters, {config.Training.Steps} steps, batch {config.Training.BatchSize}");
        var trainResult = await ui.Stage("train", config.Training.Steps, progress => Task.Run(() =>
            {
                using var train = HistoryDataset.Open(data, trainTasks, config.Data.Streams, config.Data.StepsPerStream, HistoryValueRules.For(config.Model));
                using var test = HistoryDataset.Open(data, testTasks, config.Data.Streams, config.Data.StepsPerStream, HistoryValueRules.For(config.Model));
                using var runLock = TrainCommand.LockRunDirectory(runDir);
                var trainer = TrainCommand.CreateTrainer(model, train, test, config, runLock, logger: null, evaluation: null);
                return trainer.Run(new ProgressRelay<TrainingProgress>(p => progress(p.Step)), ct);
            }, ct));
        timings.Add(new StageTiming("training", trainResult.Elapsed, trainResult.StartStep >= trainResult.FinalStep ? "reused" : trainResult.Resumed ? $"resumed at step {trainResult.StartStep}" : ""));
        var modelPath = Path.Combine(runDir, Trainer.ModelFileName);
        ModelFile.LoadInto(model, config.Model, modelPath);
        model.Network.Eval();
        var metrics = LastMetrics(Path.Combine(runDir, Trainer.MetricsFileName));
        ui.Line($"   steps {trainResult.StartStep} → {trainResult.FinalStep} in {Seconds(trainResult.Elapsed)}");
        ui.Line("   test split: " + string.Join(", ", new[] { "test_action_accuracy", "test_reward_accuracy", "test_next_state_accuracy" }
            .Where(metrics.ContainsKey).Select(k => $"{k["test_".Length..^"_accuracy".Length].Replace('_', ' ')} {metrics[k]:P1}")) + " accurate");

        // 3. In-context evaluation on the held-out goals, without and with planning. A results file whose recorded
        //    settings (model weights, planner, episodes, seed, goals) match is reused instead of recomputed.
        var optimal = testTasks.Average(i => (double)family.Create(i).MaxReturn);
        var evaluation = new EvaluationOptions(config.Evaluation.Episodes, config.Evaluation.Seed);
        var modelHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(modelPath)));
        var results = new List<(string Label, double[][] Returns, string Path)>();
        var step = 3;
        foreach (var plannerName in new[] { "none", config.Planner.Name == "none" ? "beam" : config.Planner.Name })
        {
            var planner = Planners.Create(config.Planner with { Name = plannerName }, model, config.Evaluation.Seed, greedy: config.Evaluation.Greedy);
            var label = plannerName == "none" ? "DICP-AD (policy)" : $"DICP-AD + {plannerName} search";
            var stage = plannerName == "none" ? "evaluation, policy" : $"evaluation, {plannerName} search";
            var path = Path.Combine(o.Output, $"results-{plannerName}.json");
            if (EvaluateCommand.PlanningNote(config.Planner with { Name = plannerName }, model.WindowTransitions, evaluation.Episodes,
                    family.Create(testTasks[0]).MaxEpisodeSteps) is { } note)
                Console.Error.WriteLine(note.Planned == 0 ? "warning: " + note.Message : note.Message);
            var settings = JsonSerializer.Serialize(new SortedDictionary<string, object?>
            {
                ["model_sha256"] = modelHash,
                ["planner"] = planner.Name,
                ["planner_settings"] = new SortedDictionary<string, object>(planner.Settings.ToDictionary()),
                ["episodes"] = evaluation.Episodes,
                ["seed"] = evaluation.Seed,
                ["greedy"] = config.Evaluation.Greedy,
                ["task_indices"] = testTasks,
            });
            ui.Line($"{step++}. Evaluating {label}: {testTasks.Length} held-out goals, {evaluation.Episodes} episodes each");
            if (ReadReusable(path, settings) is { } reused)
            {
                ui.Line($"   reused {path} (same model and settings)");
                timings.Add(new StageTiming(stage, TimeSpan.Zero, "reused"));
                results.Add((label, reused, path));
                continue;
            }
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var r = await ui.Stage(plannerName == "none" ? "evaluate policy" : $"evaluate {plannerName}", evaluation.Episodes,
                progress => Task.Run(() => InContextEvaluator.Run(model, testTasks.Select(family.Create).ToArray(), planner, evaluation,
                    new ProgressRelay<EvaluationProgress>(p => progress(p.Episode + 1)), ct), ct));
            timings.Add(new StageTiming(stage, watch.Elapsed));
            r.Save(path, new Dictionary<string, object?>
            {
                ["label"] = label,
                ["environment"] = "darkroom",
                ["split"] = "test",
                ["split_seed"] = config.Data.SplitSeed,
                ["task_indices"] = testTasks,
                ["steps_per_episode"] = family.Create(testTasks[0]).MaxEpisodeSteps,
                ["optimal_return"] = optimal,
                ["run"] = Path.GetFullPath(runDir),
                ["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 2),
                [SettingsKey] = JsonDocument.Parse(settings).RootElement,
            });
            results.Add((label, [.. r.Returns.Select(row => row.Select(v => (double)v).ToArray())], path));
        }

        // 4. The table, the timings and the chart (PNG and SVG).
        var svg = Path.Combine(o.Output, "curves.svg");
        var png = Path.Combine(o.Output, "curves.png");
        var curves = results.Select(x => LearningCurve.FromReturns(x.Label, x.Returns)).ToArray();
        var chart = new ChartOptions(Title: $"{model.Name} on Darkroom: {testTasks.Length} held-out goals", YMin: 0, YMax: optimal);
        ReferenceLine[] references = [new("optimal", optimal)];
        LearningCurveChart.Save(svg, curves, chart, references);
        LearningCurveChart.Save(png, curves, chart, references);
        if (LearningCurveChart.FontWarning(png) is { } warning) Console.Error.WriteLine(warning);
        var title = $"Mean return of {model.Name} on the {testTasks.Length} held-out Darkroom goals, per block of episodes";
        var rows = results.Select(x => (x.Label, Mean: MeanPerEpisode(x.Returns))).ToArray();
        var summary = Summary(title, rows, optimal) + "\n" + Timings(timings);
        AtomicFile.WriteAllText(Path.Combine(o.Output, "summary.txt"), summary);
        ui.Table(title, rows, optimal);
        ui.Block(Timings(timings));
        ui.Line($"wrote summary.txt, curves.png, curves.svg, {string.Join(", ", results.Select(x => Path.GetFileName(x.Path)))} in {Path.GetFullPath(o.Output)}");
        ui.Line($"training logs: {Path.Combine(runDir, Trainer.MetricsFileName)}, TensorBoard events in {Path.Combine(runDir, TrainCommand.TensorBoardFolder)}");
        return new Outcome(data, runDir, results[0].Path, results[1].Path, svg, png, summary, timings);
    }

    /// <summary>
    /// The returns of an earlier evaluation at <paramref name="path"/> when it exists, is a valid results file and recorded
    /// exactly <paramref name="settings"/>; else null (the evaluation runs again and overwrites it).
    /// </summary>
    internal static double[][]? ReadReusable(string path, string settings)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(SettingsKey, out var recorded)
                || JsonSerializer.Serialize(recorded) != settings)
                return null;
            return PlotCommand.ReadResults(path).Returns;
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or IOException)
        {
            return null;
        }
    }

    /// <summary>The stage timings as plain text.</summary>
    internal static string Timings(IReadOnlyList<StageTiming> timings)
    {
        var sb = new System.Text.StringBuilder("Time per stage (this run)\n");
        foreach (var t in timings)
            sb.Append("  ").Append(t.Stage.PadRight(28)).Append(Seconds(t.Elapsed).PadLeft(9))
                .Append(t.Note.Length > 0 ? "  " + t.Note : "").Append('\n');
        sb.Append("  ").Append("total".PadRight(28)).Append(Seconds(TimeSpan.FromTicks(timings.Sum(t => t.Elapsed.Ticks))).PadLeft(9)).Append('\n');
        return sb.ToString();
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds < 10
        ? t.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s"
        : t.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture) + " s";

    private static double[] MeanPerEpisode(double[][] returns) =>
        [.. Enumerable.Range(0, returns[0].Length).Select(j => returns.Average(r => r[j]))];

    /// <summary>Episode blocks of the table: about eight blocks of equal size.</summary>
    internal static IReadOnlyList<(int From, int To)> Blocks(int episodes)
    {
        var size = Math.Max(1, (int)Math.Ceiling(episodes / 8.0));
        var blocks = new List<(int, int)>();
        for (var a = 0; a < episodes; a += size) blocks.Add((a, Math.Min(episodes, a + size)));
        return blocks;
    }

    /// <summary>The table as plain text (also written to <c>summary.txt</c>), at most 80 columns for up to 8 blocks.</summary>
    internal static string Summary(string title, IReadOnlyList<(string Label, double[] Mean)> rows, double optimal)
    {
        var blocks = Blocks(rows[0].Mean.Length);
        var w = Math.Max(16, rows.Max(r => r.Label.Length) + 2);
        var sb = new System.Text.StringBuilder();
        sb.Append(title).Append('\n');
        sb.Append("episodes".PadRight(w)).AppendJoin("", blocks.Select(b => $"{b.From + 1}-{b.To}".PadLeft(7))).Append('\n');
        foreach (var (label, mean) in rows)
            sb.Append(label.PadRight(w)).AppendJoin("", blocks.Select(b => BlockMean(mean, b).ToString("F2", CultureInfo.InvariantCulture).PadLeft(7))).Append('\n');
        sb.Append("optimal".PadRight(w)).AppendJoin("", blocks.Select(_ => optimal.ToString("F2", CultureInfo.InvariantCulture).PadLeft(7))).Append('\n');
        return sb.ToString();
    }

    /// <summary>The last row of <c>metrics.csv</c> that has test metrics, by column.</summary>
    internal static Dictionary<string, double> LastMetrics(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        var testColumn = Array.IndexOf(header, "test_loss");
        var row = lines.Skip(1).LastOrDefault(l => testColumn < 0 || l.Split(',')[testColumn].Length > 0) ?? lines[^1];
        return header.Zip(row.Split(','))
            .Where(p => p.Second.Length > 0)
            .ToDictionary(p => p.First, p => double.Parse(p.Second, CultureInfo.InvariantCulture));
    }

    internal static double BlockMean(double[] mean, (int From, int To) b) => mean[b.From..b.To].Average();

}
