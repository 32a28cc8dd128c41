using System.Numerics.Tensors;
using Dicp.Tensors;
using Tensor = Dicp.Tensors.Tensor;

namespace Dicp.Models;

/// <summary>Encodings, checks, loss parts and metrics shared by the model families (AD/DPT and IDT).</summary>
internal static class ModelSupport
{
    /// <summary>The grid cell <c>x·side + y</c> of an (x, y) observation.</summary>
    /// <exception cref="ArgumentException">The observation is not a cell of the grid.</exception>
    public static int CellIndex(string model, int side, ReadOnlySpan<float> state)
    {
        float x = state[0], y = state[1];
        if (!(x >= 0f && x < side && y >= 0f && y < side && x == MathF.Floor(x) && y == MathF.Floor(y)))
            throw new ArgumentException($"{model}: state ({x}, {y}) is not a cell of the {side}×{side} grid.", nameof(state));
        return (int)x * side + (int)y;
    }

    /// <summary>The index of a discrete action stored as a float.</summary>
    /// <exception cref="ArgumentException">The value is not an integer in [0, count).</exception>
    public static int ActionIndex(string model, int count, float action)
    {
        if (!(action >= 0f && action < count && action == MathF.Floor(action)))
            throw new ArgumentException($"{model}: action {action} is not an integer in [0, {count}).", nameof(action));
        return (int)action;
    }

    /// <summary>The class of a categorical reward (its value); <paramref name="role"/> names the head or input in the error.</summary>
    /// <exception cref="ArgumentException">The reward is not an integer in [0, classes).</exception>
    public static int RewardClass(string model, int classes, float reward, string role)
    {
        var c = MathF.Round(reward);
        if (!(MathF.Abs(reward - c) < 1e-6f && c >= 0f && c < classes))
            throw new ArgumentException($"{model}: reward {reward} is not a class in [0, {classes}) of the categorical {role}.", nameof(reward));
        return (int)c;
    }

    /// <summary>
    /// The continuous action loss: Gaussian NLL (full form) of <paramref name="target"/> under mean and
    /// exp(log-variance) taken from the last axis of <paramref name="predicted"/> (…, 2A) when
    /// <paramref name="learnVariance"/>, else MSE of the predicted mean (…, A).
    /// </summary>
    public static Tensor ContinuousActionLoss(Tensor predicted, Tensor target, int actionSize, bool learnVariance)
    {
        if (!learnVariance) return Ops.MseLoss(predicted, target);
        var mean = Ops.Slice(predicted, 2, 0, actionSize);
        var variance = Ops.Exp(Ops.Slice(predicted, 2, actionSize, actionSize));
        return Ops.GaussianNllLoss(mean, variance, target, full: true);
    }

    /// <summary>A regressed reward clamped to [min, max] as relu(r − min) − relu(r − max) + min, differentiable inside the range.</summary>
    /// <remarks>With min = 0 (the reference) this is exactly relu(r) − relu(r − max), the reference's graph.</remarks>
    public static Tensor ClampReward(Tensor reward, float min, float max) => min == 0f
        ? Ops.Sub(Ops.Relu(reward), Ops.Relu(Ops.AddScalar(reward, -max)))
        : Ops.AddScalar(Ops.Sub(Ops.Relu(Ops.AddScalar(reward, -min)), Ops.Relu(Ops.AddScalar(reward, -max))), min);

    /// <summary>Decodes one row of <c>pred_reward</c> output: the argmax class's value, or the regression clipped to [RewardMin, RewardMax].</summary>
    public static float DecodeReward(ModelConfig config, ReadOnlySpan<float> head) =>
        config.RewardClasses > 0 ? TensorPrimitives.IndexOfMax(head[..config.RewardClasses]) : Math.Clamp(head[0], config.RewardMin, config.RewardMax);

    /// <summary>
    /// The DICP dynamics losses of predictions against <paramref name="targets"/> (<see cref="ModelLayout.DynamicsTargets"/>):
    /// cross-entropy with label smoothing over reward classes and grid cells, else MSE of the reward clamped to
    /// [RewardMin, RewardMax] and of the next observation (targets take the outputs' shapes). Adds
    /// <c>reward_accuracy</c> and <c>next_state_accuracy</c> (categorical heads), then <c>reward_loss</c> and
    /// <c>next_state_loss</c> to <paramref name="metrics"/>.
    /// </summary>
    public static (Tensor Reward, Tensor NextState) DynamicsLosses(ModelConfig config, Tensor rewardOutput, Tensor nextStateOutput,
        DynamicsTargets targets, Dictionary<string, double> metrics)
    {
        Tensor rewardLoss, nextLoss;
        if (targets.RewardClasses is { } rc)
        {
            rewardLoss = Ops.CrossEntropy(rewardOutput, rc, config.LabelSmoothing);
            metrics["reward_accuracy"] = Accuracy(rewardOutput, rc);
        }
        else rewardLoss = Ops.MseLoss(ClampReward(rewardOutput, config.RewardMin, config.RewardMax), new Tensor(targets.Rewards, rewardOutput.Shape));
        if (targets.NextStateCells is { } cells)
        {
            nextLoss = Ops.CrossEntropy(nextStateOutput, cells, config.LabelSmoothing);
            metrics["next_state_accuracy"] = Accuracy(nextStateOutput, cells);
        }
        else nextLoss = Ops.MseLoss(nextStateOutput, new Tensor(targets.NextStates, nextStateOutput.Shape));
        metrics["reward_loss"] = rewardLoss.Item();
        metrics["next_state_loss"] = nextLoss.Item();
        return (rewardLoss, nextLoss);
    }

    /// <summary>The fraction of rows of <paramref name="logits"/> (rows, classes) whose argmax equals the target.</summary>
    public static double Accuracy(Tensor logits, int[] targets)
    {
        var c = logits.Shape[^1];
        var hits = 0;
        for (var r = 0; r < targets.Length; r++)
            if (TensorPrimitives.IndexOfMax(logits.Data.AsSpan(r * c, c)) == targets[r]) hits++;
        return (double)hits / targets.Length;
    }

    /// <summary>Throws unless the batch's window length and sizes are the model's.</summary>
    /// <exception cref="ArgumentException">The message names the model and the mismatch.</exception>
    public static void CheckShape(ModelLayout layout, WindowBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var name = layout.Name;
        var config = layout.Config;
        if (batch.Steps != config.NTransit)
            throw new ArgumentException($"{name}: the batch has windows of {batch.Steps} steps; the model needs n_transit = {config.NTransit}.", nameof(batch));
        if (batch.ObservationSize != config.ObservationSize)
            throw new ArgumentException($"{name}: the batch has observations of {batch.ObservationSize} floats; the model needs {config.ObservationSize}.", nameof(batch));
        if (batch.ActionSize != layout.ActionSize)
            throw new ArgumentException($"{name}: the batch has actions of {batch.ActionSize} floats; the model needs {layout.ActionSize}.", nameof(batch));
    }

    /// <summary>Throws unless a candidate batch and its prediction buffers fit the model and the session's limit.</summary>
    /// <param name="b">The candidates.</param>
    /// <param name="p">The prediction buffers.</param>
    /// <param name="observationSize">O.</param>
    /// <param name="actionSize">A.</param>
    /// <param name="policySize">P.</param>
    /// <param name="maxCandidates">The session's <see cref="SessionOptions.MaxCandidates"/>.</param>
    /// <param name="returnsToGo">Whether the model predicts returns-to-go.</param>
    /// <exception cref="ArgumentException">The message names the field and the shape it needs.</exception>
    public static void CheckCandidates(CandidateBatch b, CandidatePredictions p, int observationSize, int actionSize, int policySize,
        int maxCandidates, bool returnsToGo)
    {
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(p);
        int n = b.Count, h = b.Depth, o = observationSize, a = actionSize;
        if (n < 1 || n > maxCandidates)
            throw new ArgumentException($"CandidateBatch.Count must be in [1, SessionOptions.MaxCandidates = {maxCandidates}], got {n}.", nameof(b));
        if (h < 0) throw new ArgumentException($"CandidateBatch.Depth must be non-negative, got {h}.", nameof(b));
        static void Need(float[]? array, int length, string name, string shape)
        {
            if (array is null || array.Length < length)
                throw new ArgumentException($"{name} holds {array?.Length ?? 0} floats; {shape} needs at least {length}.", name);
        }
        Need(b.ImaginedStates, n * h * o, "CandidateBatch.ImaginedStates", "(N, h, O)");
        Need(b.ImaginedActions, n * h * a, "CandidateBatch.ImaginedActions", "(N, h, A)");
        Need(b.ImaginedRewards, n * h, "CandidateBatch.ImaginedRewards", "(N, h)");
        Need(b.ImaginedNextStates, n * h * o, "CandidateBatch.ImaginedNextStates", "(N, h, O)");
        Need(b.QueryStates, n * o, "CandidateBatch.QueryStates", "(N, O)");
        Need(b.QueryActions, n * a, "CandidateBatch.QueryActions", "(N, A)");
        Need(p.Rewards, n, "CandidatePredictions.Rewards", "(N)");
        Need(p.NextStates, n * o, "CandidatePredictions.NextStates", "(N, O)");
        Need(p.Policy, n * policySize, "CandidatePredictions.Policy", "(N, P)");
        if (returnsToGo && p.ReturnsToGo is not null) Need(p.ReturnsToGo, n, "CandidatePredictions.ReturnsToGo", "(N)");
    }
}
