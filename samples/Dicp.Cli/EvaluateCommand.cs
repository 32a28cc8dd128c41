using System.CommandLine;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.IO;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;

namespace Dicp.Cli;

/// <summary><c>dicp evaluate --run RUN [--episodes N] [--split test|train] [--out results.json] [--greedy] [--seed S] [--planner NAME]</c>.</summary>
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
        var planner = new Option<string?>("--planner") { Description = "none, beam or sampling (default: planner.name of the configuration)." };
        var cmd = new Command("evaluate", "Roll a trained model in context on the split's tasks and write results.json.") { run, episodes, split, output, greedy, seed, planner };
        cmd.SetAction((parse, ct) => Task.FromResult(Run(parse.GetValue(run)!, parse.GetValue(episodes), parse.GetValue(split)!, parse.GetValue(output),
            parse.GetValue(greedy), parse.GetValue(seed), parse.GetValue(planner), ct)));
        return cmd;
    }

    /// <summary>Runs the command; returns the exit code (0 done, 2 bad input, 130 interrupted).</summary>
    internal static int Run(string runDir, int? episodes, string split, string? output, bool greedy, int? seed, string? plannerName, CancellationToken ct)
    {
        try
        {
            var config = RunConfig.ReadRun(runDir);
            var model = TrainCommand.ModelFactory(config.Model, config.Training.Seed);
            var source = LoadWeights(model, runDir);
            model.Network.Eval();
            var tasks = TaskSetResolver.Resolve(config.Data.Environment);
            var (trainTasks, testTasks) = tasks.Split(config.Data.SplitSeed, config.Data.TrainRatio);
            var indices = (split == "train" ? trainTasks : testTasks).Take(config.Evaluation.MaxTasks ?? int.MaxValue).ToArray();
            var options = new EvaluationOptions(episodes ?? config.Evaluation.Episodes, seed ?? config.Evaluation.Seed,
                ReportSuccess: config.Data.Environment == "point-robot" || config.Data.Environment.StartsWith("metaworld", StringComparison.Ordinal));
            var planner = CreatePlanner(plannerName ?? config.Planner.Name, config.Planner, greedy || config.Evaluation.Greedy, options.Seed);
            Console.Out.WriteLine($"{model.Name} ({source}) on {indices.Length} {split} tasks of {config.Data.Environment}, {options.Episodes} episodes, planner {planner.Name}");
            var result = InContextEvaluator.Run(model, indices.Select(tasks.Create).ToArray(), planner, options, null, ct);
            var path = output ?? Path.Combine(runDir, "results.json");
            result.Save(path, new Dictionary<string, object?>
            {
                ["environment"] = config.Data.Environment,
                ["split"] = split,
                ["split_seed"] = config.Data.SplitSeed,
                ["task_indices"] = indices,
                ["run"] = Path.GetFullPath(runDir),
                ["weights"] = source,
            });
            PrintTable(result);
            Console.Out.WriteLine($"wrote {path}");
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

    /// <summary>The planner of a name; planners other than the policy come with the planning package.</summary>
    public static IPlanner CreatePlanner(string name, PlannerConfig config, bool greedy, int seed) => name switch
    {
        "none" => new PolicyPlanner(new PolicyPlannerOptions(greedy, seed)),
        "beam" or "sampling" => throw new NotSupportedException($"Planner '{name}' (k {config.BeamK}, l {config.BeamL}, horizon {config.Horizon}) is not available in this build; use --planner none."),
        _ => throw new ArgumentException($"Unknown planner '{name}'; expected none, beam or sampling."),
    };

    private static void PrintTable(EvaluationResult r)
    {
        var n = r.MeanReturnPerEpisode.Length;
        var step = n <= 20 ? 1 : (n + 19) / 20;
        Console.Out.WriteLine(r.SuccessRatePerEpisode is null ? "episode  mean return" : "episode  mean return  success");
        for (var k = 0; k < n; k++)
        {
            if (k % step != 0 && k != n - 1) continue;
            var line = $"{k + 1,7}  {r.MeanReturnPerEpisode[k],11:F2}";
            if (r.SuccessRatePerEpisode is { } s) line += $"  {s[k],7:P0}";
            Console.Out.WriteLine(line);
        }
    }
}
