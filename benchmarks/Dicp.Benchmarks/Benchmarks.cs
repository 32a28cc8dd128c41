using System.Diagnostics;
using Dicp.Autograd;
using Dicp.Tensors;

namespace Dicp.Benchmarks;

/// <summary>The subcommands that print JSON lines.</summary>
public static class Benchmarks
{
    /// <summary>Effective worker count (Environment.ProcessorCount, set by --threads through DOTNET_PROCESSOR_COUNT).</summary>
    public static int Threads => Environment.ProcessorCount;

    /// <summary>
    /// Warm-up runs at least this long (besides the requested number of steps): the tiered JIT replaces the first
    /// steps' code with optimised code only after call counting, instrumentation and a background compile, which
    /// under load took up to ~30 steps at batch 64.
    /// </summary>
    public const int MinWarmSeconds = 3;

    private static JsonLine Line(string bench) => new JsonLine().Add("bench", bench).Add("impl", "dicp");

    /// <summary>Median training-step time after warm-up.</summary>
    public static void AdTrain(int batch, int steps, int warmup, bool verbose)
    {
        var tr = new Trainer(batch);
        var lossFirst = float.NaN;
        var warmUntil = Stopwatch.GetTimestamp() + MinWarmSeconds * Stopwatch.Frequency;
        for (var i = 0; i < warmup || Stopwatch.GetTimestamp() < warmUntil; i++)
        {
            var w = tr.Step();
            if (i == 0) lossFirst = w.Loss;
            if (verbose) Console.Error.WriteLine($"  warmup {i}: {w.Total:F1} ms (fwd {w.Forward:F1}, bwd {w.Backward:F1}, clip {w.Clip:F1}, adamw {w.Optimizer:F1}) loss {w.Loss:F4}");
        }
        Collect();
        var cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var times = new List<StepTimes>();
        for (var i = 0; i < steps; i++)
        {
            var t = tr.Step();
            if (warmup == 0 && i == 0) lossFirst = t.Loss;
            times.Add(t);
            if (verbose) Console.Error.WriteLine($"  step {i}: {t.Total:F1} ms (fwd {t.Forward:F1}, bwd {t.Backward:F1}, clip {t.Clip:F1}, adamw {t.Optimizer:F1}) loss {t.Loss:F4}");
        }
        var cpuMs = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / steps;
        var median = Stats.Median(times.Select(t => t.Total));
        Line("ad-train").Add("cpu_ms_per_step", cpuMs, 2).Add("batch", batch).Add("steps", steps).Add("median_ms", median, 2).Add("steps_per_s", 1000.0 / median)
            .Add("min_ms", times.Min(t => t.Total), 2)
            .Add("threads", Threads)
            .Add("fwd_ms", Stats.Median(times.Select(t => t.Forward)), 2).Add("bwd_ms", Stats.Median(times.Select(t => t.Backward)), 2)
            .Add("clip_ms", Stats.Median(times.Select(t => t.Clip)), 2).Add("opt_ms", Stats.Median(times.Select(t => t.Optimizer)), 2)
            .Add("loss_first", lossFirst, 4).Add("loss_last", times[^1].Loss, 4).Add("params", tr.Model.ParameterCount())
            .Print();
    }

    /// <summary>Median forward time in evaluation mode without gradient recording.</summary>
    public static void AdInfer(int batch, int iters, int warmup, bool verbose)
    {
        var tr = new Trainer(batch);
        tr.Model.Eval();
        var times = new List<double>();
        var cpu0 = TimeSpan.Zero;
        using (GradMode.NoGrad())
        {
            var warmUntil = Stopwatch.GetTimestamp() + MinWarmSeconds * Stopwatch.Frequency;
            for (var i = 0; i < warmup || Stopwatch.GetTimestamp() < warmUntil; i++) tr.ScopedForward();
            Collect();
            cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < iters; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                tr.ScopedForward();
                times.Add(Trainer.Ms(t0, Stopwatch.GetTimestamp()));
                if (verbose) Console.Error.WriteLine($"  iter {i}: {times[^1]:F2} ms");
            }
        }
        var cpuMs = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / iters;
        var median = Stats.Median(times);
        Line("ad-infer").Add("cpu_ms_per_iter", cpuMs, 3).Add("batch", batch).Add("iters", iters).Add("median_ms", median, 3).Add("samples_per_s", batch * 1000.0 / median, 1)
            .Add("min_ms", times.Min(), 3)
            .Add("threads", Threads).Print();
    }

    /// <summary>Managed bytes allocated and GC counts per warm training step.</summary>
    public static void Alloc(int batch, int steps, int warmup)
    {
        var tr = new Trainer(batch);
        for (var i = 0; i < warmup; i++) tr.Step();
        Collect();
        var phases = new StepBytes[steps];
        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
        var pause0 = GC.GetTotalPauseDuration();
        var faults0 = ProcStat.MinorFaults();
        var t0 = Stopwatch.GetTimestamp();
        var bytes0 = GC.GetTotalAllocatedBytes(true); // everything the harness needs is allocated before this point
        for (var i = 0; i < steps; i++)
        {
            tr.Step();
            phases[i] = tr.LastStepBytes;
        }
        var bytes = GC.GetTotalAllocatedBytes(true) - bytes0;
        var elapsedMs = Trainer.Ms(t0, Stopwatch.GetTimestamp());
        var pause = GC.GetTotalPauseDuration() - pause0;
        var faults = ProcStat.MinorFaults() - faults0;
        Line("alloc").Add("batch", batch).Add("steps", steps)
            .Add("bytes_per_step", bytes / steps).Add("mb_per_step", bytes / (double)steps / (1 << 20), 2)
            .Add("gen0_per_step", (GC.CollectionCount(0) - g0) / (double)steps, 2)
            .Add("gen1_per_step", (GC.CollectionCount(1) - g1) / (double)steps, 2)
            .Add("gen2_per_step", (GC.CollectionCount(2) - g2) / (double)steps, 2)
            .Add("gc_pause_ms_per_step", pause.TotalMilliseconds / steps, 2)
            .Add("minor_faults_per_step", faults / steps).Add("faulted_mb_per_step", faults * 4096.0 / steps / (1 << 20), 1)
            .Add("step_ms", elapsedMs / steps, 2)
            .Add("threads", Threads)
            // the calling thread's share, by phase (the rest, if any, was allocated by worker threads)
            .Add("main_thread_bytes_per_step", phases.Sum(p => p.Total) / steps)
            .Add("zero_grad_bytes", phases.Sum(p => p.ZeroGrad) / steps).Add("forward_bytes", phases.Sum(p => p.Forward) / steps)
            .Add("backward_bytes", phases.Sum(p => p.Backward) / steps).Add("clip_bytes", phases.Sum(p => p.Clip) / steps)
            .Add("optimizer_bytes", phases.Sum(p => p.Optimizer) / steps).Add("scope_end_bytes", phases.Sum(p => p.ScopeEnd) / steps)
            .Print();
    }

    /// <summary>GFLOP/s of Ops.Linear (forward, and forward+backward) at the backbone's skinny shapes.</summary>
    public static void GemmBench(int m, int iters)
    {
        foreach (var (k, n, name) in new[] { (32, 96, "qkv"), (32, 128, "w1/w2"), (128, 32, "w3"), (32, 32, "proj") })
        {
            var g = new Generator(7);
            var x = new Tensor(new float[m * k], [m, k]);
            g.FillUniform(x.Span, -1f, 1f);
            var w = new Tensor(new float[n * k], [n, k], requiresGrad: true);
            g.FillUniform(w.Span, -0.1f, 0.1f);
            var flops = 2.0 * m * k * n;

            var fwd = new List<double>();
            using (GradMode.NoGrad())
            {
                Trainer.Warm(() => { using var _ = TensorScope.Begin(); Ops.Linear(x, w); });
                for (var i = 0; i < iters; i++)
                {
                    using var scope = TensorScope.Begin(); // the output goes back to the pool, as in a scoped training step
                    var t0 = Stopwatch.GetTimestamp();
                    Ops.Linear(x, w);
                    fwd.Add(Trainer.Ms(t0, Stopwatch.GetTimestamp()));
                }
            }
            // Backward: dx = dy·W (M×N·N×K) and dW = dyᵀ·x (N×M·M×K), 2× the forward FLOPs. The time includes what
            // Tensor.Backward(seed) does before the products (a cleared pooled dy and a scalar loop adding the seed into
            // it, ≈ 3–5 ms at M×N = 4 M); `profile` reports the bare GEMM kernels.
            x.RequiresGrad = true;
            var seed = new float[m * n];
            g.FillUniform(seed, -1f, 1f);
            var bwd = new List<double>();
            Trainer.Warm(() =>
            {
                x.ZeroGrad(); w.ZeroGrad();
                using var scope = TensorScope.Begin();
                Ops.Linear(x, w).Backward(seed);
            }, minCalls: 10);
            for (var i = 0; i < iters + 3; i++)
            {
                x.ZeroGrad(); w.ZeroGrad();
                using var scope = TensorScope.Begin();
                var y = Ops.Linear(x, w);
                var t0 = Stopwatch.GetTimestamp();
                y.Backward(seed);
                if (i >= 3) bwd.Add(Trainer.Ms(t0, Stopwatch.GetTimestamp()));
            }
            x.RequiresGrad = false;
            double fm = Stats.Median(fwd), bm = Stats.Median(bwd);
            Line("gemm").Add("layer", name).Add("m", m).Add("k", k).Add("n", n)
                .Add("fwd_ms", fm, 3).Add("fwd_gflops", flops / fm / 1e6, 1)
                .Add("bwd_ms", bm, 3).Add("bwd_gflops", 2 * flops / bm / 1e6, 1)
                .Add("threads", Threads).Print();
        }
    }

    /// <summary>
    /// Writes the model's weights, a small batch and its evaluation-mode outputs to a safetensors file, so that
    /// torch_twin.py can check that it computes the same function (ids are stored as float32).
    /// </summary>
    public static void Parity(string path, int batch)
    {
        var tr = new Trainer(batch);
        tr.Model.Eval();
        var tensors = new List<KeyValuePair<string, Tensor>>(tr.Model.StateDict().Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value)));
        using (GradMode.NoGrad())
        {
            var (a, r, s) = tr.Model.Forward(tr.Batch.Context, tr.Batch.QueryStates, tr.Batch.QueryActions);
            static Tensor Ids(int[] ids) => Tensor.FromArray(ids.Select(i => (float)i).ToArray(), ids.Length);
            tensors.Add(new("input.context", tr.Batch.Context));
            tensors.Add(new("input.query_states", Ids(tr.Batch.QueryStates)));
            tensors.Add(new("input.query_actions", Ids(tr.Batch.QueryActions)));
            tensors.Add(new("output.action", a.Clone()));
            tensors.Add(new("output.reward", r.Clone()));
            tensors.Add(new("output.next_state", s.Clone()));
        }
        Dicp.IO.SafeTensors.Save(path, tensors);
        Line("parity-export").Add("batch", batch).Add("file", path).Add("tensors", tensors.Count).Print();
    }

    /// <summary>Full collection so that earlier garbage is not charged to the measurement.</summary>
    public static void Collect()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }
}
