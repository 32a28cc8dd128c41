using System.CommandLine;
using System.Text.Json;

namespace Dicp.Cli;

/// <summary><c>dicp tasks ENV --split-seed N [--test|--train]</c>: one JSON line per task.</summary>
internal static class TasksCommand
{
    public static Command Create()
    {
        var env = new Argument<string>("env") { Description = TaskSetResolver.Description + "." };
        env.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (!TaskSetResolver.IsKnown(v)) r.AddError($"Unknown environment '{v}'; expected {TaskSetResolver.Description}.");
        });
        var splitSeed = new Option<int?>("--split-seed") { Description = "Split seed (default: the environment's reference seed)." };
        var ratio = new Option<double?>("--train-ratio") { Description = "Train fraction (default: the environment's reference ratio)." };
        ratio.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is { } v && !(v > 0 && v <= 1)) r.AddError($"--train-ratio {v.ToString(System.Globalization.CultureInfo.InvariantCulture)}: must be in (0, 1].");
        });
        var test = new Option<bool>("--test") { Description = "Only the test tasks (in split order)." };
        var train = new Option<bool>("--train") { Description = "Only the train tasks (in split order)." };
        var cmd = new Command("tasks", "List an environment's tasks as JSON lines {\"index\":38,\"task\":[4,2]}.") { env, splitSeed, ratio, test, train };
        cmd.SetAction((parse, ct) =>
        {
            var tasks = TaskSetResolver.Resolve(parse.GetValue(env)!, requireAssets: false);
            var (tr, te) = tasks.Split(parse.GetValue(splitSeed) ?? tasks.DefaultSplitSeed, parse.GetValue(ratio) ?? tasks.DefaultTrainRatio);
            IEnumerable<int> indices = parse.GetValue(test) ? te : parse.GetValue(train) ? tr : Enumerable.Range(0, tasks.Count);
            foreach (var i in indices)
                Console.Out.WriteLine(JsonSerializer.Serialize(new { index = i, task = tasks.Describe(i) }));
            return Task.FromResult(0);
        });
        return cmd;
    }
}
