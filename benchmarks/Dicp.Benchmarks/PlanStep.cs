using System.Diagnostics;
using Dicp.Autograd;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Tensors;

namespace Dicp.Benchmarks;

/// <summary>
/// Time per beam-search planning step of DICP-AD (or, with --model idt, DICP-IDT) on Darkroom (issue 6): E environments
/// with full windows of n_transit − 1 = 79 random grid transitions, K, L and the horizon as given, with the session's
/// shared-prefix evaluation or (--naive) the full recomputation of the window (IDT: of the Decisions-to-Go sequence) for
/// every candidate. Each timed step follows a fresh real transition, so the real context is encoded anew every step
/// (nothing carries over between steps); for IDT the steps walk through the segment positions j = 0 … c − 1 (the
/// Darkroom preset: c 10, dim_z 8, target return 20). The PyTorch peer of AD is <c>torch_twin.py plan-step</c> (the
/// reference's naive algorithm). <c>--reserve r</c> sets <see cref="SessionOptions.ImaginationReserve"/> (AD: every query
/// sees the last W − r real transitions; r ≥ H − 1 chains every node of a horizon-H plan onto its parent).
/// </summary>
public static class PlanStep
{
    /// <summary>Runs the measurement and prints one JSON line (<c>"impl":"dicp-shared"</c> or <c>"dicp-naive"</c>, and <c>"model"</c>).</summary>
    /// <param name="modelName"><c>"ad"</c> or <c>"idt"</c>.</param>
    /// <param name="reserve">The session's <see cref="SessionOptions.ImaginationReserve"/> (0: the whole window).</param>
    /// <exception cref="ArgumentException">A non-positive size, or a model other than ad and idt.</exception>
    /// <exception cref="NotSupportedException">This build has no DICP-AD model yet (<see cref="InContextModels.Create"/>).</exception>
    public static void Run(string modelName, int envs, int beamK, int samples, int horizon, int iters, int warmup, bool naive, bool verbose, int reserve = 0)
    {
        if (envs < 1 || beamK < 1 || samples < 1 || horizon < 1 || iters < 1 || warmup < 0)
            throw new ArgumentException("plan-step: --envs, --beam-k, --samples, --horizon and --iters must be positive, --warmup not negative.");
        if (modelName is not ("ad" or "idt")) throw new ArgumentException($"plan-step: --model must be ad or idt, got '{modelName}'.");
        var config = new ModelConfig(Model: modelName, Dynamics: true); // the Darkroom preset: n_transit 80, d 32, 4 layers (IDT: c 10, dim_z 8)
        ITrainableInContextModel model;
        try { model = InContextModels.Create(config, seed: 1234); }
        catch (NotSupportedException e)
        {
            throw new NotSupportedException(
                $"plan-step needs the DICP-AD model, which this build does not have yet: {e.Message.TrimEnd('.')}). Until the models " +
                "branch is merged only the PyTorch twin can be timed: torch_twin.py plan-step.", e);
        }
        model.Network.Eval();

        var actionCount = config.ActionCount;
        var session = model.CreateSession(envs, new SessionOptions(SharedPrefix: !naive, MaxCandidates: Math.Max(samples, beamK * actionCount),
            TargetReturns: modelName == "idt" ? Enumerable.Repeat(20f, envs).ToArray() : null, Seed: 5, ImaginationReserve: reserve));
        var rng = new Generator(77);
        int o = model.ObservationSize, window = model.WindowTransitions;
        float[] s = new float[envs * o], a = new float[envs], r = new float[envs], s2 = new float[envs * o];
        var dones = new bool[envs];
        for (var t = 0; t < window; t++)
        {
            for (var i = 0; i < envs * o; i++) { s[i] = rng.NextInt(9); s2[i] = rng.NextInt(9); }
            for (var e = 0; e < envs; e++) { a[e] = rng.NextInt(actionCount); r[e] = rng.NextInt(2); }
            session.Append(s, a, r, s2, dones);
        }
        var obs = new float[envs * o];
        for (var i = 0; i < obs.Length; i++) obs[i] = rng.NextInt(9);
        var request = new PlanRequest(obs, new int[envs], Enumerable.Repeat(horizon, envs).ToArray());
        var planner = new BeamSearchPlanner(new BeamSearchOptions(BeamWidth: beamK, FirstActions: samples, Horizon: horizon, Seed: 1));
        var actions = new float[envs];

        var times = new List<double>();
        long allocated = 0;
        int gcs = 0;
        using (GradMode.NoGrad())
        {
            for (var i = 0; i < warmup + iters; i++)
            {
                // A real planning step follows a real transition: append one (the window slides, every cached prefix
                // is invalidated), outside the timed region, so no iteration reuses the previous one's encodings.
                for (var j = 0; j < envs * o; j++) { s[j] = rng.NextInt(9); s2[j] = rng.NextInt(9); }
                for (var e = 0; e < envs; e++) { a[e] = rng.NextInt(actionCount); r[e] = rng.NextInt(2); }
                session.Append(s, a, r, s2, dones);
                if (i == warmup) Benchmarks.Collect();
                var (b0, g0) = (GC.GetAllocatedBytesForCurrentThread(), GC.CollectionCount(0));
                var t0 = Stopwatch.GetTimestamp();
                planner.Plan(session, request, actions);
                var ms = Trainer.Ms(t0, Stopwatch.GetTimestamp());
                if (i >= warmup) (allocated, gcs) = (allocated + GC.GetAllocatedBytesForCurrentThread() - b0, gcs + GC.CollectionCount(0) - g0);
                if (i >= warmup) times.Add(ms);
                if (verbose) Console.Error.WriteLine($"  {(i < warmup ? "warmup" : "iter")} {i}: {ms:F1} ms, actions [{string.Join(", ", actions)}]");
            }
        }
        var median = Stats.Median(times);
        // Backbone tokens of the KV-cached imagination per planning step (rollout nodes' own tokens; prefixes are
        // counted as encodings, each over one environment batch): the cost the rollout design states.
        var (stems, prefixes, extensions) = session switch
        {
            InContextSession ad => (ad.StemTokens, ad.PrefixEncodings, ad.PrefixExtensions),
            IdtSession idt => (idt.StemTokens, idt.PrefixEncodings, 0L),
            _ => (0L, 0L, 0L),
        };
        new JsonLine().Add("bench", "plan-step").Add("model", modelName).Add("impl", naive ? "dicp-naive" : "dicp-shared").Add("reserve", reserve)
            .Add("envs", envs).Add("beam_k", beamK).Add("samples", samples).Add("horizon", horizon).Add("window", window)
            .Add("iters", iters).Add("median_ms", median, 2).Add("min_ms", times.Min(), 2).Add("ms_per_env", median / envs, 3)
            .Add("stem_tokens_per_step", (double)stems / (warmup + iters), 1).Add("prefix_encodings_per_step", (double)prefixes / (warmup + iters), 1)
            .Add("prefix_extensions_per_step", (double)extensions / (warmup + iters), 1)
            .Add("alloc_mb_per_step", allocated / 1048576.0 / iters, 2).Add("gen0_gcs_per_step", (double)gcs / iters, 2)
            .Add("threads", Benchmarks.Threads)
            .Print();
    }
}
