using System.CommandLine;
using Dicp.Data;
using Dicp.Environments;
using Microsoft.Extensions.Logging;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp collect --env ENV --out DIR [--algorithm ppo|sac] [--tasks 0-80] [--streams 100] [--steps-per-stream 1000]
/// [--seed 0] [--parallel 0] [--shard I/N] [--split-seed N] [--train-ratio R] [--histories-from DIR] [--metaworld-assets DIR]</c>. Every user error is one line and exit code 2; a
/// cancellation (Ctrl-C, SIGTERM) keeps the finished tasks, says which, and exits with 130.
/// </summary>
internal static class CollectCommand
{
    /// <summary>The library's collection defaults, which the command's options take (never restated here).</summary>
    private static readonly HistoryCollectionOptions LibraryDefaults = new("");

    public static Command Create()
    {
        var env = new Option<string>("--env") { Description = TaskSetResolver.Description + ".", Required = true };
        env.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (!TaskSetResolver.IsKnown(v)) r.AddError($"Unknown environment '{v}'; expected {TaskSetResolver.Description}.");
        });
        var algorithm = new Option<string>("--algorithm") { Description = $"Source algorithm: ppo or sac (box actions only); default {LibraryDefaults.Algorithm}.", DefaultValueFactory = _ => LibraryDefaults.Algorithm };
        algorithm.AcceptOnlyFromAmong([.. HistoryCollectionOptions.Algorithms]);
        var assets = new Option<string?>("--metaworld-assets") { Description = $"Meta-World's assets_v2 folder (default: ${TaskSetResolver.AssetsVariable})." };
        var output = new Option<string>("--out") { Description = "Output directory (resumes if it holds part of the collection).", Required = true };
        var tasksOpt = new Option<string?>("--tasks") { Description = "Task indices, e.g. 0-80 or 3,38,40 (default: all; Meta-World: the train variations and the first 10 test variations, as the reference)." };
        var streams = new Option<int>("--streams") { Description = "Streams per task.", DefaultValueFactory = _ => LibraryDefaults.Streams };
        var steps = new Option<int>("--steps-per-stream") { Description = "Environment steps per stream.", DefaultValueFactory = _ => LibraryDefaults.StepsPerStream };
        var seed = new Option<int>("--seed") { Description = "Base seed (task i uses seed + i).", DefaultValueFactory = _ => LibraryDefaults.Seed };
        var parallel = new Option<int>("--parallel") { Description = "Tasks at once (0: all cores).", DefaultValueFactory = _ => LibraryDefaults.MaxParallelism };
        Positive(streams, 1);
        Positive(steps, 1);
        Positive(parallel, 0);
        var splitSeed = new Option<int?>("--split-seed")
        {
            Description = "Train/test split seed written to the manifest (default: the environment's, e.g. 0 for Darkroom). The histories "
                + "do not depend on it: with --histories-from another split's collection, this command only links its task files and writes the manifest.",
        };
        var historiesFrom = new Option<string?>("--histories-from")
        {
            Description = "Reuse the task files of this collection directory (e.g. another split's): each valid history of the same settings "
                + "is hard-linked (copied where a link is impossible) into --out and skipped; tasks it lacks are collected.",
        };
        var trainRatio = new Option<double?>("--train-ratio") { Description = "Fraction of the tasks in the train split (default: the environment's, 0.9 for Darkroom)." };
        trainRatio.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<double?>();
            if (v is { } x && !(x > 0 && x < 1)) r.AddError($"--train-ratio must lie strictly between 0 and 1, not {x.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        });
        var shard = new Option<string?>("--shard")
        {
            Description = "Collect only shard I of N (I/N, e.g. 0/4): the tasks at positions I, I+N, ... of the task list. "
                + "N processes or machines, one per shard, may write into the same --out at once.",
        };
        var cmd = new Command("collect", "Collect PPO or SAC learning histories, one safetensors file per task, plus manifest.json.")
        {
            env, output, algorithm, tasksOpt, streams, steps, seed, parallel, shard, splitSeed, trainRatio, historiesFrom, assets,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            var outDir = parse.GetValue(output)!;
            HistoryCollector collector;
            try
            {
                var tasks = TaskSetResolver.Resolve(parse.GetValue(env)!, parse.GetValue(assets));
                var spec = parse.GetValue(tasksOpt);
                var shardSpec = parse.GetValue(shard);
                var options = new HistoryCollectionOptions(outDir, spec is null ? TaskSetResolver.DefaultCollectTasks(tasks) : TaskSetResolver.ParseRanges(spec, "--tasks"),
                    parse.GetValue(streams), parse.GetValue(steps), parse.GetValue(seed), parse.GetValue(parallel),
                    SplitSeed: parse.GetValue(splitSeed), TrainRatio: parse.GetValue(trainRatio), Algorithm: parse.GetValue(algorithm)!,
                    Shard: shardSpec is null ? null : ParseShard(shardSpec), HistoriesFrom: parse.GetValue(historiesFrom));
                if (File.Exists(outDir)) throw new ArgumentException($"--out '{outDir}' is an existing file; it must be a directory.");
                collector = new HistoryCollector(tasks, options, new WarningLoggerFactory());
            }
            catch (ArgumentException e)
            {
                return Fail(e);
            }
            var gate = new object();
            var progress = new ProgressRelay<CollectionProgress>(p =>
            {
                if (p.Event == CollectionEvent.Advanced) return;
                lock (gate)
                {
                    if (CliOutput.Quiet) return;
                    Console.Out.WriteLine(p.Event switch
                    {
                        CollectionEvent.Completed => $"[{p.TasksFinished}/{p.TasksTotal}] task {p.TaskIndex}: done, mean return of the last 5 episodes {p.MeanReturn:F2}",
                        CollectionEvent.Skipped => $"[{p.TasksFinished}/{p.TasksTotal}] task {p.TaskIndex}: exists, skipped",
                        _ => $"[{p.TasksFinished}/{p.TasksTotal}] task {p.TaskIndex}: started",
                    });
                }
            });
            try
            {
                var r = await collector.RunAsync(progress, ct);
                Console.Out.WriteLine($"collected {r.Collected.Count}, skipped {r.Skipped.Count} in {r.Elapsed.TotalSeconds:F1} s"
                    + (r.Reused.Count > 0 ? $" ({r.Reused.Count} reused from '{parse.GetValue(historiesFrom)}': {r.Reused.Count - r.ReusedByCopy} linked, {r.ReusedByCopy} copied)" : ""));
                return 0;
            }
            catch (CollectionCanceledException e)
            {
                var finished = e.Partial.Collected.Concat(e.Partial.Skipped).Order().ToArray();
                Console.Error.WriteLine($"cancelled: kept {finished.Length} finished task(s) in '{outDir}'"
                    + (finished.Length > 0 ? $" ({Ranges(finished)}; {e.Partial.Collected.Count} collected by this run)" : "")
                    + $", {collector.TaskIndices.Count - finished.Length} not finished; run the same command again to resume.");
                return 130;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"cancelled before any task was collected in '{outDir}'; run the same command again to resume.");
                return 130;
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                return Fail(e); // e.g. SAC on a discrete action space, a directory of other settings, an unwritable --out
            }
        });
        return cmd;
    }

    /// <summary>Rejects values below <paramref name="min"/> at parse time (one line, exit code 2).</summary>
    private static void Positive(Option<int> option, int min) => option.Validators.Add(r =>
    {
        var v = r.GetValueOrDefault<int>();
        if (v < min) r.AddError($"{option.Name} must be at least {min}, got {v}.");
    });

    private static CollectionShard ParseShard(string text)
    {
        try
        {
            return CollectionShard.Parse(text);
        }
        catch (ArgumentException)
        {
            throw new ArgumentException($"--shard '{text}' is not I/N with 0 ≤ I < N (e.g. --shard 0/4 for the first of four shards).");
        }
    }

    /// <summary>Prints one error line (the stack trace too with --verbose) and returns exit code 2.</summary>
    private static int Fail(Exception e)
    {
        var message = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
        Console.Error.WriteLine($"error: {message.ReplaceLineEndings(" ")}");
        if (CliOutput.MinimumLevel <= LogLevel.Debug) Console.Error.WriteLine(e);
        return 2;
    }

    /// <summary>"0-3,7,9-10" for an ascending list.</summary>
    internal static string Ranges(IReadOnlyList<int> ascending)
    {
        var parts = new List<string>();
        for (var i = 0; i < ascending.Count;)
        {
            var j = i;
            while (j + 1 < ascending.Count && ascending[j + 1] == ascending[j] + 1) j++;
            parts.Add(j == i ? $"{ascending[i]}" : $"{ascending[i]}-{ascending[j]}");
            i = j + 1;
        }
        return "task" + (ascending.Count == 1 ? " " : "s ") + string.Join(",", parts);
    }

    /// <summary>Loggers that print warnings and errors only (the progress lines already say what happens).</summary>
    private sealed class WarningLoggerFactory : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new WarningLogger();

        public void AddProvider(ILoggerProvider provider) { }

        public void Dispose() { }

        private sealed class WarningLogger : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel)) Console.Error.WriteLine($"warning: {formatter(state, exception)}");
            }
        }
    }
}
