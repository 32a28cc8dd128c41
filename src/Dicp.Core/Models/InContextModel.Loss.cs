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
    /// <summary>The first token position and the number of positions whose outputs predict the action in a training sequence of n steps.</summary>
    internal abstract (int Start, int Count) TrainingActionPositions(int steps);

    /// <summary>The discrete action target of window <paramref name="b"/> (the same at every action position).</summary>
    internal abstract int ActionTarget(WindowBatch batch, int b);

    /// <summary>Runs the network (with dropout in training mode) on a batch of windows and returns the heads' raw outputs.</summary>
    /// <remarks>
    /// Window of n steps: transitions 0 … n − 2 form the context; step n − 1 gives the query state and (with dynamics) the
    /// query action, teacher-forced from the data. Tokens: AD <c>[t₀ … t_{n−2}, s_q, (a_q)]</c>, DPT <c>[s_q (padded), t₀ … t_{n−2}, (a_q)]</c>.
    /// </remarks>
    /// <exception cref="ArgumentException">The batch does not fit the model.</exception>
    public ModelOutputs Forward(WindowBatch batch)
    {
        CheckBatch(batch);
        int bsz = batch.BatchSize, n = batch.Steps, o = ObservationSize, a = ActionSize, f = TransitionFeatures, d = Config.EmbeddingDim;
        var features = new float[bsz * Math.Max(n - 1, 1) * f];
        var qs = new float[bsz * o];
        var qa = new float[bsz * a];
        for (var b = 0; b < bsz; b++)
        {
            for (var t = 0; t < n - 1; t++)
            {
                var i = b * n + t;
                EncodeTransition(batch.States.AsSpan(i * o, o), batch.Actions.AsSpan(i * a, a), batch.Rewards[i],
                    batch.NextStates.AsSpan(i * o, o), features.AsSpan((b * (n - 1) + t) * f, f));
            }
            var last = b * n + n - 1;
            batch.States.AsSpan(last * o, o).CopyTo(qs.AsSpan(b * o));
            batch.Actions.AsSpan(last * a, a).CopyTo(qa.AsSpan(b * a));
        }
        var x = AssembleTokens(bsz, features, n - 1, qs, qa, Config.Dynamics); // (B, T, d)
        var h = Transformer.Forward(x);                                       // (B, T, d)
        var (start, count) = TrainingActionPositions(n);
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
        int bsz = batch.BatchSize, n = batch.Steps, o = ObservationSize, a = ActionSize;
        var metrics = new Dictionary<string, double>();
        Tensor actionLoss;
        if (DiscreteActions)
        {
            var k = outputs.Actions.Shape[1];
            var targets = new int[bsz * k];
            for (var b = 0; b < bsz; b++) targets.AsSpan(b * k, k).Fill(ActionTarget(batch, b));
            actionLoss = Ops.CrossEntropy(outputs.Actions, targets, Config.LabelSmoothing);
            metrics["action_accuracy"] = Accuracy(outputs.Actions, targets);
        }
        else
        {
            var target = new float[bsz * a];
            for (var b = 0; b < bsz; b++) batch.Actions.AsSpan((b * n + n - 1) * a, a).CopyTo(target.AsSpan(b * a));
            var t = new Tensor(target, [bsz, 1, a]);
            actionLoss = ModelSupport.ContinuousActionLoss(outputs.Actions, t, a, Config.LearnVariance);
        }
        metrics["action_loss"] = actionLoss.Item();
        var total = actionLoss;
        if (Config.Dynamics)
        {
            var r = new float[bsz];
            var s2 = new float[bsz * o];
            for (var b = 0; b < bsz; b++) // the query step's reward and next observation
            {
                r[b] = batch.Rewards[b * n + n - 1];
                batch.NextStates.AsSpan((b * n + n - 1) * o, o).CopyTo(s2.AsSpan(b * o));
            }
            var (rewardLoss, nextLoss) = ModelSupport.DynamicsLosses(Name, RewardRole, Config, outputs.Rewards!, outputs.NextStates!, r, s2, bsz, metrics);
            var dyn = Config.LearnTransition ? Ops.Add(rewardLoss, nextLoss) : rewardLoss; // learn_transition off: reward only
            if (outputs.Returns is not null)
            {
                var g = new float[bsz];
                for (var b = 0; b < bsz; b++) g[b] = batch.ReturnsToGo![b * n + n - 1];
                var returnLoss = Ops.MseLoss(outputs.Returns, new Tensor(g, [bsz, 1]));
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
    internal int RewardClass(float reward) => ModelSupport.RewardClass(Name, Config.RewardClasses, reward, RewardRole);

    private const string RewardRole = "reward head";

    private static double Accuracy(Tensor logits, int[] targets) => ModelSupport.Accuracy(logits, targets);

    private void CheckBatch(WindowBatch batch)
    {
        ModelSupport.CheckShape(this, Config, batch);
        if (HasReturnToGo && batch.ReturnsToGo is null)
            throw new ArgumentException($"{Name}: the return-to-go head needs WindowBatch.ReturnsToGo.", nameof(batch));
    }
}
