using System.Diagnostics;
using System.Globalization;
using Dicp.Models;
using Dicp.Optim;
using Dicp.Tensors;

namespace Dicp.Benchmarks;

/// <summary>
/// Training steps of the library's own models at the paper's long-context configurations, on a synthetic batch:
/// step time (wall and process CPU), the process's peak resident memory during a step, and the 50 000-step estimate.
/// </summary>
/// <remarks>
/// Presets (the model sections of configs/ad-metaworld-ml1.yaml, configs/idt-metaworld-ml1.yaml and
/// configs/ad-key-to-door.yaml): <c>ad-ml1</c> (n_transit 1000, d 64, 8 heads, SwiGLU 256, batch 512), <c>idt-ml1</c>
/// (n_transit 1000, d 32, 4 heads, SwiGLU 128, batch 512), <c>ad-k2d</c> (n_transit 200, d 32, 4 heads, batch 4096).
/// Peak memory: Linux's VmHWM after writing 5 to /proc/self/clear_refs before the step (0 where unavailable).
/// </remarks>
public static class LongContext
{
    /// <summary>The preset's model configuration and its training batch size.</summary>
    public static (ModelConfig Config, int Batch) Preset(string name) => name switch
    {
        "ad-ml1" => (new ModelConfig(Model: "ad", ObservationSize: 11, StateClasses: 0, ActionCount: 0, ActionSize: 4, RewardClasses: 0,
            RewardMax: 10f, NTransit: 1000, EmbeddingDim: 64, Layers: 4, Heads: 8, Inner: 256, Dropout: 0.1f), 512),
        "idt-ml1" => (new ModelConfig(Model: "idt", ObservationSize: 11, StateClasses: 0, ActionCount: 0, ActionSize: 4, RewardClasses: 0,
            RewardMax: 10f, NTransit: 1000, EmbeddingDim: 32, Layers: 4, Heads: 4, Inner: 128, Dropout: 0.1f, SegmentLength: 10, LatentDim: 8), 512),
        "ad-k2d" => (new ModelConfig(Model: "ad", ObservationSize: 2, StateClasses: 81, ActionCount: 5, RewardClasses: 2,
            NTransit: 200, EmbeddingDim: 32, Layers: 4, Heads: 4, Inner: 128, Dropout: 0.1f), 4096),
        _ => throw new ArgumentException($"--preset must be ad-ml1, idt-ml1 or ad-k2d, got '{name}'."),
    };

    /// <summary>Runs <paramref name="warmup"/> + <paramref name="steps"/> training steps and prints one JSON line.</summary>
    public static void Run(string preset, int batchOverride, int steps, int warmup, bool verbose)
    {
        var (config, batch) = Preset(preset);
        if (batchOverride > 0) batch = batchOverride;
        var model = InContextModels.Create(config, seed: 1);
        model.Network.SetGenerator(new Generator(2));
        model.Network.Train();
        var parameters = model.Network.Parameters().ToArray();
        var opt = new AdamW(parameters, new AdamOptions(LearningRate: 1e-3f, Beta1: 0.9f, Beta2: 0.99f, Eps: 1e-8f, WeightDecay: 0.01f));
        var data = Synthetic(config, batch, model.SampleSteps, model.ReturnConditionedSegment > 0, seed: 3);
        var proc = Process.GetCurrentProcess();
        var wall = new List<double>();
        var cpu = new List<double>();
        long peak = 0;
        for (var s = 0; s < warmup + steps; s++)
        {
            ResetPeak();
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            var t0 = Stopwatch.GetTimestamp();
            float loss;
            using (TensorScope.Begin())
            {
                opt.ZeroGrad();
                var l = model.Loss(data).Total;
                l.Backward();
                GradClip.ClipGradNorm(parameters, 1f);
                opt.Step();
                loss = l.Item();
            }
            var ms = Trainer.Ms(t0, Stopwatch.GetTimestamp());
            proc.Refresh();
            var cms = (proc.TotalProcessorTime - c0).TotalMilliseconds;
            var hwm = PeakRssBytes();
            peak = Math.Max(peak, hwm);
            if (verbose) Console.Error.WriteLine($"{preset} b{batch} step {s}: {ms:F0} ms wall, {cms:F0} ms CPU, peak RSS {hwm / 1048576.0:F0} MiB, loss {loss:F4}");
            if (s >= warmup) { wall.Add(ms); cpu.Add(cms); }
        }
        var med = Stats.Median(wall);
        var medCpu = Stats.Median(cpu);
        var threads = Environment.ProcessorCount;
        new JsonLine()
            .Add("bench", "long-train").Add("preset", preset).Add("batch", batch).Add("steps_per_sample", model.SampleSteps)
            .Add("parameters", parameters.Sum(p => (long)p.Size)).Add("threads", threads).Add("steps", steps)
            .Add("step_ms_median", med, 1).Add("step_ms_min", wall.Min(), 1).Add("cpu_ms_per_step", medCpu, 1)
            .Add("peak_rss_mib", peak / 1048576.0, 0)
            .Add("hours_50k_steps_wall", med * 50000 / 3.6e6, 1)
            .Add("hours_50k_steps_cpu_over_threads", medCpu / threads * 50000 / 3.6e6, 1)
            .Add("load", Load(), 2)
            .Print();
    }

    /// <summary>A random batch of the right kinds: grid cells and action indices for discrete models, reals otherwise.</summary>
    private static WindowBatch Synthetic(ModelConfig c, int batch, int steps, bool returnsToGo, int seed)
    {
        var w = new WindowBatch(batch, steps, c.ObservationSize, c.ActionCount > 0 ? 1 : c.ActionSize, returnsToGo: returnsToGo);
        var g = new Generator(seed);
        var side = c.StateClasses > 0 ? (int)Math.Round(Math.Sqrt(c.StateClasses)) : 0;
        for (var i = 0; i < w.States.Length; i++)
        {
            w.States[i] = side > 0 ? (float)g.NextInt(side) : (float)g.NextNormal();
            w.NextStates[i] = side > 0 ? (float)g.NextInt(side) : (float)g.NextNormal();
        }
        for (var i = 0; i < w.Actions.Length; i++) w.Actions[i] = c.ActionCount > 0 ? g.NextInt(c.ActionCount) : 2f * g.NextFloat() - 1f;
        for (var i = 0; i < w.Rewards.Length; i++)
        {
            w.Rewards[i] = c.RewardClasses > 0 ? g.NextInt(c.RewardClasses) : c.RewardMax * g.NextFloat();
            w.Dones[i] = i % 100 == 99;
            if (w.ReturnsToGo is not null) w.ReturnsToGo[i] = 100f * g.NextFloat();
        }
        return w;
    }

    private static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static long PeakRssBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }

    /// <summary>The 1-minute load average (Linux), or −1.</summary>
    public static double Load()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture); }
        catch (IOException) { return -1; }
        catch (UnauthorizedAccessException) { return -1; }
    }
}
