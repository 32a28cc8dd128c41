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
/// Planner settings not given on the command line come from the run's <c>planner</c> section (spec §5 defaults when the
/// configuration has none). <c>--samples</c> is beam search's L (first actions), the sampling planner's candidates and
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
        planner.AcceptOnlyFromAmong(PlannerNames);
        var beamK = new Option<int?>("--beam-k") { Description = "Beam search: paths kept per depth K (default: planner.beam_k, 10)." };
        var samples = new Option<int?>("--samples") { Description = "Beam search: first actions L (planner.beam_l, 5); sampling: candidates (planner.samples, 10); cem: population (32)." };
        var horizon = new Option<int?>("--horizon") { Description = "Planning depth for beam and cem (default: planner.horizon, 8)." };
        var startStep = new Option<int?>("--start-step") { Description = "Sampling and cem: plan only from this step of an episode on (default: planner.start_step)." };
        var deterministic = new Option<bool>("--deterministic") { Description = "Planners: take the most probable first actions / the policy mean instead of sampling." };
        var early = new Option<bool>("--plan-before-full-window") { Description = "Planners: plan from the first step instead of waiting for a full context window (planner.require_full_window: false)." };
        var label = new Option<string?>("--label") { Description = "Label of the curve in dicp plot (default: model + planner, e.g. \"DICP-AD + beam\")." };
        var cmd = new Command("evaluate", "Roll a trained model in context on the split's tasks and write results.json.")
            { run, episodes, split, output, greedy, seed, planner, beamK, samples, horizon, startStep, deterministic, early, label };
        cmd.SetAction((parse, ct) => Task.FromResult(Run(parse.GetValue(run)!, parse.GetValue(episodes), parse.GetValue(split)!, parse.GetValue(output),
            parse.GetValue(greedy), parse.GetValue(seed),
            new PlannerOverrides(parse.GetValue(planner), parse.GetValue(beamK), parse.GetValue(samples), parse.GetValue(horizon),
                parse.GetValue(startStep), parse.GetValue(deterministic), parse.GetValue(early)),
            parse.GetValue(label), ct)));
        return cmd;
    }

    /// <summary>The planner names <c>--planner</c> accepts.</summary>
    internal static readonly string[] PlannerNames = ["none", "beam", "sampling", "cem"];

    /// <summary>Runs the command with only a planner name overridden (tests and older callers).</summary>
    internal static int Run(string runDir, int? episodes, string split, string? output, bool greedy, int? seed, string? plannerName, CancellationToken ct,
        Func<ModelConfig, int, ITrainableInContextModel>? modelFactory = null) =>
        Run(runDir, episodes, split, output, greedy, seed, new PlannerOverrides(plannerName), null, ct, modelFactory);

    /// <summary>
    /// Runs the command; returns the exit code (0 done, 2 bad input, 130 interrupted). <paramref name="modelFactory"/> builds
    /// the model from the run's configuration (default: the library's factory), as in <see cref="TrainCommand.Run"/>.
    /// </summary>
    internal static int Run(string runDir, int? episodes, string split, string? output, bool greedy, int? seed, PlannerOverrides overrides,
        string? label, CancellationToken ct, Func<ModelConfig, int, ITrainableInContextModel>? modelFactory = null)
    {
        try
        {
            var config = RunConfig.ReadRun(runDir);
            var model = (modelFactory ?? InContextModels.Create)(config.Model, config.Training.Seed);
            var source = LoadWeights(model, runDir);
            model.Network.Eval();
            var tasks = TaskSetResolver.Resolve(config.Data.Environment);
            var (trainTasks, testTasks) = tasks.Split(config.Data.SplitSeed, config.Data.TrainRatio);
            var indices = (split == "train" ? trainTasks : testTasks).Take(config.Evaluation.MaxTasks ?? int.MaxValue).ToArray();
            var options = new EvaluationOptions(episodes ?? config.Evaluation.Episodes, seed ?? config.Evaluation.Seed,
                ReportSuccess: config.Data.Environment == "point-robot" || config.Data.Environment.StartsWith("metaworld", StringComparison.Ordinal));
            var plannerConfig = overrides.Apply(config.Planner);
            CheckPlanner(plannerConfig.Name, model);
            var planner = CreatePlanner(plannerConfig, greedy || config.Evaluation.Greedy, overrides.Deterministic, options.Seed);
            var curve = label ?? Label(model.Name, planner.Name);
            Console.Out.WriteLine($"{curve}: {model.Name} ({source}) on {indices.Length} {split} tasks of {config.Data.Environment}, {options.Episodes} episodes, " +
                $"planner {planner.Name} ({string.Join(", ", planner.Settings.Where(kv => kv.Key != "planner").Select(kv => $"{kv.Key} {kv.Value}"))})");
            var environments = indices.Select(tasks.Create).ToArray();
            var stepsPerEpisode = environments[0].MaxEpisodeSteps;
            var optimal = environments.All(e => e is IHasMaxReturn) ? environments.Average(e => (double)((IHasMaxReturn)e).MaxReturn) : (double?)null;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var result = InContextEvaluator.Run(model, environments, planner, options, null, ct);
            watch.Stop();
            var path = output ?? Path.Combine(runDir, "results.json");
            result.Save(path, new Dictionary<string, object?>
            {
                ["environment"] = config.Data.Environment,
                ["split"] = split,
                ["split_seed"] = config.Data.SplitSeed,
                ["task_indices"] = indices,
                ["run"] = Path.GetFullPath(runDir),
                ["weights"] = source,
                ["label"] = curve,
                ["steps_per_episode"] = stepsPerEpisode,
                ["optimal_return"] = optimal,
                ["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 2),
            });
            PrintTable(result);
            Console.Out.WriteLine($"evaluated in {watch.Elapsed.TotalSeconds:F1} s; wrote {path}");
            return 0;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted.");
            return 130;
        }
        catch (Exception e) when (e is ConfigException or IOException or ArgumentException or NotSupportedException or Nn.StateDictException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>Loads the final model, or the latest checkpoint's parameters when training has not finished.</summary>
    private static string LoadWeights(ITrainableInContextModel model, string runDir)
    {
        var final = Path.Combine(runDir, Trainer.ModelFileName);
        if (File.Exists(final))
        {
            model.Network.LoadStateDict(SafeTensors.Load(final), strict: true);
            return Trainer.ModelFileName;
        }
        var checkpoint = TrainingCheckpoint.PathIn(runDir);
        if (!File.Exists(checkpoint)) throw new FileNotFoundException($"'{runDir}' holds neither {Trainer.ModelFileName} nor {TrainingCheckpoint.FileName}; train first.", final);
        var c = TrainingCheckpoint.Read(checkpoint);
        model.Network.LoadStateDict(c.Model, strict: true);
        return $"checkpoint at step {c.Step}";
    }

    /// <summary>The planner named by <paramref name="config"/>, with its settings.</summary>
    /// <param name="config">Name and settings (the run's <c>planner</c> section with the command line's overrides).</param>
    /// <param name="greedy">The "none" planner acts greedily (argmax / mean).</param>
    /// <param name="deterministic">Beam search takes the L most probable first actions; sampling and CEM start from the policy mean without noise where they can.</param>
    /// <param name="seed">The planner's seed.</param>
    /// <exception cref="ArgumentException">Unknown planner name or an out-of-range setting.</exception>
    public static IPlanner CreatePlanner(PlannerConfig config, bool greedy, bool deterministic, int seed) => config.Name switch
    {
        "none" => new PolicyPlanner(new PolicyPlannerOptions(greedy, seed)),
        "beam" => new BeamSearchPlanner(new BeamSearchOptions(config.BeamK, config.BeamL, config.Horizon, deterministic,
            RequireFullWindow: config.RequireFullWindow, Seed: seed)),
        "sampling" => new SamplingPlanner(new SamplingOptions(config.Samples, config.StartStep, config.RequireFullWindow, Deterministic: deterministic, Seed: seed)),
        "cem" => new CemPlanner(new CemOptions(config.Horizon, Population: config.Population, Elites: Math.Min(config.Elites, config.Population),
            StartStep: config.StartStep, RequireFullWindow: config.RequireFullWindow, Deterministic: deterministic, Seed: seed)),
        _ => throw new ArgumentException($"Unknown planner '{config.Name}'; expected one of {string.Join(", ", PlannerNames)}."),
    };

    /// <summary>Rejects a planner the model cannot drive: planning needs dynamics heads; beam search discrete actions, sampling and CEM continuous ones.</summary>
    /// <exception cref="ArgumentException">The combination does not work (the message says why).</exception>
    internal static void CheckPlanner(string name, IInContextModel model)
    {
        if (name == "none") return;
        if (!model.HasDynamics)
            throw new ArgumentException($"Planner '{name}' needs a model with dynamics heads; '{model.Name}' has none (train a dicp-* configuration or use --planner none).");
        var discrete = model.ActionSpace is DiscreteSpace;
        if (name == "beam" && !discrete) throw new ArgumentException($"Planner 'beam' needs discrete actions; '{model.Name}' has continuous ones (use sampling or cem).");
        if (name is "sampling" or "cem" && discrete) throw new ArgumentException($"Planner '{name}' needs continuous actions; '{model.Name}' has discrete ones (use beam).");
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
                RequireFullWindow = c.RequireFullWindow && !PlanBeforeFullWindow,
            };
        }
    }
}
