using Dicp.Models;
using TorchSharp;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Dicp.TorchSharp;

/// <summary>
/// The losses of Dicp's models on TorchSharp tensors, computed in float32 on targets that Dicp's <see cref="ModelLayout"/>
/// gathers (the same for both backends): cross-entropy with label smoothing, PyTorch's Gaussian NLL (full form, ε 1e-6),
/// MSE of a reward clipped to [RewardMin, RewardMax], MSE.
/// </summary>
internal static class TorchLosses
{
    /// <summary>Cross-entropy of logits (rows, classes) against class labels, with label smoothing; adds <c>{name}_accuracy</c>.</summary>
    public static TorchTensor CrossEntropy(TorchTensor logits, int[] classes, float labelSmoothing, string name, List<(string, TorchTensor)> pending)
    {
        var x = TorchAutocast.Float(logits).reshape(classes.Length, -1);                 // (rows, classes)
        var t = tensor(classes.Select(c => (long)c).ToArray()).to(x.device);
        pending.Add((name + "_accuracy", x.detach().argmax(-1).eq(t).to(ScalarType.Float32).mean()));
        return nn.functional.cross_entropy(x, t, label_smoothing: labelSmoothing);
    }

    /// <summary>The continuous action loss: Gaussian NLL (full form) under mean and exp(log-variance) from the last axis of <paramref name="predicted"/> (…, 2A) when <paramref name="learnVariance"/>, else MSE of the mean (…, A).</summary>
    public static TorchTensor ContinuousAction(TorchTensor predicted, float[] target, long[] shape, int actionSize, bool learnVariance)
    {
        var pred = TorchAutocast.Float(predicted);
        var t = tensor(target, shape).to(pred.device);
        if (!learnVariance) return nn.functional.mse_loss(pred, t);
        var last = pred.dim() - 1;
        return GaussianNll(pred.narrow(last, 0, actionSize), pred.narrow(last, actionSize, actionSize).exp(), t);
    }

    /// <summary>
    /// The DICP dynamics losses against <paramref name="targets"/>: cross-entropy (label smoothing) over reward classes
    /// and grid cells, else MSE of the reward clipped to [RewardMin, RewardMax] and of the next observation; adds the
    /// accuracies, then <c>reward_loss</c> and <c>next_state_loss</c> to <paramref name="pending"/>, as Dicp's engine.
    /// </summary>
    public static (TorchTensor Reward, TorchTensor NextState) Dynamics(ModelConfig config, TorchTensor rewardOutput, TorchTensor nextStateOutput,
        DynamicsTargets targets, List<(string, TorchTensor)> pending)
    {
        var rewardOut = TorchAutocast.Float(rewardOutput);
        var nextOut = TorchAutocast.Float(nextStateOutput);
        var device = rewardOut.device;
        TorchTensor rewardLoss, nextLoss;
        if (targets.RewardClasses is { } rc) rewardLoss = CrossEntropy(rewardOut, rc, config.LabelSmoothing, "reward", pending);
        else
        {
            float min = config.RewardMin, max = config.RewardMax; // relu(r − min) − relu(r − max) + min: Dicp's (and the reference's) clip graph
            var clipped = nn.functional.relu(rewardOut - min) - nn.functional.relu(rewardOut - max) + min;
            rewardLoss = nn.functional.mse_loss(clipped, tensor(targets.Rewards, rewardOut.shape).to(device));
        }
        if (targets.NextStateCells is { } cells) nextLoss = CrossEntropy(nextOut, cells, config.LabelSmoothing, "next_state", pending);
        else nextLoss = nn.functional.mse_loss(nextOut, tensor(targets.NextStates, nextOut.shape).to(device));
        pending.Add(("reward_loss", rewardLoss));
        pending.Add(("next_state_loss", nextLoss));
        return (rewardLoss, nextLoss);
    }

    /// <summary>
    /// PyTorch's <c>gaussian_nll_loss(full=True, eps=1e-6)</c>: mean of ½(log v + (t − μ)²/v) + ½ log 2π, with v clamped
    /// to ε in value only (the gradient passes as if unclamped, as PyTorch's in-place clamp under no_grad).
    /// </summary>
    private static TorchTensor GaussianNll(TorchTensor mean, TorchTensor variance, TorchTensor target)
    {
        var v = variance + (variance.clamp_min(1e-6) - variance).detach();
        return (0.5 * (v.log() + (target - mean).square() / v)).mean() + 0.5 * Math.Log(2 * Math.PI);
    }
}
