using System.Diagnostics;
using Dicp.Models;
using Dicp.Optim;
using Dicp.Tensors;

namespace Dicp.Benchmarks;

/// <summary>
/// Memory and time of a training step of the long-context configurations (the library's own models at the configs'
/// model settings, synthetic windows) at a batch that fits, and the estimate for the configs' 50 000 steps at their batch.
/// </summary>
/// <remarks>
/// The attention runs the recomputing path (probability budget 0, as it would at the configs' batch sizes) unless
/// <c>--budget-mb</c> says otherwise. Peak memory: process peak RSS (VmHWM) and the managed heap after the forward pass
/// (where activations peak). Time: wall-clock median, and CPU time per step over the worker count (what the step would
/// take with the cores to itself; on a loaded machine the wall time is inflated). Scaling to the target batch: per-sample memory (peak RSS − RSS before the first step) and
/// step time are taken as linear in the batch, which holds for every tensor of the step once no (B, H, T, T) buffer is kept.
/// <c>--compare</c> then alternates steps with the saved-probability path in the same process for the time ratio.
/// </remarks>
public static class LongContext
{
    /// <summary>The model settings of configs/ad-metaworld-ml1.yaml, idt-metaworld-ml1.yaml and ad-key-to-door.yaml, with their batch size.</summary>
    public static (ModelConfig Config, int Batch) Preset(string name) => name switch
    {
        "ad-ml1" => (new ModelConfig(Model: "ad", ObservationSize: 11, SourceObservationSize: 39, StateClasses: 0, ActionCount: 0, ActionSize: 4,
            RewardClasses: 0, RewardMax: 10f, NTransit: 1000, EmbeddingDim: 64, Layers: 4, Heads: 8, Inner: 256, Dropout: 0.1f, LearnTransition: false), 512),
        "idt-ml1" => (new ModelConfig(Model: "idt", ObservationSize: 11, SourceObservationSize: 39, StateClasses: 0, ActionCount: 0, ActionSize: 4,
            RewardClasses: 0, RewardMax: 10f, NTransit: 1000, EmbeddingDim: 32, Layers: 4, Heads: 4, Inner: 128, Dropout: 0.1f, LearnTransition: false,
            SegmentLength: 10, LatentDim: 8), 512),
        "ad-key-to-door" => (new ModelConfig(Model: "ad", ObservationSize: 2, StateClasses: 81, ActionCount: 5, RewardClasses: 2, NTransit: 200,
            EmbeddingDim: 32, Layers: 4, Heads: 4, Inner: 128, Dropout: 0.1f), 4096),
        _ => throw new ArgumentException($"--model must be ad-ml1, idt-ml1 or ad-key-to-door, got '{name}'."),
    };

    /// <summary>Runs the measurement and prints one JSON line (two with --compare).</summary>
    public static void Run(string preset, int batch, int steps, int warmup, long budgetMb, int targetSteps, bool compare, bool verbose)
    {
        var (config, targetBatch) = Preset(preset);
        if (batch <= 0 || steps <= 0) throw new ArgumentException("--batch and --steps must be positive.");
        var model = InContextModels.Create(config, seed: 1);
        var parameters = model.Network.Parameters().ToArray();
        var optimizer = new AdamW(parameters, new AdamOptions(LearningRate: 1e-2f, Beta1: 0.9f, Beta2: 0.99f, WeightDecay: 0.01f));
        var windows = Windows(config, model.SampleSteps, batch);
        var budget = budgetMb < 0 ? 0 : budgetMb << 20;
        Ops.AttentionProbabilityBudgetBytes = budget;

        Benchmarks.Collect();
        var rss0 = ProcStatus("VmRSS:");
        var times = new List<double>();
        var cpu = TimeSpan.Zero;
        long managedPeak = 0, allocated = 0;
        float loss = float.NaN;
        for (var i = 0; i < warmup + steps; i++)
        {
            var a0 = GC.GetTotalAllocatedBytes(true);
            var c0 = Process.GetCurrentProcess().TotalProcessorTime;
            var (ms, managed, l) = Step(model, windows, parameters, optimizer);
            if (i < warmup) continue;
            cpu += Process.GetCurrentProcess().TotalProcessorTime - c0;
            allocated += GC.GetTotalAllocatedBytes(true) - a0;
            times.Add(ms);
            managedPeak = Math.Max(managedPeak, managed);
            loss = l;
            if (verbose) Console.Error.WriteLine($"  step {i - warmup}: {ms:F0} ms, managed after forward {managed / 1e6:F0} MB, loss {loss:F4}");
        }
        var rssPeak = ProcStatus("VmHWM:");
        var median = Stats.Median(times);
        var scale = targetBatch / (double)batch;
        var t = model.SampleSteps + 1; // AD's tokens per window: n_transit − 1 transitions, the query state (and action)
        var savedPerLayer = (long)targetBatch * config.Heads * t * ((t + 15) / 16 * 16) * 4;
        var line = new JsonLine().Add("bench", "long-context").Add("impl", "dicp").Add("model", preset)
            .Add("batch", batch).Add("steps", steps).Add("threads", Benchmarks.Threads).Add("budget_mb", budget >> 20)
            .Add("median_ms", median, 1).Add("min_ms", times.Min(), 1)
            .Add("rss_before_mb", rss0 / 1e6, 1).Add("peak_rss_mb", rssPeak / 1e6, 1).Add("managed_after_forward_mb", managedPeak / 1e6, 1)
            .Add("allocated_bytes_per_step", allocated / steps).Add("loss", loss, 4)
            .Add("target_batch", targetBatch).Add("target_steps", targetSteps)
            .Add("est_step_s_at_target", median * scale / 1000, 2)
            .Add("est_hours_at_target", median * scale * targetSteps / 3.6e6, 1)
            // CPU time over the worker count: the wall time the step would take with the cores to itself (a loaded machine inflates the wall times)
            .Add("cpu_s_per_step", cpu.TotalSeconds / steps, 2)
            .Add("est_hours_at_target_from_cpu", cpu.TotalMilliseconds / steps / Benchmarks.Threads * scale * targetSteps / 3.6e6, 1)
            .Add("est_peak_rss_gb_at_target", (rss0 + (rssPeak - rss0) * scale) / 1e9, 2);
        if (config.Model == "ad") line.Add("saved_probs_gb_per_layer_at_target", savedPerLayer / 1e9, 1); // what the saved-probability path would keep
        line.Print();
        if (!compare) return;

        // Alternating steps, recomputing vs saved probabilities, in the same process (a loaded machine's drift cancels).
        var flash = new List<double>();
        var saved = new List<double>();
        for (var i = 0; i < 2 * steps + 2; i++)
        {
            Ops.AttentionProbabilityBudgetBytes = i % 2 == 0 ? 0 : long.MaxValue;
            var (ms, _, _) = Step(model, windows, parameters, optimizer);
            if (i < 2) continue;
            (i % 2 == 0 ? flash : saved).Add(ms);
        }
        new JsonLine().Add("bench", "long-context-compare").Add("impl", "dicp").Add("model", preset).Add("batch", batch).Add("pairs", steps)
            .Add("recompute_median_ms", Stats.Median(flash), 1).Add("saved_median_ms", Stats.Median(saved), 1)
            .Add("recompute_over_saved", Stats.Median(flash) / Stats.Median(saved), 3).Print();
    }

    /// <summary>
    /// Forward + backward of the attention op alone, saved probabilities vs recomputation, alternating call by call in
    /// one process (so the machine's load drifts out of the ratio); prints the medians and their ratio.
    /// </summary>
    public static void CompareAttention(int batch, int t, int heads, int headSize, float dropout, int iters)
    {
        var d = heads * headSize;
        var g = new Generator(11);
        var qkv = new Tensor(new float[batch * t * 3 * d], [batch, t, 3 * d], requiresGrad: true);
        g.FillUniform(qkv.Span, -1f, 1f);
        var rope = new RotaryCache(t, headSize);
        var seed = Enumerable.Repeat(1f / (batch * t * d), batch * t * d).ToArray();
        var times = new[] { new List<double>(), new List<double>() };
        for (var i = 0; i < 2 * iters + 6; i++)
        {
            var recompute = i % 2;
            Ops.AttentionProbabilityBudgetBytes = recompute == 1 ? 0 : long.MaxValue;
            qkv.ZeroGrad();
            using var scope = TensorScope.Begin();
            var t0 = Stopwatch.GetTimestamp();
            Ops.CausalSelfAttention(qkv, heads, rope, dropout, dropout > 0f ? g : null).Backward(seed);
            if (i >= 6) times[recompute].Add(Trainer.Ms(t0, Stopwatch.GetTimestamp()));
        }
        double saved = Stats.Median(times[0]), flash = Stats.Median(times[1]);
        new JsonLine().Add("bench", "attention-compare").Add("impl", "dicp").Add("batch", batch).Add("t", t).Add("heads", heads).Add("hs", headSize)
            .Add("dropout", dropout, 2).Add("iters", iters).Add("threads", Benchmarks.Threads)
            .Add("saved_fwd_bwd_ms", saved, 3).Add("recompute_fwd_bwd_ms", flash, 3).Add("recompute_over_saved", flash / saved, 3).Print();
    }

    private static (double Ms, long ManagedAfterForward, float Loss) Step(ITrainableInContextModel model, WindowBatch windows, Dicp.Nn.Parameter[] parameters, AdamW optimizer)
    {
        using var scope = TensorScope.Begin();
        var t0 = Stopwatch.GetTimestamp();
        optimizer.ZeroGrad();
        var loss = model.Loss(windows).Total;
        var managed = GC.GetTotalMemory(false);
        loss.Backward();
        GradClip.ClipGradNorm(parameters, 1f);
        optimizer.Step();
        return (Trainer.Ms(t0, Stopwatch.GetTimestamp()), managed, loss.Item());
    }

    /// <summary>Synthetic windows of valid values: grid cells, action indices or actions in [−1, 1], rewards, returns-to-go.</summary>
    private static WindowBatch Windows(ModelConfig c, int steps, int batch)
    {
        var w = new WindowBatch(batch, steps, c.ObservationSize, c.ActionSize, returnsToGo: c.Model == "idt");
        var g = new Generator(3);
        var side = c.StateClasses > 0 ? (int)Math.Round(Math.Sqrt(c.StateClasses)) : 0;
        float Obs() => side > 0 ? g.NextInt(side) : g.NextFloat() * 2 - 1;
        for (var i = 0; i < w.States.Length; i++) { w.States[i] = Obs(); w.NextStates[i] = Obs(); }
        for (var i = 0; i < w.Actions.Length; i++) w.Actions[i] = c.ActionCount > 0 ? g.NextInt(c.ActionCount) : g.NextFloat() * 2 - 1;
        for (var i = 0; i < w.Rewards.Length; i++) w.Rewards[i] = c.RewardClasses > 0 ? g.NextInt(c.RewardClasses) : g.NextFloat() * c.RewardMax;
        if (w.ReturnsToGo is { } rtg) for (var i = 0; i < rtg.Length; i++) rtg[i] = g.NextFloat() * 100f;
        return w;
    }

    /// <summary>A size field of /proc/self/status in bytes (0 where there is none).</summary>
    private static long ProcStatus(string field)
    {
        try
        {
            foreach (var l in File.ReadLines("/proc/self/status"))
                if (l.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(l[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        return 0;
    }
}
