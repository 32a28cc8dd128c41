using System.CommandLine;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.IO;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp evaluate --run RUN [--episodes N] [--split test|train] [--out results.json] [--greedy] [--seed S]
/// [--planner none|beam|sampling|cem] [--beam-k K] [--samples L] [--horizon H] [--start-step S] [--deterministic] [--label TEXT]</c>.
/// </summary>
/// <remarks>
/// Planner settings not given on the command line come from the run's <c>planner</c> section, and those it does not give
/// from the library's defaults (<see cref="PlannerConfig.Resolved"/>; the command states none of its own). <c>--samples</c> is beam search's L (first actions), the sampling planner's candidates and
/// CEM's population.
/// </remarks>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Run directory written by dicp train.", Required = true };
        var episodes = new Option<int?>("--episodes") { Description = "Episodes per task (default: evaluation.episodes of the run's configuration)." };
        var split = new Option<string>("--split") { Description = "Evaluate on the test or the train tasks.", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("test", "train");
        var output = new Option<string?>("--out") { Description = "Results file (default: RUN/results.json)." };
        var greedy = new Option<bool>("--greedy") { Description = "Act greedily (argmax / mean) instead of sampling." };
        var seed = new Option<int?>("--seed") { Description = "Seed of environments and sampling (default: evaluation.seed)." };
        var planner = new Option<string?>("--planner") { Description = "none, beam, sampling or cem (default: planner.name of the configuration)." };
        planner.AcceptOnlyFromAmong([.. Planners.Names]);
        var (beamDefaults, samplingDefaults, cemDefaults) = (new BeamSearchOptions(), new SamplingOptions(), new CemOptions());
        var beamK = new Option<int?>("--beam-k") { Description = $"Beam search: paths kept per depth K (default: planner.beam_k, {beamDefaults.BeamWidth})." };
        var samples = new Option<int?>("--samples") { Description = $"Beam search: first actions L (planner.beam_l, {beamDefaults.FirstActions}); sampling: candidates (planner.samples, {samplingDefaults.Candidates}); cem: population ({cemDefaults.Population})." };
        var horizon = new Option<int?>("--horizon") { Description = $"Planning depth for beam and cem (default: planner.horizon, beam {beamDefaults.Horizon}, cem {cemDefaults.Horizon})." };
        var startStep = new Option<int?>("--start-step") { Description = $"Sampling and cem: plan only from this step of an episode on (default: planner.start_step, sampling {samplingDefaults.StartStep}, cem {cemDefaults.StartStep})." };
        var deterministic = new Option<bool>("--deterministic") { Description = "Planners: take the most probable first actions / the policy mean instead of sampling." };
        var early = new Option<bool>("--plan-before-full-window") { Description = "Planners: plan from the first step instead of waiting for n_transit steps of context (planner.planning_start: first_step)." };
        var label = new Option<string?>("--label") { Description = "Label of the curve in dicp plot (default: model + planner, e.g. \"DICP-AD + beam\")." };
        var reserve = new Option<int?>("--imagination-reserve") { Description = "AD/DPT planning: show every query only the last W − r real transitions, so imagination up to depth r never slides the window and each rollout node runs only its new tokens (SessionOptions.ImaginationReserve; default: planner.imagination_reserve, 0: the whole window; a horizon-H beam needs H − 1)." };
        var expect = new Option<string?>("--expect") { Description = "Check that this evaluation reproduces a results file exactly (identical returns for every episode evaluated); exit code 1 if not. The planner, episodes, seed, imagination reserve and greedy / deterministic / plan-before-full-window flags not given on the command line are the file's; settings that differ from the file's are refused (exit code 2). Writes no results file unless --out is given." };
        var trace = new Option<string?>("--trace") { Description = "Also write every step of the evaluation to this CSV file (task, episode, step, observation, action, reward, next observation, done; where a planner planned, the best imagined path's actions and predicted rewards), to see where the agent went and what the world model expected. The results are the same with or without it." };
        var cmd = new Command("evaluate", "Roll a trained model in context on the split's tasks and write results.json.")
            { run, episodes, split, output, greedy, seed, planner, beamK, samples, horizon, startStep, deterministic, early, label, expect, reserve, trace };
        cmd.SetAction((parse, ct) => Task.FromResult(Run(parse.GetValue(run)!, parse.GetValue(episodes), parse.GetValue(split)!, parse.GetValue(output),
            parse.GetValue(greedy), parse.GetValue(seed),
            new PlannerOverrides(parse.GetValue(planner), parse.GetValue(beamK), parse.GetValue(samples), parse.GetValue(horizon),
                parse.GetValue(startStep), parse.GetValue(deterministic), parse.GetValue(early)),
            parse.GetValue(label), ct, expect: parse.GetValue(expect), reserve: parse.GetValue(reserve), trace: parse.GetValue(trace))));
        return cmd;
    }

    /// <summary>Runs the command with only a planner name overridden (tests and older callers).</summary>
    internal static int Run(string runDir, int? episodes, string split, string? output, bool greedy, int? seed, string? plannerName, CancellationToken ct,
        Func<ModelConfig, int, ITrainableInContextModel>? modelFactory = null) =>
        Run(runDir, episodes, split, output, greedy, seed, new PlannerOverrides(plannerName), null, ct, modelFactory);

    /// <summary>
    /// Runs the command; returns the exit code (0 done, 2 bad input, 130 interrupted). <paramref name="modelFactory"/> builds
    /// the model from the run's configuration (default: the library's factory), as in <see cref="TrainCommand.Run"/>.
    /// </summary>
    internal static int Run(string runDir, int? episodes, string split, string? output, bool greedy, int? seed, PlannerOverrides overrides,
        string? label, CancellationToken ct, Func<ModelConfig, int, ITrainableInContextModel>? modelFactory = null, string? expect = null, int? reserve = null,
        string? trace = null)
    {
        try
        {
            var config = RunConfig.ReadRun(runDir);
            var identity = RunIdentity.TryRead(runDir);
            var modelConfig = config.Model;
            var (splitSeed, trainRatio) = (config.Data.SplitSeed, config.Data.TrainRatio);
            if (identity is not null)
            {
                // The identity is what the run was trained with: its model and its split, whatever run-config.json says.
                modelConfig = identity.ModelConfig(runDir);
                var edited = ConfigDiff.Compare(modelConfig, config.Model, RunConfig.Json, "model");
                if (edited.Count > 0)
                    throw new ConfigException($"{Path.Combine(runDir, RunConfig.FileName)}: its model section differs from the run's {RunIdentity.FileName} " +
                        $"({ConfigDiff.Describe(edited)}, trained → edited); restore it.");
                (splitSeed, trainRatio) = identity.Split;
            }
            else Console.Error.WriteLine($"note: {runDir} has no {RunIdentity.FileName} (trained by an earlier Dicp): model and split from its {RunConfig.FileName}.");
            var path = output ?? (expect is null ? Path.Combine(runDir, "results.json") : null);
            if (path is not null) CheckOutput(path);
            if (trace is not null) CheckOutput(trace, "--trace", "trace.csv");
            if (expect is not null)
            {
                // Whatever the command line leaves open is taken from the file, so that `--expect FILE` alone re-runs it.
                _ = PlotCommand.ReadResults(expect);
                var made = ResultsCheck.ReadSettings(expect);
                episodes ??= made.Episodes;
                seed ??= made.Seed;
                reserve ??= made.ImaginationReserve;
                greedy |= made.Greedy;
                overrides = overrides with
                {
                    Name = overrides.Name ?? made.Planner,
                    Deterministic = overrides.Deterministic || made.Deterministic,
                    PlanBeforeFullWindow = overrides.PlanBeforeFullWindow || made.FirstStep,
                };
            }
            var model = (modelFactory ?? InContextModels.Create)(modelConfig, config.Training.Seed);
            var source = LoadWeights(model, modelConfig, runDir);
            model.Network.Eval();
            var tasks = TaskSetResolver.Resolve(config.Data.Environment);
            var (trainTasks, testTasks) = tasks.Split(splitSeed, trainRatio);
            var indices = (split == "train" ? trainTasks : testTasks).Take(config.Evaluation.MaxTasks ?? int.MaxValue).ToArray();
            var plannerConfig = overrides.Apply(config.Planner).Resolved();
            var imaginationReserve = reserve ?? plannerConfig.ImaginationReserve ?? 0;
            if (imaginationReserve < 0 || (imaginationReserve > 0 && imaginationReserve >= model.WindowTransitions))
                throw new ArgumentException($"{(reserve is null ? $"{Path.Combine(runDir, RunConfig.FileName)}: planner.imagination_reserve" : "--imagination-reserve")} " +
                    $"{imaginationReserve} (SessionOptions.ImaginationReserve) must leave real context: at least 0 and below the window's {model.WindowTransitions} transitions.");
            var options = new EvaluationOptions(episodes ?? config.Evaluation.Episodes, seed ?? config.Evaluation.Seed,
                ReportSuccess: config.Data.Environment == "point-robot" || config.Data.Environment.StartsWith("metaworld", StringComparison.Ordinal),
                ImaginationReserve: imaginationReserve);
            var planner = Planners.Create(plannerConfig, model, options.Seed, overrides.Deterministic, greedy || config.Evaluation.Greedy);
            var curve = label ?? Label(model.Name, planner.Name);
            var environments = indices.Select(tasks.Create).ToArray();
            var stepsPerEpisode = environments[0].MaxEpisodeSteps;
            if (PlanningNote(plannerConfig, model.WindowTransitions, options.Episodes, stepsPerEpisode) is { } note)
            {
                if (note.Planned == 0) throw new ArgumentException(note.Message);
                Console.Error.WriteLine(note.Message);
            }
            Console.Out.WriteLine($"{curve}: {model.Name} ({source}) on {indices.Length} {split} tasks of {config.Data.Environment}, {options.Episodes} episodes, " +
                $"planner {planner.Name} ({string.Join(", ", planner.Settings.Where(kv => kv.Key != "planner").Select(kv => $"{kv.Key} {kv.Value}"))})");
            var expected = expect is null ? null // a file made with other settings is refused before the evaluation, not after it
                : ResultsCheck.CheckSettings(planner.Name, planner.Settings, options.Seed, options.ImaginationReserve, indices, options.Episodes, expect);
            var optimal = environments.All(e => e is IHasMaxReturn) ? environments.Average(e => (double)((IHasMaxReturn)e).MaxReturn) : (double?)null;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var result = trace is null ? InContextEvaluator.Run(model, environments, planner, options, null, ct)
                : EvaluationTrace.Run(trace, indices, model, environments, planner, options, ct);
            watch.Stop();
            var metadata = new Dictionary<string, object?>
            {
                ["environment"] = config.Data.Environment,
                ["split"] = split,
                ["split_seed"] = splitSeed,
                ["task_indices"] = indices,
                ["run"] = Path.GetFullPath(runDir),
                ["weights"] = source,
                ["label"] = curve,
                ["steps_per_episode"] = stepsPerEpisode,
                ["optimal_return"] = optimal,
                ["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 2),
            };
            if (imaginationReserve != 0) metadata["imagination_reserve"] = imaginationReserve;
            if (path is not null) result.Save(path, metadata);
            PrintTable(result);
            Console.Out.WriteLine($"evaluated in {watch.Elapsed.TotalSeconds:F1} s" + (path is null ? "" : $"; wrote {path}") + (trace is null ? "" : $"; trace in {trace}"));
            if (expect is null) return 0;
            if (ResultsCheck.Compare(result, indices, expected!, expect) is { } difference)
            {
                Console.Error.WriteLine("error: " + difference);
                return 1;
            }
            Console.Out.WriteLine($"matches {expect}: {indices.Length} tasks × {options.Episodes} episodes, identical returns");
            return 0;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted: no results were written (the evaluation is deterministic: run the same command again to redo it).");
            return 130;
        }
        catch (Exception e) when (CliErrors.IsUserError(e))
        {
            return CliErrors.Report(e);
        }
    }

    /// <summary>
    /// Checks before any long work that the results file can be written: not a directory, its folder created, writable.
    /// </summary>
    /// <exception cref="ConfigException">It cannot be written (the message names the path).</exception>
    internal static void CheckOutput(string path, string option = "--out", string example = "results.json")
    {
        if (Directory.Exists(path)) throw new ConfigException($"{option} {path}: a directory; give the file's path (e.g. {Path.Combine(path, example)}).");
        try
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".{Path.GetFileName(path)}.probe-{Environment.ProcessId}");
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{option} {path}: cannot be written ({e.Message}).", e);
        }
    }

    /// <summary>How much of an evaluation a planner plans (it plans only once the window is full and from its start step).</summary>
    /// <param name="Planned">Steps of each task at which the planner plans (0: it never plans; every action is the policy's).</param>
    /// <param name="Message">What to tell the user.</param>
    internal sealed record PlanningCoverage(int Planned, string Message);

    /// <summary>
    /// For a planner other than none: the steps it plans in <paramref name="episodes"/> episodes of
    /// <paramref name="stepsPerEpisode"/> steps, as a message when it plans none of them or starts only after the first
    /// episode (null when it plans from the first episode on). Assumes episodes of full length (an upper bound otherwise).
    /// </summary>
    internal static PlanningCoverage? PlanningNote(PlannerConfig planner, int windowTransitions, int episodes, int stepsPerEpisode)
    {
        if (planner.Name == "none") return null;
        var total = episodes * stepsPerEpisode;
        planner = planner.Resolved();
        var from = planner.Start switch // the first step (0-based) at which the planner may plan
        {
            Planning.PlanningStart.NTransit => windowTransitions + 1, // n_transit real transitions seen
            Planning.PlanningStart.WindowFull => windowTransitions,
            _ => 0,
        };
        var startStep = planner.Name is "sampling" or "cem" ? planner.StartStep!.Value : 0;
        var planned = 0;
        var first = -1;
        for (var t = from; t < total; t++)
            if (t % stepsPerEpisode >= startStep)
            {
                planned++;
                if (first < 0) first = t;
            }
        if (planned == 0)
            return new PlanningCoverage(0, $"--planner {planner.Name} would never plan: it plans once the context window of {windowTransitions} transitions is full" +
                (startStep > 0 ? $" and from step {startStep} of an episode" : "") + $", but {episodes} episodes × {stepsPerEpisode} steps = {total} steps; " +
                $"every action would be the policy's (the same as --planner none). Give --episodes {(from + startStep) / stepsPerEpisode + 2} or more, or --plan-before-full-window.");
        var episode = first / stepsPerEpisode + 1;
        return episode == 1 ? null : new PlanningCoverage(planned, $"note: --planner {planner.Name} plans from episode {episode} on ({planned} of {total} steps per task); " +
            $"before, the context window ({windowTransitions} transitions) is not full and the policy acts.");
    }

    /// <summary>
    /// Loads the final model, or the latest checkpoint's parameters when training has not finished (the library's
    /// <see cref="ModelFile.LoadInto"/>, which checks that the file was written for <paramref name="config"/>); returns
    /// what was loaded, for the results file.
    /// </summary>
    private static string LoadWeights(ITrainableInContextModel model, ModelConfig config, string runDir)
    {
        var file = ModelFile.Locate(runDir);
        ModelFile.LoadInto(model, config, file);
        return Path.GetFileName(file) == Trainer.ModelFileName ? Trainer.ModelFileName
            : $"checkpoint at step {SafeTensorsFile.Read(file).Metadata.GetValueOrDefault("step", "?")}";
    }

    /// <summary>The default curve label: "AD", "DICP-AD", … plus " + planner" when one plans.</summary>
    internal static string Label(string model, string planner) =>
        model.ToUpperInvariant() + (planner == "none" ? "" : " + " + planner);

    private static void PrintTable(EvaluationResult r)
    {
        var n = r.MeanReturnPerEpisode.Length;
        var step = n <= 20 ? 1 : (n + 19) / 20;
        Console.Out.WriteLine(r.SuccessRatePerEpisode is null ? "episode  mean return" : "episode  mean return  success  cumulative success");
        for (var k = 0; k < n; k++)
        {
            if (k % step != 0 && k != n - 1) continue;
            var line = $"{k + 1,7}  {r.MeanReturnPerEpisode[k],11:F2}";
            if (r.SuccessRatePerEpisode is { } s) line += $"  {s[k],7:P0}  {r.CumulativeSuccessRatePerEpisode![k],18:P0}";
            Console.Out.WriteLine(line);
        }
    }

    /// <summary>Command-line values that override the run's <c>planner</c> section (null: keep the section's value).</summary>
    internal sealed record PlannerOverrides(string? Name, int? BeamK = null, int? Samples = null, int? Horizon = null, int? StartStep = null,
        bool Deterministic = false, bool PlanBeforeFullWindow = false)
    {
        /// <summary>The section with these overrides applied; <c>--samples</c> lands on the chosen planner's own count.</summary>
        public PlannerConfig Apply(PlannerConfig c)
        {
            var name = Name ?? c.Name;
            return c with
            {
                Name = name,
                BeamK = BeamK ?? c.BeamK,
                BeamL = name == "beam" ? Samples ?? c.BeamL : c.BeamL,
                Samples = name == "sampling" ? Samples ?? c.Samples : c.Samples,
                Population = name == "cem" ? Samples ?? c.Population : c.Population,
                Horizon = Horizon ?? c.Horizon,
                StartStep = StartStep ?? c.StartStep,
                PlanningStart = PlanBeforeFullWindow ? PlanningStart.FirstStep.Name() : c.PlanningStart,
            };
        }
    }
}
