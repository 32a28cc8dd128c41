using System.CommandLine;
using System.Globalization;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.IO;
using Dicp.Models;
using Dicp.Training;

namespace Dicp.Cli;

/// <summary><c>dicp train --config FILE --data DIR --out RUN [--steps N] [--seed S] [--backend dicp|torchsharp] [--device cpu|cuda]</c>; resumes when RUN holds a checkpoint.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Run configuration (configs/*.yaml).", Required = true };
        var data = new Option<string>("--data") { Description = "History collection directory (from dicp collect).", Required = true };
        var output = new Option<string>("--out") { Description = "Run directory: metrics.csv, checkpoints, model (resumed if it holds a checkpoint).", Required = true };
        var steps = new Option<int?>("--steps") { Description = "Override training.steps." };
        var seed = new Option<int?>("--seed") { Description = "Override training.seed (also seeds the model's initialisation)." };
        var backend = new Option<string>("--backend") { Description = "dicp (Dicp's CPU engine) or torchsharp (docs/torchsharp.md).", DefaultValueFactory = _ => "dicp" };
        backend.AcceptOnlyFromAmong(TorchTrainCommand.Backends);
        var device = new Option<string>("--device") { Description = "TorchSharp device: cpu or cuda (with --backend torchsharp).", DefaultValueFactory = _ => "cpu" };
        var cmd = new Command("train", "Train an in-context model on learning histories.") { config, data, output, steps, seed, backend, device };
        cmd.SetAction((parse, ct) => Task.FromResult(parse.GetValue(backend) == "torchsharp"
            ? TorchTrainCommand.Run(parse.GetValue(config)!, parse.GetValue(data)!, parse.GetValue(output)!, parse.GetValue(steps), parse.GetValue(seed), parse.GetValue(device)!, ct)
            : Run(parse.GetValue(config)!, parse.GetValue(data)!, parse.GetValue(output)!, parse.GetValue(steps), parse.GetValue(seed), ct)));
        return cmd;
    }

    /// <summary>Applies the command-line overrides to a loaded configuration.</summary>
    public static RunConfig Override(RunConfig c, int? steps, int? seed) => c with
    {
        Training = c.Training with { Steps = steps ?? c.Training.Steps, Seed = seed ?? c.Training.Seed },
    };

    /// <summary>
    /// Runs the command; returns the exit code (0 done, 2 bad input, 130 interrupted). <paramref name="modelFactory"/>
    /// builds the model from its configuration (tests pass a small model; the default is the library's factory). It is a
    /// parameter, never shared state, so that runs on different threads cannot change each other's model.
    /// </summary>
    internal static int Run(string configPath, string dataDir, string runDir, int? steps, int? seed, CancellationToken ct,
        Func<ModelConfig, int, ITrainableInContextModel>? modelFactory = null)
    {
        try
        {
            var config = Override(RunConfig.Load(configPath), steps, seed);
            config.Validate(configPath);
            var manifest = HistoryManifest.Read(dataDir);
            if (manifest.Environment != config.Data.Environment)
                throw new ConfigException($"{configPath}: data.environment is '{config.Data.Environment}' but '{dataDir}' holds '{manifest.Environment}' histories.");
            using var train = HistoryDataset.Open(dataDir, HistorySplit.Train, config.Data.MaxTrainTasks, config.Data.Streams, config.Data.StepsPerStream);
            using var test = OpenTest(dataDir, config);
            var model = (modelFactory ?? InContextModels.Create)(config.Model, config.Training.Seed);
            var trainer = CreateTrainer(model, train, test, config, runDir, new ConsoleLogger<Trainer>(),
                config.Evaluation.DuringTrainingEpisodes > 0 ? DuringTraining(config) : null);
            Console.Out.WriteLine($"{model.Name}: {model.Network.ParameterCount():N0} parameters; {train.Tasks.Count} train tasks × {train.Streams} streams × {train.StepsPerStream} steps"
                + (test is null ? "; no test tasks collected" : $"; {test.Tasks.Count} test tasks"));
            var r = trainer.Run(new Reporter(), ct);
            Console.Out.WriteLine($"done: step {r.FinalStep} in {r.Elapsed.TotalSeconds:F1} s; run directory {runDir}");
            return 0;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted: a checkpoint of the last completed step was written; run the same command again to resume.");
            return 130;
        }
        catch (Exception e) when (e is ConfigException or IOException or ArgumentException or NotSupportedException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>The run directory's TensorBoard folder.</summary>
    public const string TensorBoardFolder = "tensorboard";

    /// <summary>
    /// Writes the resolved configuration into the run directory and creates its trainer (metrics CSV, TensorBoard events,
    /// checkpoints with the configuration), as <c>dicp train</c> and <c>dicp quickstart</c> both run it.
    /// </summary>
    internal static Trainer CreateTrainer(ITrainableInContextModel model, HistoryDataset train, HistoryDataset? test, RunConfig config,
        string runDir, Microsoft.Extensions.Logging.ILogger<Trainer>? logger, ITrainingEvaluation? evaluation)
    {
        Directory.CreateDirectory(runDir);
        AtomicFile.WriteAllText(Path.Combine(runDir, RunConfig.FileName), config.ToJson() + "\n");
        return new Trainer(model, train, test, config.Training, runDir, logger)
        {
            ModelConfig = config.Model,
            RunConfigJson = config.ToJson(),
            TensorBoardDirectory = Path.Combine(runDir, TensorBoardFolder),
            Evaluation = evaluation,
        };
    }

    private static HistoryDataset? OpenTest(string dataDir, RunConfig config)
    {
        var manifest = HistoryManifest.Read(dataDir);
        var collected = manifest.Tasks.Select(t => t.Index).ToHashSet();
        if (!manifest.Split.Test.Any(collected.Contains)) return null;
        return HistoryDataset.Open(dataDir, HistorySplit.Test, config.Data.MaxTestTasks, config.Data.Streams, config.Data.StepsPerStream);
    }

    private static InContextTrainingEvaluation DuringTraining(RunConfig config)
    {
        var tasks = TaskSetResolver.Resolve(config.Data.Environment);
        var (_, test) = tasks.Split(config.Data.SplitSeed, config.Data.TrainRatio);
        var chosen = test.Take(config.Evaluation.MaxTasks ?? test.Length).ToArray();
        return new InContextTrainingEvaluation(() => chosen.Select(tasks.Create).ToArray(),
            new EvaluationOptions(config.Evaluation.DuringTrainingEpisodes, config.Evaluation.Seed), config.Evaluation.Greedy);
    }

    private sealed class Reporter : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            string Cell(string key) => p.Metrics.TryGetValue(key, out var v) ? v.ToString("F4", CultureInfo.InvariantCulture) : "";
            var parts = new List<string> { $"step {p.Step}/{p.TotalSteps}", $"lr {p.LearningRate:E2}", $"loss {Cell("loss")}" };
            foreach (var key in p.Metrics.Keys.Where(k => k.StartsWith("test_", StringComparison.Ordinal) || k.StartsWith("ic_", StringComparison.Ordinal)))
                parts.Add($"{key} {Cell(key)}");
            CliOutput.Info(string.Join("  ", parts));
        }
    }
}
