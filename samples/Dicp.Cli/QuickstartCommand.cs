using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.IO;
using Dicp.Metrics;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;
using Spectre.Console;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp quickstart [--out DIR]</c>: the Darkroom pipeline end to end — collect PPO histories, train DICP-AD, evaluate
/// on the held-out goals without planning and with beam search — with a final table and learning curves as SVG.
/// </summary>
internal static class QuickstartCommand
{
    /// <summary>The preset the quickstart runs (embedded copy of <c>configs/dicp-ad-darkroom-small.yaml</c>).</summary>
    public const string PresetResource = "quickstart.yaml";

    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output directory (data/, run/, results, curves.svg); a rerun resumes.", DefaultValueFactory = _ => "quickstart" };
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
    internal sealed record Outcome(string DataDirectory, string RunDirectory, string WithoutPlanning, string WithPlanning, string Chart, string Summary);

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
    internal static async Task<Outcome> RunAsync(Options o, CancellationToken ct)
    {
        var config = LoadConfig(o);
        var ui = new QuickstartDisplay(o.Quiet);
        var family = new DarkroomTasks();
        var (trainSplit, testSplit) = family.Split(config.Data.SplitSeed, config.Data.TrainRatio);
        var trainTasks = trainSplit.Take(config.Data.MaxTrainTasks ?? int.MaxValue).ToArray();
        var testTasks = testSplit.Take(config.Evaluation.MaxTasks ?? int.MaxValue).ToArray();
        var data = Path.Combine(o.Output, "data");
        var runDir = Path.Combine(o.Output, "run");
        if (File.Exists(o.Output)) throw new ConfigException($"--out {o.Output}: a file, not a directory.");
        Directory.CreateDirectory(o.Output);
        ui.Header(config, trainTasks.Length, testTasks.Length, o.Output);

        // 1. Histories of PPO on the train goals (for training) and the test goals (for the test loss only).
        var collection = new HistoryCollectionOptions(data, [.. trainTasks, .. testTasks], config.Data.Streams, config.Data.StepsPerStream,
            config.Data.CollectSeed, SplitSeed: config.Data.SplitSeed, TrainRatio: config.Data.TrainRatio);
        var collected = await ui.Stage($"Collecting PPO histories ({trainTasks.Length + testTasks.Length} goals × {config.Data.Streams} streams × {config.Data.StepsPerStream} steps)",
            trainTasks.Length + testTasks.Length, progress => new HistoryCollector(family, collection).RunAsync(
                new ProgressRelay<CollectionProgress>(p => { if (p.Event is CollectionEvent.Completed or CollectionEvent.Skipped) progress(p.TasksFinished); }), ct));
        ui.Line($"histories: {collected.Collected.Count} collected, {collected.Skipped.Count} already on disk ({collected.Elapsed.TotalSeconds:F0} s)");

        // 2. DICP-AD on the train goals' histories.
        var model = InContextModels.Create(config.Model, config.Training.Seed);
        var trainResult = await ui.Stage($"Training {model.Name} ({model.Network.ParameterCount():N0} parameters, {config.Training.Steps} steps, batch {config.Training.BatchSize})",
            config.Training.Steps, progress => Task.Run(() =>
            {
                using var train = HistoryDataset.Open(data, trainTasks, config.Data.Streams, config.Data.StepsPerStream, HistoryValueRules.For(config.Model));
                using var test = HistoryDataset.Open(data, testTasks, config.Data.Streams, config.Data.StepsPerStream, HistoryValueRules.For(config.Model));
                var trainer = TrainCommand.CreateTrainer(model, train, test, config, runDir, logger: null, evaluation: null);
                return trainer.Run(new ProgressRelay<TrainingProgress>(p => progress(p.Step)), ct);
            }, ct));
        ModelFile.LoadInto(model, config.Model, Path.Combine(runDir, Trainer.ModelFileName));
        model.Network.Eval();
        var metrics = LastMetrics(Path.Combine(runDir, Trainer.MetricsFileName));
        ui.Line($"training: steps {trainResult.StartStep} → {trainResult.FinalStep} in {trainResult.Elapsed.TotalSeconds:F0} s");
        ui.Line("test split: " + string.Join(", ", new[] { "test_action_accuracy", "test_reward_accuracy", "test_next_state_accuracy" }
            .Where(metrics.ContainsKey).Select(k => $"{k["test_".Length..].Replace('_', ' ')} {metrics[k]:P1}")));

        // 3. In-context evaluation on the held-out goals, without and with planning.
        var optimal = testTasks.Average(i => (double)family.Create(i).MaxReturn);
        var evaluation = new EvaluationOptions(config.Evaluation.Episodes, config.Evaluation.Seed);
        var results = new List<(string Label, EvaluationResult Result, string Path)>();
        foreach (var plannerName in new[] { "none", config.Planner.Name == "none" ? "beam" : config.Planner.Name })
        {
            var planner = EvaluateCommand.CreatePlanner(config.Planner with { Name = plannerName }, config.Evaluation.Greedy, deterministic: false, config.Evaluation.Seed);
            var label = plannerName == "none" ? "DICP-AD (policy)" : $"DICP-AD + {plannerName} search";
            var path = Path.Combine(o.Output, $"results-{plannerName}.json");
            if (EvaluateCommand.PlanningNote(config.Planner with { Name = plannerName }, model.WindowTransitions, evaluation.Episodes,
                    family.Create(testTasks[0]).MaxEpisodeSteps) is { } note)
                Console.Error.WriteLine(note.Planned == 0 ? "warning: " + note.Message : note.Message);
            var r = await ui.Stage($"Evaluating {label} on {testTasks.Length} held-out goals, {evaluation.Episodes} episodes",
                evaluation.Episodes, progress => Task.Run(() => InContextEvaluator.Run(model, testTasks.Select(family.Create).ToArray(), planner, evaluation,
                    new ProgressRelay<EvaluationProgress>(p => progress(p.Episode + 1)), ct), ct));
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
            });
            results.Add((label, r, path));
        }

        // 4. The table and the chart.
        var chart = Path.Combine(o.Output, "curves.svg");
        var curves = results.Select(x => LearningCurve.FromReturns(x.Label, x.Result.Returns.Select(row => (IReadOnlyList<double>)row.Select(v => (double)v).ToArray()).ToArray())).ToArray();
        LearningCurveChart.SaveSvg(chart, curves, new ChartOptions(Title: "DICP-AD on Darkroom: held-out goals"), [new ReferenceLine("optimal", optimal)]);
        var summary = Summary(results.Select(x => (x.Label, x.Result.MeanReturnPerEpisode)).ToArray(), optimal);
        AtomicFile.WriteAllText(Path.Combine(o.Output, "summary.txt"), summary);
        ui.Table(results.Select(x => (x.Label, x.Result.MeanReturnPerEpisode)).ToArray(), optimal);
        ui.Line($"wrote {chart}, {string.Join(", ", results.Select(x => x.Path))}, {Path.Combine(runDir, Trainer.MetricsFileName)} and TensorBoard events in {Path.Combine(runDir, TrainCommand.TensorBoardFolder)}");
        return new Outcome(data, runDir, results[0].Path, results[1].Path, chart, summary);
    }

    /// <summary>Episode blocks of the table: about eight blocks of equal size.</summary>
    internal static IReadOnlyList<(int From, int To)> Blocks(int episodes)
    {
        var size = Math.Max(1, (int)Math.Ceiling(episodes / 8.0));
        var blocks = new List<(int, int)>();
        for (var a = 0; a < episodes; a += size) blocks.Add((a, Math.Min(episodes, a + size)));
        return blocks;
    }

    /// <summary>The table as plain text (also written to <c>summary.txt</c>).</summary>
    internal static string Summary(IReadOnlyList<(string Label, double[] Mean)> rows, double optimal)
    {
        var blocks = Blocks(rows[0].Mean.Length);
        var w = Math.Max(20, rows.Max(r => r.Label.Length) + 2);
        var sb = new System.Text.StringBuilder();
        sb.Append("episodes".PadRight(w)).AppendJoin("", blocks.Select(b => $"{b.From + 1}-{b.To}".PadLeft(9))).Append('\n');
        foreach (var (label, mean) in rows)
            sb.Append(label.PadRight(w)).AppendJoin("", blocks.Select(b => BlockMean(mean, b).ToString("F2", CultureInfo.InvariantCulture).PadLeft(9))).Append('\n');
        sb.Append("optimal".PadRight(w)).AppendJoin("", blocks.Select(_ => optimal.ToString("F2", CultureInfo.InvariantCulture).PadLeft(9))).Append('\n');
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
