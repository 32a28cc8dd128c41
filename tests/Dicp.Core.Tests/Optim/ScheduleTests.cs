using Dicp.Optim;
using Xunit;

namespace Dicp.Tests.Optim;

/// <summary>
/// <see cref="CosineSchedule"/> against its documented formula, evaluated by hand here:
/// warm-up lr(s) = base·(s + 1)/W for s &lt; W; then lr(s) = min + ½(base − min)(1 + cos(π·clamp((s − W)/(S − W), 0, 1))).
/// Without warm-up this is PyTorch's <c>CosineAnnealingLR</c> closed form with T_max = S (held at min after S).
/// Tolerance: 1e-6 relative (the schedule returns float).
/// </summary>
public class ScheduleTests
{
    private static void Near(double expected, float actual, string what) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-6 * Math.Abs(expected) + 1e-12, $"{what}: {actual:R}, expected {expected:R}");

    [Fact]
    public void WithoutWarmupStartsAtBaseHalvesAtTheMiddleAndEndsAtZero()
    {
        var s = new CosineSchedule(BaseLearningRate: 1e-3f, TotalSteps: 100);
        Assert.Equal(1e-3f, s.At(0));                         // cos 0 = 1: exactly the base rate
        Near(0.5e-3 * (1 + Math.Sqrt(0.5)), s.At(25), "quarter"); // ½(1 + cos π/4) = 0.853553…
        Near(8.5355339e-4, s.At(25), "quarter (literal)");
        Near(5e-4, s.At(50), "middle");
        Near(0.5e-3 * (1 - Math.Sqrt(0.5)), s.At(75), "three quarters");
        Assert.True(Math.Abs(s.At(100)) < 1e-12f, $"end: {s.At(100)}");
        Assert.True(Math.Abs(s.At(1000)) < 1e-12f, $"after the end: {s.At(1000)}"); // held, not periodic
    }

    [Fact]
    public void WithoutWarmupMatchesCosineAnnealingLrAtEveryStep()
    {
        const double Base = 0.01, Min = 1e-4;
        const int TMax = 37;
        var s = new CosineSchedule((float)Base, TMax, MinLearningRate: (float)Min);
        for (var t = 0; t <= TMax; t++)
            Near((float)Min + ((float)Base - (float)Min) * (1 + Math.Cos(Math.PI * t / TMax)) / 2, s.At(t), $"step {t}");
    }

    [Fact]
    public void MinimumLearningRateIsTheFloor()
    {
        var s = new CosineSchedule(BaseLearningRate: 1e-3f, TotalSteps: 100, MinLearningRate: 1e-4f);
        Near(1e-3, s.At(0), "start");
        Near(1e-4 + 0.5 * 9e-4, s.At(50), "middle");   // 5.5e-4
        Near(5.5e-4, s.At(50), "middle (literal)");
        Near(1e-4, s.At(100), "end");
        Near(1e-4, s.At(5000), "after the end");
    }

    [Fact]
    public void WarmupRisesLinearlyToTheBaseThenDecays()
    {
        const float Base = 3e-3f, Min = 3e-4f;
        var s = new CosineSchedule(Base, TotalSteps: 110, WarmupSteps: 10, MinLearningRate: Min);
        Near(3e-4, s.At(0), "step 0 = base/10");
        Near(1.5e-3, s.At(4), "step 4 = 5·base/10");
        Near(3e-3, s.At(9), "last warm-up step reaches base");
        for (var k = 0; k < 10; k++) Near((double)Base * (k + 1) / 10, s.At(k), $"warm-up step {k}");
        Near(3e-3, s.At(10), "first decay step (progress 0)");
        Near(3e-4 + 0.5 * 2.7e-3, s.At(60), "middle of the decay");       // 1.65e-3
        Near(1.65e-3, s.At(60), "middle of the decay (literal)");
        Near((double)Min + 0.5 * ((double)Base - Min) * (1 + Math.Cos(Math.PI * 0.25)), s.At(35), "quarter of the decay");
        Near(3e-4, s.At(110), "end");
        Near(3e-4, s.At(111), "after the end");

        // Rises during warm-up, never increases afterwards.
        for (var k = 1; k < 10; k++) Assert.True(s.At(k) > s.At(k - 1));
        for (var k = 11; k <= 120; k++) Assert.True(s.At(k) <= s.At(k - 1), $"step {k} rose");
    }

    [Fact]
    public void NonPositiveTotalStepsIsAnError()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new CosineSchedule(1e-3f, TotalSteps: 0).At(0));
        Assert.Contains("TotalSteps", e.Message);
    }
}
