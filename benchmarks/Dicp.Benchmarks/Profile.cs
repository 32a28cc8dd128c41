using System.Diagnostics;
using Dicp.Tensors;

namespace Dicp.Benchmarks;

/// <summary>
/// Where a training step's time goes: the step split (forward / backward / clip / AdamW) and microbenchmarks of every
/// op kind at the exact shapes of the DICP-AD step (forward with recording, then backward), multiplied by how often the
/// step uses it.
/// </summary>
/// <remarks>
/// A backward time includes allocating and seeding the output gradient (the seed span is added into a fresh zeroed
/// array) and allocating the inputs' zeroed gradients, as in a real step where each consumer allocates them.
/// </remarks>
public static class Profile
{
    private delegate void GemmFn(bool transA, bool transB, int m, int n, int k, float[] a, int aOff, int lda,
        float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, bool accumulate);

    /// <summary>
    /// Separates arithmetic from memory management: the internal GEMM kernel (reached by reflection — benchmark only)
    /// into a preallocated output, versus the cost of a fresh zeroed output array of the same size written once.
    /// </summary>
    private static void KernelProbes(int m)
    {
        var mi = typeof(Ops).Assembly.GetType("Dicp.Kernels.Gemm")?.GetMethod("Multiply",
            System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic);
        if (mi is null) { Console.Error.WriteLine("profile: Dicp.Kernels.Gemm.Multiply not found; skipping kernel probes."); return; }
        const System.Reflection.BindingFlags Any = System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic;
        T? Bind<T>(System.Reflection.MethodInfo? method) where T : Delegate
        {
            try { return method?.CreateDelegate<T>(); }
            catch (ArgumentException) { return null; } // the internal signature changed: skip that probe
        }
        var gemm = Bind<GemmFn>(mi);
        if (gemm is null) { Console.Error.WriteLine("profile: Gemm.Multiply has a new signature; skipping kernel probes."); return; }
        var transpose = Bind<TransposeFn>(typeof(Ops).Assembly.GetType("Dicp.Kernels.Gemm")?.GetMethod("Transpose", Any));
        var colSum = Bind<ColumnSumFn>(typeof(Ops).GetMethod("ColumnSumAccumulate", Any));
        var g = new Generator(3);
        foreach (var (k, n, name) in new[] { (32, 96, "qkv"), (32, 128, "w1/w2"), (128, 32, "w3") })
        {
            var x = new float[m * k]; var w = new float[n * k]; var y = new float[m * n]; var gy = new float[m * n];
            var gx = new float[m * k]; var gw = new float[n * k];
            g.FillUniform(x, -1f, 1f); g.FillUniform(w, -1f, 1f); g.FillUniform(gy, -1f, 1f);
            double Time(Action a)
            {
                Trainer.Warm(a);
                var t = new List<double>();
                if (Environment.GetEnvironmentVariable("DICP_BENCH_CPU_TIME") == "1")
                {
                    // CPU time of the whole process per call: with --threads 1, robust to other processes sharing the cores.
                    var proc = System.Diagnostics.Process.GetCurrentProcess();
                    var c0 = proc.TotalProcessorTime;
                    for (var i = 0; i < 50; i++) a();
                    proc.Refresh();
                    return (proc.TotalProcessorTime - c0).TotalMilliseconds / 50;
                }
                for (var i = 0; i < 20; i++) { var t0 = Stopwatch.GetTimestamp(); a(); t.Add(Trainer.Ms(t0, Stopwatch.GetTimestamp())); }
                return t.Min(); // the fastest of 20: robust to other processes sharing the cores

            }
            var flops = 2.0 * m * n * k;
            var fwd = Time(() => gemm(false, true, m, n, k, x, 0, k, w, 0, k, y, 0, n, false));          // y = x·Wᵀ
            var dx = Time(() => gemm(false, false, m, k, n, gy, 0, n, w, 0, k, gx, 0, k, true));         // dx += dy·W
            var dw = Time(() => gemm(true, false, n, k, m, gy, 0, n, x, 0, k, gw, 0, k, true));          // dW += dyᵀ·x
            var tr = new float[m * n];
            var packDy = transpose is null ? double.NaN : Time(() => transpose(gy, 0, n, m, n, tr));   // what packing dyᵀ costs (engine 0135ff2 did it inside every dW)
            var bias = new float[n];
            var biasGrad = colSum is null ? double.NaN : Time(() => colSum(gy, m, n, bias));            // db = Σ rows of dy
            var alloc = Time(() => { var fresh = new float[m * n]; fresh.AsSpan().Fill(1f); GC.KeepAlive(fresh); });
            var reuse = Time(() => y.AsSpan().Fill(1f));
            new JsonLine().Add("bench", "profile-kernel").Add("impl", "dicp").Add("layer", name).Add("m", m).Add("k", k).Add("n", n)
                .Add("gemm_fwd_ms", fwd, 3).Add("gemm_fwd_gflops", flops / fwd / 1e6, 1)
                .Add("gemm_dx_ms", dx, 3).Add("gemm_dx_gflops", flops / dx / 1e6, 1)
                .Add("gemm_dw_ms", dw, 3).Add("gemm_dw_gflops", flops / dw / 1e6, 1)
                .Add("transpose_dy_alone_ms", packDy, 3).Add("bias_grad_colsum_ms", biasGrad, 3)
                .Add("new_output_fill_ms", alloc, 3).Add("reused_output_fill_ms", reuse, 3).Print();
        }
    }

    private delegate void TransposeFn(float[] src, int off, int ld, int rows, int cols, float[] dst);

    private delegate void ColumnSumFn(float[] g, int rows, int cols, float[] acc);

    private sealed record OpCase(string Name, string Shape, int PerStep, Func<Tensor> Forward, Tensor[] Leaves);

    /// <summary>Runs the profile for <paramref name="batch"/> samples.</summary>
    public static void Run(int batch, int iters, int trainSteps, bool verbose, string? only = null)
    {
        const int D = 32, H = 4, Hidden = 128, T = Trainer.NTransit + 1, C = Trainer.NTransit - 1;
        var m = batch * T;
        var g = new Generator(99);
        Tensor Leaf(params int[] shape)
        {
            var t = new Tensor(new float[shape.Aggregate(1, (a, b) => a * b)], shape, requiresGrad: true);
            g.FillUniform(t.Span, -1f, 1f);
            return t;
        }
        Tensor Input(params int[] shape)
        {
            var t = Leaf(shape);
            t.RequiresGrad = false;
            return t;
        }

        var rope = new RotaryCache(128, D / H);
        var dropGen = new Generator(5);
        var targetsS = Enumerable.Range(0, batch).Select(i => i % 81).ToArray();
        var targetsA = Enumerable.Range(0, batch).Select(i => i % 5).ToArray();
        var targetsR = Enumerable.Range(0, batch).Select(i => i % 2).ToArray();
        var ids = Enumerable.Range(0, batch).Select(i => i % 81).ToArray();

        var x32 = Leaf(batch, T, D);
        var x32b = Leaf(batch, T, D);
        var x128a = Leaf(batch, T, Hidden);
        var x128b = Leaf(batch, T, Hidden);
        var qkv = Leaf(batch, T, 3 * D);
        var ctxIn = Input(batch, C, 10);
        var wQkv = Leaf(3 * D, D); var bQkv = Leaf(3 * D);
        var wProj = Leaf(D, D); var bProj = Leaf(D);
        var w1 = Leaf(Hidden, D); var w3 = Leaf(D, Hidden);
        var wEmb = Leaf(D, 10); var bEmb = Leaf(D);
        var norm = new Dicp.Nn.RmsNorm(D, 1e-5f, 0.1f);
        norm.SetGenerator(new Generator(6));
        var table = Leaf(81, D);
        var ctxTok = Leaf(batch, C, D); var qTok = Leaf(batch, 1, D); var aTok = Leaf(batch, 1, D);
        var head = Leaf(batch, 1, D);
        var wS = Leaf(81, D); var bS = Leaf(81);
        var logitsS = Leaf(batch, 81); var logitsA = Leaf(batch, 5); var logitsR = Leaf(batch, 2);

        string S(params int[] s) => "(" + string.Join(",", s) + ")";
        var cases = new List<OpCase>
        {
            new("attention", S(batch, T, 3 * D) + " h4 p0.1", 4, () => Ops.CausalSelfAttention(qkv, H, rope, 0.1f, dropGen), [qkv]),
            new("linear_qkv", S(m, D) + "x" + S(3 * D, D) + "+b", 4, () => Ops.Linear(x32, wQkv, bQkv), [x32, wQkv, bQkv]),
            new("linear_proj", S(m, D) + "x" + S(D, D) + "+b", 4, () => Ops.Linear(x32, wProj, bProj), [x32, wProj, bProj]),
            new("linear_w1_w2", S(m, D) + "x" + S(Hidden, D), 8, () => Ops.Linear(x32, w1), [x32, w1]),
            new("linear_w3", S(m, Hidden) + "x" + S(D, Hidden), 4, () => Ops.Linear(x128a, w3), [x128a, w3]),
            new("linear_embed", S(batch * C, 10) + "x" + S(D, 10) + "+b", 1, () => Ops.Linear(ctxIn, wEmb, bEmb), [wEmb, bEmb]),
            // The blocks' norms: nn.RmsNorm in training mode = input dropout 0.1 then RMSNorm (fused in the engine since 2026-11).
            new("dropout+rmsnorm", S(m, D) + " p0.1", 8, () => norm.Forward(x32), [x32, norm.Weight]),
            new("swiglu", S(m, Hidden), 4, () => Ops.SwiGlu(x128a, x128b), [x128a, x128b]),
            new("add_residual", S(m, D), 8, () => Ops.Add(x32, x32b), [x32, x32b]),
            new("concat_tokens", S(batch, C, D) + "+2", 1, () => Ops.Concat([ctxTok, qTok, aTok], 1), [ctxTok, qTok, aTok]),
            new("slice_query", S(batch, T, D) + "[80]", 2, () => Ops.Slice(x32, 1, T - 1, 1), [x32]),
            new("embedding", S(batch) + " of (81,32)", 2, () => Ops.Embedding(table, ids, [batch, 1]), [table]),
            new("heads_linear", S(batch, D) + "x" + S(81, D), 1, () => Ops.Linear(head, wS, bS), [head, wS, bS]),
            new("cross_entropy_81", S(batch, 81), 1, () => Ops.CrossEntropy(logitsS, targetsS), [logitsS]),
            new("cross_entropy_5+2", S(batch, 5) + "+" + S(batch, 2), 1, () => Ops.Add(Ops.CrossEntropy(logitsA, targetsA), Ops.CrossEntropy(logitsR, targetsR)), [logitsA, logitsR]),
        };

        double sumFwd = 0, sumBwd = 0;
        var rows = new List<(OpCase Op, double F, double B, long Faults)>();
        if (only == "kernels")
        {
            KernelProbes(m);
            return;
        }
        if (only is not null)
        {
            cases.RemoveAll(c => c.Name != only);
            if (cases.Count == 0) throw new ArgumentException($"--only: no op named '{only}'.");
        }
        foreach (var op in cases)
        {
            var f = new List<double>();
            var b = new List<double>();
            float[]? seed = null;
            const int Warm = 5; // no forced GC here: a compacting collection hands memory back and every call then faults it in again
            var faults0 = 0L;
            for (var i = 0; i < iters + Warm; i++)
            {
                if (i == Warm) faults0 = ProcStat.MinorFaults();
                foreach (var l in op.Leaves) l.ZeroGrad();
                using var scope = TensorScope.Begin(); // results and saved activations go back to the pool, as in a training step
                var t0 = Stopwatch.GetTimestamp();
                var y = op.Forward();
                var t1 = Stopwatch.GetTimestamp();
                seed ??= Enumerable.Repeat(1f / y.Size, y.Size).ToArray();
                y.Backward(seed);
                var t2 = Stopwatch.GetTimestamp();
                if (i >= Warm) { f.Add(Trainer.Ms(t0, t1)); b.Add(Trainer.Ms(t1, t2)); }
                if (verbose) Console.Error.WriteLine($"  {op.Name} iter {i}: fwd {Trainer.Ms(t0, t1):F3} ms, bwd {Trainer.Ms(t1, t2):F3} ms");
            }
            var faultsPerIter = (ProcStat.MinorFaults() - faults0) / Math.Max(1, iters);
            double fm = Stats.Median(f), bm = Stats.Median(b);
            rows.Add((op, fm, bm, faultsPerIter));
            sumFwd += op.PerStep * fm;
            sumBwd += op.PerStep * bm;
        }
        if (only is not null)
        {
            var (o, fo, bo, _) = rows[0];
            new JsonLine().Add("bench", "profile-op").Add("impl", "dicp").Add("op", o.Name).Add("shape", o.Shape)
                .Add("fwd_ms", fo, 3).Add("bwd_ms", bo, 3).Add("threads", Benchmarks.Threads).Print();
            return;
        }
        // Whole-step split (after the op microbenchmarks, which run on a fresh heap).
        var tr = new Trainer(batch);
        for (var i = 0; i < 3; i++) tr.Step();
        Benchmarks.Collect();
        var steps = Enumerable.Range(0, trainSteps).Select(_ => tr.Step()).ToList();
        double fwd = Stats.Median(steps.Select(s => s.Forward)), bwd = Stats.Median(steps.Select(s => s.Backward));
        double clip = Stats.Median(steps.Select(s => s.Clip)), opt = Stats.Median(steps.Select(s => s.Optimizer));
        var total = Stats.Median(steps.Select(s => s.Total));
        new JsonLine().Add("bench", "profile-step").Add("impl", "dicp").Add("batch", batch).Add("step_ms", total, 2)
            .Add("fwd_ms", fwd, 2).Add("bwd_ms", bwd, 2).Add("clip_ms", clip, 2).Add("opt_ms", opt, 2).Add("threads", Benchmarks.Threads).Print();

        foreach (var (op, fm, bm, faults) in rows.OrderByDescending(r => r.Op.PerStep * (r.F + r.B)))
        {
            var perStep = op.PerStep * (fm + bm);
            new JsonLine().Add("bench", "profile-op").Add("impl", "dicp").Add("op", op.Name).Add("shape", op.Shape)
                .Add("per_step", op.PerStep).Add("fwd_ms", fm, 3).Add("bwd_ms", bm, 3)
                .Add("step_share_ms", perStep, 2).Add("pct_of_step", 100 * perStep / total, 1)
                .Add("minor_faults_per_call", faults).Print();
        }
        KernelProbes(m);
        new JsonLine().Add("bench", "profile-sum").Add("impl", "dicp").Add("batch", batch)
            .Add("ops_fwd_ms", sumFwd, 2).Add("ops_bwd_ms", sumBwd, 2).Add("ops_total_ms", sumFwd + sumBwd, 2)
            .Add("measured_fwd_bwd_ms", fwd + bwd, 2).Add("unattributed_ms", fwd + bwd - sumFwd - sumBwd, 2).Print();
    }
}
