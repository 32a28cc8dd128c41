using System.CommandLine;
using Dicp.Data;
using Dicp.Environments;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp collect --env ENV --out DIR [--algorithm ppo|sac] [--tasks 0-80] [--streams 100] [--steps-per-stream 1000]
/// [--seed 0] [--metaworld-assets DIR]</c>.
/// </summary>
internal static class CollectCommand
{
    public static Command Create()
    {
        var env = new Option<string>("--env") { Description = TaskSetResolver.Description + ".", Required = true };
        env.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (!TaskSetResolver.IsKnown(v)) r.AddError($"Unknown environment '{v}'; expected {TaskSetResolver.Description}.");
        });
        var algorithm = new Option<string>("--algorithm") { Description = "Source algorithm: ppo (default) or sac (box actions only).", DefaultValueFactory = _ => "ppo" };
        algorithm.AcceptOnlyFromAmong([.. HistoryCollectionOptions.Algorithms]);
        var assets = new Option<string?>("--metaworld-assets") { Description = $"Meta-World's assets_v2 folder (default: ${TaskSetResolver.AssetsVariable})." };
        var output = new Option<string>("--out") { Description = "Output directory (resumes if it holds part of the collection).", Required = true };
        var tasksOpt = new Option<string?>("--tasks") { Description = "Task indices, e.g. 0-80 or 3,38,40 (default: all; Meta-World: the train variations and the first 10 test variations, as the reference)." };
        var streams = new Option<int>("--streams") { Description = "Streams per task.", DefaultValueFactory = _ => 100 };
        var steps = new Option<int>("--steps-per-stream") { Description = "Environment steps per stream.", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Base seed (task i uses seed + i).", DefaultValueFactory = _ => 0 };
        var parallel = new Option<int>("--parallel") { Description = "Tasks at once (0: all cores).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("collect", "Collect PPO or SAC learning histories, one safetensors file per task, plus manifest.json.")
        {
            env, output, algorithm, tasksOpt, streams, steps, seed, parallel, assets,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            ITaskSet tasks;
            HistoryCollector collector;
            try
            {
                tasks = TaskSetResolver.Resolve(parse.GetValue(env)!, parse.GetValue(assets));
                var spec = parse.GetValue(tasksOpt);
                var options = new HistoryCollectionOptions(parse.GetValue(output)!, spec is null ? TaskSetResolver.DefaultCollectTasks(tasks) : TaskSetResolver.ParseRanges(spec),
                    parse.GetValue(streams), parse.GetValue(steps), parse.GetValue(seed), parse.GetValue(parallel), Algorithm: parse.GetValue(algorithm)!);
                collector = new HistoryCollector(tasks, options);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
            var gate = new object();
            var progress = new ProgressRelay<CollectionProgress>(p =>
            {
                if (p.Event == CollectionEvent.Advanced || CliOutput.Quiet) return;
                lock (gate)
                    Console.Out.WriteLine(p.Event switch
                    {
                        CollectionEvent.Completed => $"[{p.TasksFinished}/{p.TasksTotal}] task {p.TaskIndex}: done, mean return of the last 5 episodes {p.MeanReturn:F2}",
                        CollectionEvent.Skipped => $"[{p.TasksFinished}/{p.TasksTotal}] task {p.TaskIndex}: exists, skipped",
                        _ => $"[{p.TasksFinished}/{p.TasksTotal}] task {p.TaskIndex}: started",
                    });
            });
            try
            {
                var r = await collector.RunAsync(progress, ct);
                Console.Out.WriteLine($"collected {r.Collected.Count}, skipped {r.Skipped.Count} in {r.Elapsed.TotalSeconds:F1} s");
                return 0;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message); // e.g. SAC on a discrete action space
                return 2;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("cancelled; run the same command again to resume.");
                return 130;
            }
        });
        return cmd;
    }

}
