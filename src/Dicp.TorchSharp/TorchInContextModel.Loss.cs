using Dicp.Models;
using TorchSharp;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Dicp.TorchSharp;

public sealed partial class TorchInContextModel
{
    /// <summary>Runs the network (dropout in training mode) on a batch of windows: the heads' raw outputs, as Dicp's <c>InContextModel.Forward</c>.</summary>
    /// <exception cref="ArgumentException">The batch does not fit the model.</exception>
    public TorchModelOutputs Forward(WindowBatch batch)
    {
        ModelSupport.CheckShape(Layout, batch);
        if (HasReturnToGo && batch.ReturnsToGo is null)
            throw new ArgumentException($"{Name}: the return-to-go head needs WindowBatch.ReturnsToGo.", nameof(batch));
        int bsz = batch.BatchSize, n = batch.Steps, d = Config.EmbeddingDim;
        var (features, qs, qa) = Layout.EncodeWindows(batch);
        using var autocast = TorchAutocast.Enter(Precision);
        var h = Hidden(features, n - 1, bsz, qs, qa, Config.Dynamics);                       // (B, T, d)
        var (start, count) = Layout.TrainingActionPositions(n);
        var actions = TorchAutocast.Linear(PredAction, h.narrow(1, start, count));           // (B, k, ·)
        if (!Config.Dynamics) return new TorchModelOutputs(actions, null, null, null);
        var hq = h.narrow(1, h.shape[1] - 1, 1).reshape(bsz, d);                             // (B, d) the query-action token
        return new TorchModelOutputs(actions, TorchAutocast.Linear(PredReward!, hq), TorchAutocast.Linear(PredNextState!, hq),
            PredReturn is null ? null : TorchAutocast.Linear(PredReturn, hq));
    }

    /// <summary>
    /// The training loss <c>action_loss + λ·(reward_loss + next_state_loss [+ return_loss])</c> (without next_state_loss
    /// when <see cref="ModelConfig.LearnTransition"/> is off) and its metrics, on the targets and with the losses of
    /// Dicp's engine (cross-entropy with label smoothing; Gaussian NLL, full form, ε 1e-6; MSE of the reward clipped to
    /// [RewardMin, RewardMax]; MSE), computed in float32 whatever <see cref="TorchModel.Precision"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The batch does not fit the model.</exception>
    public override TorchTrainingLoss Loss(WindowBatch batch)
    {
        var outputs = Forward(batch);
        int bsz = batch.BatchSize, a = Layout.ActionSize;
        var targets = Layout.QueryTargets(batch, (int)outputs.Actions.shape[1], InContextModel.RewardRole);
        var pending = new List<(string Key, TorchTensor Value)>();
        var actionLoss = targets.ActionClasses is { } classes
            ? TorchLosses.CrossEntropy(outputs.Actions, classes, Config.LabelSmoothing, "action", pending)
            : TorchLosses.ContinuousAction(outputs.Actions, targets.ActionValues!, [bsz, 1, a], a, Config.LearnVariance);
        pending.Add(("action_loss", actionLoss));
        var total = actionLoss;
        if (targets.Dynamics is { } dt)
        {
            var (rewardLoss, nextLoss) = TorchLosses.Dynamics(Config, outputs.Rewards!, outputs.NextStates!, dt, pending);
            var dyn = Layout.NextStateInLoss ? rewardLoss + nextLoss : rewardLoss; // learn_transition off: reward only
            if (outputs.Returns is not null)
            {
                var returnLoss = nn.functional.mse_loss(TorchAutocast.Float(outputs.Returns), tensor(dt.ReturnsToGo!, [bsz, 1]).to(Device));
                pending.Add(("return_loss", returnLoss));
                dyn = dyn + returnLoss;
            }
            total = total + dyn * Config.DynamicsCoefficient;
        }
        pending.Add(("loss", total));
        return new TorchTrainingLoss(total, ReadMetrics(pending));
    }
}
