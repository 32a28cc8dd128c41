using System.Diagnostics;
using System.Globalization;
using Dicp.Environments.MetaWorld;
using Dicp.Environments.MuJoCo;
using Dicp.MetaWorldBench;
using Dicp.Tensors;

const string Usage = """
    usage: Dicp.MetaWorldBench [--assets DIR] [--episodes N] [--seconds S] [--repeats R] [--seed K] [--tasks a,b]
      For each task (default: all of MetaWorldTasks.Names): the scripted policy's success rate on the first N ML1 test
      variations (default 50; 0 skips it; 100-step horizon) and single-thread environment steps per second under
      uniform random actions, timed R times (default 1) for S seconds each (default 3; resets timed separately): the
      table shows the best and the median of the R rates, and the steps per second of the thread's CPU time over all R
      (clock_gettime(CLOCK_THREAD_CPUTIME_ID): what an idle core would give, less cache contention). --assets defaults to ../shared/metaworld/assets_v2 next to
      the repository. Prints a Markdown table and one JSON line per task (stdout).
    """;
if (args.Contains("--help") || args.Contains("-h")) { Console.WriteLine(Usage); return 0; }
if (args.Length % 2 != 0) { Console.Error.WriteLine(Usage); return 2; }
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
var repeats = Math.Max(1, int.Parse(Opt("repeats", "1"), CultureInfo.InvariantCulture));
var seed = int.Parse(Opt("seed", "0"), CultureInfo.InvariantCulture);
var names = Opt("tasks", string.Join(",", MetaWorldTasks.Names)).Split(',', StringSplitOptions.RemoveEmptyEntries);
var options = new MetaWorldOptions { AssetRoot = Path.GetFullPath(assets) };

Console.WriteLine($"MuJoCo {MuJoCoRuntime.Version}, shim {MuJoCoRuntime.ShimPath}, {Environment.ProcessorCount} logical CPUs, ML1 seed {seed}");
Console.WriteLine();
Console.WriteLine($"| task | scripted success (test) | mean first-success step | env steps/s (best of {repeats}) | median | per CPU-second | reset ms | first load ms |");
Console.WriteLine("|---|---|---|---|---|---|---|---|");
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
    var rates = new double[repeats];
    long resets = 0, allSteps = 0;
    double resetSeconds = 0, stepCpuSeconds = 0;
    for (var r = 0; r < repeats; r++)
    {
        long steps = 0;
        double stepSeconds = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            var r0 = Stopwatch.GetTimestamp();
            bench.Reset(0, obs);
            resetSeconds += Stopwatch.GetElapsedTime(r0).TotalSeconds;
            resets++;
            var s0 = Stopwatch.GetTimestamp();
            var c0 = ThreadCpuClock.Seconds();
            for (var t = 0; t < bench.MaxEpisodeSteps; t++)
            {
                bench.ActionSpace.Sample(rng, action);
                bench.Step(action, obs);
            }
            stepCpuSeconds += ThreadCpuClock.Seconds() - c0;
            stepSeconds += Stopwatch.GetElapsedTime(s0).TotalSeconds;
            steps += bench.MaxEpisodeSteps;
        }
        rates[r] = steps / stepSeconds;
        allSteps += steps;
    }
    var cpuSps = allSteps / stepCpuSeconds;
    var sorted = rates.Order().ToArray();
    var sps = sorted[^1];
    var median = sorted[sorted.Length / 2];
    var resetMs = 1000 * resetSeconds / resets;
    var mean = firsts.Count > 0 ? firsts.Average() : double.NaN;
    var rate = n > 0 ? string.Create(CultureInfo.InvariantCulture, $"{successes}/{n} ({100.0 * successes / n:F0} %)")
        : episodes > 0 ? "no scripted policy" : "not run";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {rate} | {(double.IsNaN(mean) ? "–" : mean.ToString("F1", CultureInfo.InvariantCulture))} | {sps:F0} | {median:F0} | {cpuSps:F0} | {resetMs:F1} | {loadMs:F0} |"));
    json.Add(string.Create(CultureInfo.InvariantCulture,
        $"{{\"task\":\"{name}\",\"episodes\":{n},\"successes\":{successes},\"mean_first_success\":{(double.IsNaN(mean) ? "null" : mean.ToString("F2", CultureInfo.InvariantCulture))},\"steps_per_second\":{sps:F1},\"steps_per_second_runs\":[{string.Join(",", rates.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))}],\"steps_per_cpu_second\":{cpuSps:F1},\"reset_ms\":{resetMs:F2},\"first_load_ms\":{loadMs:F1}}}"));
}
Console.WriteLine();
foreach (var line in json) Console.WriteLine(line);
return 0;
