using System.Diagnostics;
using System.Globalization;

namespace Dicp.Training;

/// <summary>
/// The trainer's wall clock: the time spent in training steps (batch sampling, forward, backward, optimiser) between
/// two metric rows, and a <c>timing.csv</c> row per metric row. Kept apart from <c>metrics.csv</c> so that file stays
/// bit-identical across interrupted and resumed runs.
/// </summary>
internal sealed class StepTiming(string path, Stopwatch sinceStart)
{
    private readonly Stopwatch _steps = new();
    private readonly TimeSpan _cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
    private int _count;

    /// <summary>A training step starts.</summary>
    public void Resume() => _steps.Start();

    /// <summary>A training step ended.</summary>
    public void Pause()
    {
        _steps.Stop();
        _count++;
    }

    /// <summary>
    /// Appends the row of <paramref name="step"/> and returns the steps per second since the previous row (NaN without
    /// steps). Seconds are written to the millisecond: a short run of a small model can spend under 0.05 s of CPU
    /// between rows, and one decimal would read 0.
    /// </summary>
    public double Row(int step)
    {
        var rate = _count > 0 && _steps.Elapsed > TimeSpan.Zero ? _count / _steps.Elapsed.TotalSeconds : double.NaN;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - _cpuAtStart).TotalSeconds;
        var header = File.Exists(path) ? "" : "step,steps_per_second,wall_seconds,cpu_seconds\n";
        File.AppendAllText(path, header + string.Create(CultureInfo.InvariantCulture,
            $"{step},{rate:F3},{sinceStart.Elapsed.TotalSeconds:F3},{cpu:F3}\n"));
        _steps.Reset();
        _count = 0;
        return rate;
    }
}
