using System.Diagnostics;
using Dicp.Models;
using Dicp.Tensors;

namespace Dicp.Benchmarks;

/// <summary>
/// World-model cost of one beam-search planning step of DICP-AD on Darkroom (d 32, 4 layers, n_transit 80, full
/// window): Predict at depth 0 with 5 candidates, then depths 1 … H − 1 with 50 candidates (10 paths × 5 actions),
/// shared-prefix (KV cache) against naive full recomputation.
/// </summary>
public static class PlanPredictBench
{
    /// <summary>Prints one JSON line per mode with the median planning-step time.</summary>
    public static void Run(int horizon, int iters, int warmup)
    {
        var config = new ModelConfig(Model: "ad", Dynamics: true, NTransit: 80);
        var model = InContextModels.Create(config, 0);
        var g = new Generator(1);
        var batches = new List<CandidateBatch>();
        for (var h = 0; h < horizon; h++)
        {
            var n = h == 0 ? 5 : 50;
            var b = new CandidateBatch(n, h, new float[n * h * 2], new float[n * h], new float[n * h], new float[n * h * 2], new float[n * 2], new float[n]);
            // As beam search: at depth 0 the 5 candidates share the current observation; deeper, each of the 10 kept
            // paths is expanded with the 5 actions (the 5 share the path's imagined transitions and query state).
            for (var path = 0; path < (h == 0 ? 1 : 10); path++)
            {
                float qx = g.NextInt(9), qy = g.NextInt(9);
                var imagined = new float[h * 6];
                for (var i = 0; i < imagined.Length; i++) imagined[i] = i % 6 == 2 ? g.NextInt(5) : i % 6 == 3 ? g.NextInt(2) : g.NextInt(9);
                for (var a = 0; a < 5; a++)
                {
                    var c = path * 5 + a;
                    for (var t = 0; t < h; t++)
                    {
                        var r = imagined.AsSpan(t * 6, 6); // s (2), a, r, s' (2)
                        b.ImaginedStates[(c * h + t) * 2] = r[0]; b.ImaginedStates[(c * h + t) * 2 + 1] = r[1];
                        b.ImaginedActions[c * h + t] = r[2]; b.ImaginedRewards[c * h + t] = r[3];
                        b.ImaginedNextStates[(c * h + t) * 2] = r[4]; b.ImaginedNextStates[(c * h + t) * 2 + 1] = r[5];
                    }
                    b.QueryStates[c * 2] = qx; b.QueryStates[c * 2 + 1] = qy;
                    b.QueryActions[c] = a;
                }
            }
            batches.Add(b);
        }
        foreach (var shared in new[] { true, false })
        {
            var session = model.CreateSession(1, new SessionOptions(SharedPrefix: shared, MaxCandidates: 64));
            var pred = new CandidatePredictions(new float[64], new float[128], null, new float[64 * 5]);
            var times = new List<double>();
            var perDepth = new double[horizon];
            for (var it = 0; it < warmup + iters; it++)
            {
                session.Append([g.NextInt(9), g.NextInt(9)], [g.NextInt(5)], [g.NextInt(2)], [g.NextInt(9), g.NextInt(9)], [false]);
                while (!session.IsWindowFull(0)) session.Append([1, 1], [0], [0], [1, 2], [false]);
                var sw = Stopwatch.StartNew();
                for (var h = 0; h < horizon; h++)
                {
                    var t0 = sw.Elapsed.TotalMilliseconds;
                    session.Predict(0, batches[h], pred);
                    if (it >= warmup) perDepth[h] += (sw.Elapsed.TotalMilliseconds - t0) / iters;
                }
                if (it >= warmup) times.Add(sw.Elapsed.TotalMilliseconds);
            }
            new JsonLine().Add("bench", "plan-predict").Add("impl", "dicp").Add("shared_prefix", shared ? 1 : 0)
                .Add("horizon", horizon).Add("candidates", batches.Sum(b => b.Count))
                .Add("median_ms", Stats.Median(times), 2).Add("min_ms", times.Min(), 2).Add("threads", Benchmarks.Threads)
                .Add("mean_ms_per_depth", string.Join(" ", perDepth.Select(v => v.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))).Print();
        }
    }
}
