namespace Dicp.Training;

/// <summary>Settings of a <see cref="Trainer"/> run; the defaults are those of the DICP authors' training configuration.</summary>
/// <remarks>
/// Optimiser: AdamW(lr, (β₁, β₂), ε, weight decay); learning rate at step s (0-based):
/// <c>lr(s) = min + ½(lr − min)(1 + cos(π·s / Steps))</c> after an optional linear warm-up (reference: none, min 0);
/// gradients clipped to a global 2-norm of <see cref="GradClip"/> before each update.
/// </remarks>
/// <param name="Steps">Optimiser steps of the whole run (reference 50 000).</param>
/// <param name="BatchSize">Windows per step (reference 512).</param>
/// <param name="LearningRate">Peak learning rate (reference 1e-2 for AD, 1e-3 for some IDT rows).</param>
/// <param name="Beta1">AdamW β₁ (0.9).</param>
/// <param name="Beta2">AdamW β₂ (0.99).</param>
/// <param name="Eps">AdamW ε (1e-8).</param>
/// <param name="WeightDecay">AdamW decoupled weight decay (0.01).</param>
/// <param name="WarmupSteps">Linear warm-up steps (0: none, as the reference).</param>
/// <param name="MinLearningRate">Learning rate reached at the end of the cosine decay (0).</param>
/// <param name="GradClip">Maximal global gradient 2-norm (1).</param>
/// <param name="LogInterval">Steps between metric rows (training metrics are averaged over the interval).</param>
/// <param name="EvalInterval">Steps between test-set evaluations (0: only at the end).</param>
/// <param name="TestWindows">Windows in the fixed test set.</param>
/// <param name="TestSeed">Seeds the choice of the test windows (independent of <paramref name="Seed"/> so runs compare).</param>
/// <param name="InContextEvalInterval">Steps between in-context evaluations (0: only at the end, when an evaluation is set).</param>
/// <param name="CheckpointInterval">Steps between checkpoints (the last step is always checkpointed).</param>
/// <param name="Seed">Seeds the window sampler and the dropout generator.</param>
public sealed record TrainerOptions(
    int Steps = 50_000,
    int BatchSize = 512,
    float LearningRate = 1e-2f,
    float Beta1 = 0.9f,
    float Beta2 = 0.99f,
    float Eps = 1e-8f,
    float WeightDecay = 0.01f,
    int WarmupSteps = 0,
    float MinLearningRate = 0f,
    float GradClip = 1f,
    int LogInterval = 100,
    int EvalInterval = 1000,
    int TestWindows = 2048,
    int TestSeed = 0,
    int InContextEvalInterval = 0,
    int CheckpointInterval = 1000,
    int Seed = 0)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        static void Positive(double v, string name)
        {
            if (!(v > 0)) throw new ArgumentException($"TrainerOptions.{name} must be positive, got {v}.", name);
        }
        static void NonNegative(double v, string name)
        {
            if (!(v >= 0)) throw new ArgumentException($"TrainerOptions.{name} must be ≥ 0, got {v}.", name);
        }
        Positive(Steps, nameof(Steps));
        Positive(BatchSize, nameof(BatchSize));
        Positive(LearningRate, nameof(LearningRate));
        if (!(Beta1 is >= 0f and < 1f)) throw new ArgumentException($"TrainerOptions.Beta1 must be in [0, 1), got {Beta1}.", nameof(Beta1));
        if (!(Beta2 is >= 0f and < 1f)) throw new ArgumentException($"TrainerOptions.Beta2 must be in [0, 1), got {Beta2}.", nameof(Beta2));
        NonNegative(Eps, nameof(Eps));
        NonNegative(WeightDecay, nameof(WeightDecay));
        NonNegative(WarmupSteps, nameof(WarmupSteps));
        NonNegative(MinLearningRate, nameof(MinLearningRate));
        Positive(GradClip, nameof(GradClip));
        Positive(LogInterval, nameof(LogInterval));
        NonNegative(EvalInterval, nameof(EvalInterval));
        Positive(TestWindows, nameof(TestWindows));
        NonNegative(InContextEvalInterval, nameof(InContextEvalInterval));
        Positive(CheckpointInterval, nameof(CheckpointInterval));
    }
}
