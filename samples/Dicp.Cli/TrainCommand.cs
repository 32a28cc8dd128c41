using System.CommandLine;
using System.Globalization;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.IO;
using Dicp.Models;
using Dicp.Training;

namespace Dicp.Cli;

/// <summary><c>dicp train --config FILE --data DIR --out RUN [--steps N] [--seed S] [--backend dicp|torchsharp] [--device cpu|cuda] [--precision fp32|bf16]</c>; resumes when RUN holds a checkpoint.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Run configuration (configs/*.yaml).", Required = true };
        var data = new Option<string>("--data") { Description = "History collection directory (from dicp collect).", Required = true };
        var output = new Option<string>("--out") { Description = "Run directory: metrics.csv, checkpoints, model (resumed if it holds a checkpoint).", Required = true };
        var steps = new Option<int?>("--steps") { Description = "Override training.steps." };
        var seed = new Option<int?>("--seed") { Description = "Override training.seed (also seeds the model's initialisation)." };
        var set = new Option<string[]>("--set") { Description = "Override a configuration value: SECTION.KEY=VALUE (repeatable), e.g. --set model.n_transit=200 --set training.batch_size=16." };
        var backend = new Option<string>("--backend") { Description = "dicp (Dicp's CPU engine) or torchsharp (docs/torchsharp.md).", DefaultValueFactory = _ => "dicp" };
        backend.AcceptOnlyFromAmong(TorchTrainCommand.Backends);
        var device = new Option<string>("--device") { Description = "TorchSharp device: cpu or cuda (with --backend torchsharp).", DefaultValueFactory = _ => "cpu" };
        var precision = new Option<string>("--precision") { Description = "TorchSharp compute precision: fp32, or bf16 (bfloat16 matrix products on float32 master weights; with --backend torchsharp).", DefaultValueFactory = _ => "fp32" };
        precision.AcceptOnlyFromAmong(TorchTrainCommand.Precisions);
        var cmd = new Command("train", "Train an in-context model on learning histories.") { config, data, output, steps, seed, set, backend, device, precision };
        cmd.SetAction((parse, ct) => Task.FromResult(parse.GetValue(backend) == "torchsharp"
            ? TorchTrainCommand.Run(parse.GetValue(config)!, parse.GetValue(data)!, parse.GetValue(output)!, parse.GetValue(steps), parse.GetValue(seed), parse.GetValue(device)!, ct, parse.GetValue(set), parse.GetValue(precision)!)
            : parse.GetValue(precision) != "fp32" ? Fail("--precision bf16 needs --backend torchsharp (Dicp's engine computes in float32).")
            : Run(parse.GetValue(config)!, parse.GetValue(data)!, parse.GetValue(output)!, parse.GetValue(steps), parse.GetValue(seed), ct, sets: parse.GetValue(set))));
        return cmd;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 2;
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
        Func<ModelConfig, int, ITrainableInContextModel>? modelFactory = null, IReadOnlyList<string>? sets = null)
    {
        try
        {
            var config = Override(RunConfig.Load(configPath, sets), steps, seed);
            config.Validate(configPath);
            if (!File.Exists(Path.Combine(dataDir, HistoryFormat.ManifestFileName)))
                throw new ConfigException(Directory.Exists(dataDir)
                    ? $"--data {dataDir}: no {HistoryFormat.ManifestFileName}; not a history collection written by dicp collect."
                    : $"--data {dataDir}: the directory does not exist.");
            var manifest = HistoryManifest.Read(dataDir);
            CheckData(config, configPath, manifest, dataDir);
            using var train = HistoryDataset.Open(dataDir, HistorySplit.Train, config.Data.MaxTrainTasks, config.Data.Streams, config.Data.StepsPerStream, HistoryValueRules.For(config.Model));
            using var test = OpenTest(dataDir, config);
            var model = (modelFactory ?? InContextModels.Create)(config.Model, config.Training.Seed);
            var logger = new ConsoleLogger<Trainer>();
            using var runLock = LockRunDirectory(runDir);
            var trainer = CreateTrainer(model, train, test, config, runLock, logger,
                config.Evaluation.DuringTrainingEpisodes > 0 ? DuringTraining(config) : null);
            Console.Out.WriteLine($"{model.Name}: {model.Network.ParameterCount():N0} parameters; {train.Tasks.Count} train tasks × {train.Streams} streams × {train.StepsPerStream} steps"
                + (test is null ? "; no test tasks collected" : $"; {test.Tasks.Count} test tasks"));
            var r = trainer.Run(new Reporter(), ct);
            Console.Out.WriteLine($"done: step {r.FinalStep} in {r.Elapsed.TotalSeconds:F1} s; run directory {runDir}");
            return 0;
        }
        catch (TrainingCancelledException e)
        {
            Console.Error.WriteLine(e.Step > 0
                ? $"interrupted: kept the checkpoint of step {e.Step} ({e.CheckpointPath}) and metrics.csv and TensorBoard events up to step {e.Step}; run the same command again to resume (it continues bit for bit as if never stopped)."
                : $"interrupted before the first step; nothing to keep in {runDir}.");
            return 130;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"interrupted before training started; nothing was written to {runDir}.");
            return 130;
        }
        catch (Exception e) when (CliErrors.IsUserError(e))
        {
            return CliErrors.Report(e);
        }
    }

    /// <summary>
    /// Rejects a configuration whose data section disagrees with the collection: another environment, or another train/test
    /// split than the one recorded in the manifest (training and evaluation must use the same held-out tasks).
    /// </summary>
    /// <exception cref="ConfigException">The message names the key, both values and the manifest.</exception>
    internal static void CheckData(RunConfig config, string configPath, HistoryManifest manifest, string dataDir)
    {
        var where = Path.Combine(dataDir, HistoryFormat.ManifestFileName);
        if (TaskSetResolver.Canonical(manifest.Environment) != TaskSetResolver.Canonical(config.Data.Environment))
            throw new ConfigException($"{configPath}: data.environment is '{config.Data.Environment}' but {where} holds '{manifest.Environment}' histories.");
        if (manifest.Split.Seed != config.Data.SplitSeed)
            throw new ConfigException($"{configPath}: data.split_seed is {config.Data.SplitSeed} but {where} was split with seed {manifest.Split.Seed}; " +
                "set data.split_seed to the data's (evaluation must hold out the tasks training did not see).");
        if (manifest.Split.TrainRatio != config.Data.TrainRatio)
            throw new ConfigException($"{configPath}: data.train_ratio is {config.Data.TrainRatio.ToString(CultureInfo.InvariantCulture)} but {where} was split with ratio " +
                $"{manifest.Split.TrainRatio.ToString(CultureInfo.InvariantCulture)}; set data.train_ratio to the data's.");
    }

    /// <summary>
    /// Creates the run directory <paramref name="runDir"/> and takes its lock (held until disposed, across the identity check,
    /// the configuration it writes and the training), as every command that trains into a run directory does.
    /// </summary>
    /// <exception cref="ConfigException">The path is a file.</exception>
    /// <exception cref="IOException">Another process is training into the directory (the message names its lock file).</exception>
    internal static RunDirectoryLock LockRunDirectory(string runDir)
    {
        if (File.Exists(runDir)) throw new ConfigException($"--out {runDir}: a file, not a run directory.");
        return RunDirectoryLock.Acquire(runDir);
    }

    /// <summary>The run directory's TensorBoard folder.</summary>
    public const string TensorBoardFolder = "tensorboard";

    /// <summary>
    /// Checks the run directory's identity (<see cref="RunIdentity.Establish"/>: the model and data must be the run's;
    /// nothing is written when they are not), writes the resolved configuration into it and creates its trainer (metrics
    /// CSV, TensorBoard events, checkpoints with the configuration), as <c>dicp train</c> and <c>dicp quickstart</c> both run it.
    /// </summary>
    /// <exception cref="ConfigException">The run directory was trained with another model or data.</exception>
    internal static Trainer CreateTrainer(ITrainableInContextModel model, HistoryDataset train, HistoryDataset? test, RunConfig config,
        RunDirectoryLock runLock, Microsoft.Extensions.Logging.ILogger<Trainer>? logger, ITrainingEvaluation? evaluation)
    {
        var runDir = runLock.Directory;
        foreach (var name in new[] { TrainingCheckpoint.FileName, Trainer.ModelFileName, Trainer.MetricsFileName, RunConfig.FileName, RunIdentity.FileName })
            if (Directory.Exists(Path.Combine(runDir, name))) throw new ConfigException($"{Path.Combine(runDir, name)}: a directory where the run's file belongs.");
        var checkpoint = File.Exists(TrainingCheckpoint.PathIn(runDir));
        void CheckCheckpoint()
        {
            if (checkpoint && TrainingCheckpoint.Read(TrainingCheckpoint.PathIn(runDir)).ModelConfigJson is { } stored)
                ModelFile.CheckSame(ModelFile.ParseConfig(stored, TrainingCheckpoint.PathIn(runDir)), config.Model, TrainingCheckpoint.PathIn(runDir));
        }
        // The identity names the differing keys first; a run without one (an earlier Dicp's) has its checkpoint checked
        // before the identity is adopted from it.
        var identity = File.Exists(RunIdentity.PathIn(runDir));
        if (!identity) CheckCheckpoint();
        var messages = RunIdentity.Establish(runDir, config, train, test);
        if (identity) CheckCheckpoint();
        foreach (var line in messages)
            // the trainer's logger repeats a change of trainer options itself when it resumes a checkpoint
            if (!(line.StartsWith("warning:", StringComparison.Ordinal) && checkpoint && logger is not null)) Console.Error.WriteLine(line);
        AtomicFile.WriteAllText(Path.Combine(runDir, RunConfig.FileName), config.ToJson() + "\n");
        return new Trainer(model, train, test, config.Training, runDir, logger)
        {
            RunLock = runLock,
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
        return HistoryDataset.Open(dataDir, HistorySplit.Test, config.Data.MaxTestTasks, config.Data.Streams, config.Data.StepsPerStream, HistoryValueRules.For(config.Model));
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
            if (double.IsFinite(p.StepsPerSecond)) parts.Add(string.Create(CultureInfo.InvariantCulture, $"{p.StepsPerSecond:F2} steps/s"));
            CliOutput.Info(string.Join("  ", parts));
        }
    }
}
