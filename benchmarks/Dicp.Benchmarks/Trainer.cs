using System.Diagnostics;
using Dicp.Nn;
using Dicp.Optim;
using Dicp.Tensors;

namespace Dicp.Benchmarks;

/// <summary>Wall-clock split of one training step, in milliseconds.</summary>
public readonly record struct StepTimes(double Forward, double Backward, double Clip, double Optimizer, float Loss)
{
    /// <summary>Whole step.</summary>
    public double Total => Forward + Backward + Clip + Optimizer;
}

/// <summary>Managed bytes allocated on the calling thread in each phase of the last training step.</summary>
public readonly record struct StepBytes(long ZeroGrad, long Forward, long Backward, long Clip, long Optimizer, long ScopeEnd)
{
    /// <summary>Whole step on the calling thread.</summary>
    public long Total => ZeroGrad + Forward + Backward + Clip + Optimizer + ScopeEnd;
}

/// <summary>The benchmark model with the reference's optimizer: AdamW (lr 1e-2, betas (0.9, 0.99), wd 0.01), grad clip 1.</summary>
public sealed class Trainer
{
    /// <summary>Reference Darkroom window.</summary>
    public const int NTransit = 80;

    /// <summary>Creates model, optimizer and a fixed synthetic batch.</summary>
    public Trainer(int batch, int seed = 1234)
    {
        Model = new DicpAdModel(new TransformerConfig(DModel: 32, NLayer: 4, NHead: 4, NInner: 128, Dropout: 0.1f, MaxSeqLen: 128), NTransit, seed);
        Parameters = Model.Parameters().ToArray();
        Optimizer = new AdamW(Parameters, new AdamOptions(LearningRate: 1e-2f, Beta1: 0.9f, Beta2: 0.99f, Eps: 1e-8f, WeightDecay: 0.01f));
        Batch = SyntheticBatch.Create(batch, Model.ContextLength, seed + 1);
    }

    /// <summary>The model.</summary>
    public DicpAdModel Model { get; }

    /// <summary>Its parameters, in order.</summary>
    public Parameter[] Parameters { get; }

    /// <summary>The optimizer.</summary>
    public AdamW Optimizer { get; }

    /// <summary>The fixed input batch.</summary>
    public SyntheticBatch Batch { get; }

    /// <summary>Bytes allocated on the calling thread in each phase of the last <see cref="Step"/>.</summary>
    public StepBytes LastStepBytes { get; private set; }

    /// <summary>One full step: zero grads, forward + loss, backward, clip, AdamW.</summary>
    public StepTimes Step()
    {
        var b0 = GC.GetAllocatedBytesForCurrentThread();
        long b1, b2, b3, b4, b5;
        StepTimes times;
        var scope = TensorScope.Begin(); // op results go back to the buffer pool at the end of the step
        try
        {
            var t0 = Stopwatch.GetTimestamp();
            Optimizer.ZeroGrad();
            b1 = GC.GetAllocatedBytesForCurrentThread();
            var loss = Model.Loss(Batch);
            var t1 = Stopwatch.GetTimestamp();
            b2 = GC.GetAllocatedBytesForCurrentThread();
            loss.Backward();
            var t2 = Stopwatch.GetTimestamp();
            b3 = GC.GetAllocatedBytesForCurrentThread();
            GradClip.ClipGradNorm(Parameters, 1f);
            var t3 = Stopwatch.GetTimestamp();
            b4 = GC.GetAllocatedBytesForCurrentThread();
            Optimizer.Step();
            var t4 = Stopwatch.GetTimestamp();
            b5 = GC.GetAllocatedBytesForCurrentThread();
            times = new StepTimes(Ms(t0, t1), Ms(t1, t2), Ms(t2, t3), Ms(t3, t4), loss.Item());
        }
        finally
        {
            scope.Dispose();
        }
        var b6 = GC.GetAllocatedBytesForCurrentThread();
        LastStepBytes = new StepBytes(b1 - b0, b2 - b1, b3 - b2, b4 - b3, b5 - b4, b6 - b5);
        return times;
    }

    /// <summary>Inference forward (caller sets Eval and NoGrad).</summary>
    public void Forward() => Model.Forward(Batch.Context, Batch.QueryStates, Batch.QueryActions);

    /// <summary>Inference forward inside a <see cref="TensorScope"/>, so activations return to the buffer pool (as a planner would run it).</summary>
    public void ScopedForward()
    {
        using var scope = TensorScope.Begin();
        Forward();
    }

    /// <summary>
    /// Brings the engine's code to its steady (tier-1, PGO) state cheaply: ~40 training steps and forwards at batch 4,
    /// then a pause for the background JIT. Without it the first big steps run tier-0 code and take several seconds.
    /// </summary>
    public static void WarmJit(int steps = 40)
    {
        var tr = new Trainer(4, seed: 77);
        for (var i = 0; i < steps; i++) tr.Step();
        tr.Model.Eval();
        using (Dicp.Autograd.GradMode.NoGrad())
            for (var i = 0; i < steps; i++) tr.ScopedForward();
        Thread.Sleep(300);
        for (var i = 0; i < 5; i++) tr.ScopedForward();
    }

    /// <summary>
    /// Runs <paramref name="call"/> until it has run at least <paramref name="minCalls"/> times and for at least
    /// <paramref name="minSeconds"/>, waits for the background JIT, then runs it three more times: the steady state of a
    /// kernel at a new shape. <see cref="WarmJit"/>'s small steps do not reach the large-M GEMM path (its row tasks), so
    /// without this the first shape measured ran tier-0 code (qkv forward at 7 GFLOP/s, the same GEMM at 46 once warm).
    /// </summary>
    public static void Warm(Action call, int minCalls = 40, double minSeconds = 1.0)
    {
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < minCalls || Ms(t0, Stopwatch.GetTimestamp()) < minSeconds * 1000; i++) call();
        Thread.Sleep(200);
        for (var i = 0; i < 3; i++) call();
    }

    /// <summary>Milliseconds between two <see cref="Stopwatch"/> timestamps.</summary>
    public static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}

/// <summary>Process counters from /proc (Linux; zero elsewhere).</summary>
public static class ProcStat
{
    /// <summary>Minor page faults of this process so far (first touches of fresh memory, which the kernel zeroes).</summary>
    public static long MinorFaults()
    {
        try
        {
            var s = File.ReadAllText("/proc/self/stat");
            var fields = s[(s.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture); // field 10 (minflt)
        }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }
}

/// <summary>Small statistics helpers.</summary>
public static class Stats
{
    /// <summary>Median of the values.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var a = values.OrderBy(v => v).ToArray();
        if (a.Length == 0) return double.NaN;
        return a.Length % 2 == 1 ? a[a.Length / 2] : 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2]);
    }
}
