using System.Diagnostics;
using System.Globalization;
using Dicp.Environments.MetaWorld;
using Dicp.Environments.MuJoCo;
using Dicp.Tensors;

// usage: Dicp.MetaWorldBench [--assets DIR] [--episodes N] [--seconds S] [--seed K] [--tasks a,b]
//   For each ML1 task: the scripted policy's success rate on the first N test variations (100-step horizon) and
//   single-thread environment steps per second under uniform random actions (resets timed separately).
//   Prints a Markdown table and one JSON line per task (stdout).
var opts = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i += 2)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) { Console.Error.WriteLine($"Unexpected argument '{args[i]}'."); return 2; }
    opts[args[i][2..]] = args[i + 1];
}
string Opt(string name, string fallback) => opts.TryGetValue(name, out var v) ? v : fallback;
var assets = Opt("assets", Path.Combine(AppContext.BaseDirectory, "../../../../../../shared/metaworld/assets_v2"));
var episodes = int.Parse(Opt("episodes", "50"), CultureInfo.InvariantCulture);
var seconds = double.Parse(Opt("seconds", "3"), CultureInfo.InvariantCulture);
var seed = int.Parse(Opt("seed", "0"), CultureInfo.InvariantCulture);
var names = Opt("tasks", string.Join(",", MetaWorldTasks.Names)).Split(',', StringSplitOptions.RemoveEmptyEntries);
var options = new MetaWorldOptions { AssetRoot = Path.GetFullPath(assets) };

Console.WriteLine($"MuJoCo {MuJoCoRuntime.Version}, shim {MuJoCoRuntime.ShimPath}, {Environment.ProcessorCount} logical CPUs, ML1 seed {seed}");
Console.WriteLine();
Console.WriteLine("| task | scripted success (test) | mean first-success step | env steps/s | reset ms | first load ms |");
Console.WriteLine("|---|---|---|---|---|---|");
var json = new List<string>();
foreach (var name in names)
{
    var sw = Stopwatch.StartNew();
    var tasks = new Ml1Tasks(name, options, seed);
    using (tasks.Create(0)) { }
    var loadMs = sw.Elapsed.TotalMilliseconds;

    var obs = new float[39];
    var action = new float[4];
    int successes = 0, n = Math.Min(episodes, Ml1Tasks.VariationsPerSplit);
    var firsts = new List<int>();
    foreach (var index in tasks.TestIndices.Take(n))
    {
        using var env = tasks.Create(index);
        if (!ScriptedPolicy.Has(env)) { n = 0; break; }
        var policy = ScriptedPolicy.For(env);
        env.Reset(0, obs);
        for (var t = 0; t < env.MaxEpisodeSteps; t++)
        {
            policy.Act(env, action);
            if (env.Step(action, obs).Success) { successes++; firsts.Add(t + 1); break; }
        }
    }

    using var bench = tasks.Create(tasks.TestIndices[0]);
    var rng = new Generator(1);
    long steps = 0, resets = 0;
    double stepSeconds = 0, resetSeconds = 0;
    var total = Stopwatch.StartNew();
    while (total.Elapsed.TotalSeconds < seconds)
    {
        var r0 = Stopwatch.GetTimestamp();
        bench.Reset(0, obs);
        resetSeconds += Stopwatch.GetElapsedTime(r0).TotalSeconds;
        resets++;
        var s0 = Stopwatch.GetTimestamp();
        for (var t = 0; t < bench.MaxEpisodeSteps; t++)
        {
            bench.ActionSpace.Sample(rng, action);
            bench.Step(action, obs);
        }
        stepSeconds += Stopwatch.GetElapsedTime(s0).TotalSeconds;
        steps += bench.MaxEpisodeSteps;
    }
    var sps = steps / stepSeconds;
    var resetMs = 1000 * resetSeconds / resets;
    var mean = firsts.Count > 0 ? firsts.Average() : double.NaN;
    var rate = n > 0 ? string.Create(CultureInfo.InvariantCulture, $"{successes}/{n} ({100.0 * successes / n:F0} %)") : "no scripted policy";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {rate} | {mean:F1} | {sps:F0} | {resetMs:F1} | {loadMs:F0} |"));
    json.Add(string.Create(CultureInfo.InvariantCulture,
        $"{{\"task\":\"{name}\",\"episodes\":{n},\"successes\":{successes},\"mean_first_success\":{(double.IsNaN(mean) ? "null" : mean.ToString("F2", CultureInfo.InvariantCulture))},\"steps_per_second\":{sps:F1},\"reset_ms\":{resetMs:F2},\"first_load_ms\":{loadMs:F1}}}"));
}
Console.WriteLine();
foreach (var line in json) Console.WriteLine(line);
return 0;
