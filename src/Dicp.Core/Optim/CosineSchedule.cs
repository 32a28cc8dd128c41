namespace Dicp.Optim;

/// <summary>Learning-rate schedule: linear warm-up, then cosine decay to a floor.</summary>
/// <remarks>
/// lr(s) = base·(s + 1)/warmup for s &lt; warmup; afterwards, with progress π = (s − warmup)/(total − warmup) clamped to [0, 1],
/// lr(s) = min + ½(base − min)(1 + cos(π·progress)). The reference uses warmup 0 and min 0.
/// </remarks>
/// <param name="BaseLearningRate">Peak learning rate.</param>
/// <param name="TotalSteps">Steps over which the schedule runs.</param>
/// <param name="WarmupSteps">Linear warm-up steps (0: none).</param>
/// <param name="MinLearningRate">Floor reached at the end.</param>
public sealed record CosineSchedule(float BaseLearningRate, long TotalSteps, long WarmupSteps = 0, float MinLearningRate = 0f)
{
    /// <summary>The learning rate for 0-based step <paramref name="step"/>.</summary>
    public float At(long step)
    {
        if (TotalSteps <= 0) throw new InvalidOperationException($"CosineSchedule.TotalSteps must be positive, got {TotalSteps}.");
        if (step < WarmupSteps) return BaseLearningRate * (step + 1) / WarmupSteps;
        var span = Math.Max(1, TotalSteps - WarmupSteps);
        var progress = Math.Clamp((double)(step - WarmupSteps) / span, 0.0, 1.0);
        return (float)(MinLearningRate + 0.5 * (BaseLearningRate - MinLearningRate) * (1 + Math.Cos(Math.PI * progress)));
    }
}
