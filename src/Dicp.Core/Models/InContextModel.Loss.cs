using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>The raw head outputs of a batch of training windows.</summary>
/// <param name="Actions">(B, k, ·) <c>pred_action</c> at the k action positions (AD: k = 1, the query state; DPT: k = n − 1, the transition tokens).</param>
/// <param name="Rewards">(B, RewardClasses or 1) <c>pred_reward</c> at the query-action token (unclipped), or null.</param>
/// <param name="NextStates">(B, StateClasses or O) <c>pred_next_state</c> at the query-action token, or null.</param>
/// <param name="Returns">(B, 1) <c>pred_return</c> at the query-action token, or null.</param>
public sealed record ModelOutputs(Tensor Actions, Tensor? Rewards, Tensor? NextStates, Tensor? Returns);

public abstract partial class InContextModel
{
    /// <summary>Runs the network (with dropout in training mode) on a batch of windows and returns the heads' raw outputs.</summary>
    /// <remarks>
    /// Window of n steps: transitions 0 … n − 2 form the context; step n − 1 gives the query state and (with dynamics) the
    /// query action, teacher-forced from the data. Tokens: AD <c>[t₀ … t_{n−2}, s_q, (a_q)]</c>, DPT <c>[s_q (padded), t₀ … t_{n−2}, (a_q)]</c>.
    /// </remarks>
    /// <exception cref="ArgumentException">The batch does not fit the model.</exception>
    public ModelOutputs Forward(WindowBatch batch)
    {
        CheckBatch(batch);
        int bsz = batch.BatchSize, n = batch.Steps, d = Config.EmbeddingDim;
        var (features, qs, qa) = Layout.EncodeWindows(batch);
        var x = AssembleTokens(bsz, features, n - 1, qs, qa, Config.Dynamics); // (B, T, d)
        var h = Transformer.Forward(x);                                       // (B, T, d)
        var (start, count) = Layout.TrainingActionPositions(n);
        var actions = PredAction.Forward(Ops.Slice(h, 1, start, count));     // (B, k, ·)
        if (!Config.Dynamics) return new ModelOutputs(actions, null, null, null);
        var hq = Ops.Reshape(Ops.Slice(h, 1, h.Shape[1] - 1, 1), bsz, d);    // (B, d) the query-action token
        return new ModelOutputs(actions, PredReward!.Forward(hq), PredNextState!.Forward(hq), PredReturn?.Forward(hq));
    }

    /// <inheritdoc/>
    /// <remarks>
    /// <c>loss = action_loss + λ·(reward_loss + next_state_loss [+ return_loss])</c>. Discrete actions: cross-entropy
    /// (label smoothing) averaged over the action positions. Continuous: Gaussian NLL (full form) of the target under
    /// N(mean, exp(log-variance)) with <c>LearnVariance</c>, else MSE of the mean. Categorical reward (class = reward
    /// value) and grid next-state (class = cell): cross-entropy; regressed reward: MSE of the output clipped to
    /// [RewardMin, RewardMax]; continuous next state and return-to-go: MSE.
    /// </remarks>
    public TrainingLoss Loss(WindowBatch batch)
    {
        var outputs = Forward(batch);
        int bsz = batch.BatchSize, a = ActionSize;
        var targets = Layout.QueryTargets(batch, outputs.Actions.Shape[1], RewardRole);
        var metrics = new Dictionary<string, double>();
        Tensor actionLoss;
        if (targets.ActionClasses is { } classes)
        {
            actionLoss = Ops.CrossEntropy(outputs.Actions, classes, Config.LabelSmoothing);
            metrics["action_accuracy"] = Accuracy(outputs.Actions, classes);
        }
        else actionLoss = ModelSupport.ContinuousActionLoss(outputs.Actions, new Tensor(targets.ActionValues!, [bsz, 1, a]), a, Config.LearnVariance);
        metrics["action_loss"] = actionLoss.Item();
        var total = actionLoss;
        if (targets.Dynamics is { } dt)
        {
            var (rewardLoss, nextLoss) = ModelSupport.DynamicsLosses(Config, outputs.Rewards!, outputs.NextStates!, dt, metrics);
            var dyn = Layout.NextStateInLoss ? Ops.Add(rewardLoss, nextLoss) : rewardLoss; // learn_transition off: reward only
            if (outputs.Returns is not null)
            {
                var returnLoss = Ops.MseLoss(outputs.Returns, new Tensor(dt.ReturnsToGo!, [bsz, 1]));
                metrics["return_loss"] = returnLoss.Item();
                dyn = Ops.Add(dyn, returnLoss);
            }
            total = Ops.Add(total, Ops.Scale(dyn, Config.DynamicsCoefficient));
        }
        metrics["loss"] = total.Item();
        return new TrainingLoss(total, metrics);
    }

    /// <summary>The class of a categorical reward (its value).</summary>
    /// <exception cref="ArgumentException">The reward is not an integer in [0, RewardClasses).</exception>
    internal int RewardClass(float reward) => Layout.RewardClass(reward, RewardRole);

    internal const string RewardRole = "reward head";

    private static double Accuracy(Tensor logits, int[] targets) => ModelSupport.Accuracy(logits, targets);

    private void CheckBatch(WindowBatch batch)
    {
        ModelSupport.CheckShape(Layout, batch);
        if (HasReturnToGo && batch.ReturnsToGo is null)
            throw new ArgumentException($"{Name}: the return-to-go head needs WindowBatch.ReturnsToGo.", nameof(batch));
    }
}
