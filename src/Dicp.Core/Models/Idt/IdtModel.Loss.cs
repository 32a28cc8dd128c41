using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>The raw outputs of IDT on a batch of training windows (B windows, n steps, K = n / c segments).</summary>
/// <param name="ReviewedZ">(B, K, 2·dim_z) Reviewing-Decisions' <c>[mean | log-variance]</c> of every segment.</param>
/// <param name="PredictedZ">(B, K, 2·dim_z) Making-Decisions' <c>[mean | log-variance]</c> of every segment.</param>
/// <param name="Z">The sampled decisions: (B, K, c, dim_z), one per low-level step, with
/// <see cref="ModelConfig.LatentNoisePerStep"/>; else (B, K, dim_z), one per segment.</param>
/// <param name="Actions">(B, n, P) <c>pred_action</c> at every state token.</param>
/// <param name="Rewards">(B, n, RewardClasses or 1) <c>pred_reward</c> at every action token (unclipped), or null.</param>
/// <param name="NextStates">(B, n, StateClasses or O) <c>pred_next_state</c> at every action token, or null.</param>
public sealed record IdtOutputs(Tensor ReviewedZ, Tensor PredictedZ, Tensor Z, Tensor Actions, Tensor? Rewards, Tensor? NextStates);

public sealed partial class IdtModel
{
    /// <summary>Runs the three modules (dropout in training mode) on a batch of windows.</summary>
    /// <param name="batch">B windows of n_transit steps with returns-to-go.</param>
    /// <param name="noise">The ε of the reparameterisation: (B, K, c, dim_z) with <see cref="ModelConfig.LatentNoisePerStep"/>
    /// (a (B, K, dim_z) one is repeated over each segment's steps), else (B, K, dim_z); empty draws it from the module
    /// generator.</param>
    /// <exception cref="ArgumentException">The batch does not fit the model.</exception>
    public IdtOutputs Forward(WindowBatch batch, ReadOnlySpan<float> noise = default)
    {
        CheckBatch(batch);
        int bsz = batch.BatchSize, n = batch.Steps, c = Config.SegmentLength, k = Segments;
        int dz = Config.LatentDim, d = Config.EmbeddingDim;
        var reviewed = Ops.Reshape(Reviewing.Forward(batch.States, batch.Actions, batch.Rewards, batch.NextStates, bsz * k, c, inference: false),
            bsz, k, 2 * dz);                                                                                    // (B, K, 2dz)
        var (returns, first) = Layout.SegmentStarts(batch);
        var predicted = Making.Forward(returns, first, reviewed, bsz, k, inference: false);                     // (B, K, 2dz)
        var perStep = Config.LatentNoisePerStep;
        var eps = Layout.LatentNoise(noise, bsz);
        if (eps is null)
        {
            eps = new float[Layout.LatentDraws(bsz) * dz];
            for (var i = 0; i < eps.Length; i++) eps[i] = (float)Generator.NextNormal();
        }
        var z = perStep ? SamplePerStep(predicted, eps, bsz, k, c) : Sample(predicted, eps, bsz, k);         // (B, K, c, dz) or (B, K, dz)
        var zRows = perStep ? Ops.Reshape(z, bsz * k, c, dz) : Ops.Reshape(z, bsz * k, dz);                  // (B·K, c, dz) or (B·K, dz)
        var h = ToGo.Forward(zRows, batch.States, batch.Actions, batch.Rewards, bsz * k, c, 4, inference: false); // (B·K, 4c, d)
        var slots = Ops.Reshape(h, bsz * k, c, 4, d);                                                          // (B·K, c, 4, d)
        var stateTokens = Ops.Reshape(Ops.Slice(slots, 2, 1, 1), bsz, n, d);                                   // (B, n, d)
        var actions = ToGo.PredAction.Forward(stateTokens);                                                    // (B, n, P)
        if (!Config.Dynamics) return new IdtOutputs(reviewed, predicted, z, actions, null, null);
        var actionTokens = Ops.Reshape(Ops.Slice(slots, 2, 2, 1), bsz, n, d);                                  // (B, n, d)
        return new IdtOutputs(reviewed, predicted, z, actions, ToGo.PredReward!.Forward(actionTokens), ToGo.PredNextState!.Forward(actionTokens));
    }

    /// <summary>Per step: <c>z_t = mean + ε_t ⊙ exp(log-variance / 2)</c> for distributions (B, K, 2·dim_z) and ε (B·K·c·dim_z).</summary>
    /// <returns>(B, K, c, dim_z): the segment's distribution broadcast over its c steps, one ε per step.</returns>
    internal Tensor SamplePerStep(Tensor distributions, float[] eps, int batch, int segments, int c)
    {
        var dz = Config.LatentDim;
        var rows = new int[c]; // (B, K, 1, ·) → (B, K, c, ·): every step reads its segment's distribution
        var mean = Ops.IndexSelect(Ops.Reshape(Ops.Slice(distributions, 2, 0, dz), batch, segments, 1, dz), 2, rows);                          // (B, K, c, dz)
        var std = Ops.IndexSelect(Ops.Reshape(Ops.Exp(Ops.Scale(Ops.Slice(distributions, 2, dz, dz), 0.5f)), batch, segments, 1, dz), 2, rows); // (B, K, c, dz)
        return Ops.Add(mean, Ops.Mul(std, new Tensor(eps, [batch, segments, c, dz])));
    }

    /// <summary><c>z = mean + ε ⊙ exp(log-variance / 2)</c> for distributions (B, K, 2·dim_z) and ε (B·K·dim_z).</summary>
    internal Tensor Sample(Tensor distributions, float[] eps, int batch, int segments)
    {
        var dz = Config.LatentDim;
        var mean = Ops.Slice(distributions, 2, 0, dz);
        var std = Ops.Exp(Ops.Scale(Ops.Slice(distributions, 2, dz, dz), 0.5f));
        return Ops.Add(mean, Ops.Mul(std, new Tensor(eps, [batch, segments, dz])));
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Every step of the window is a target: <c>loss = action_loss + λ·(reward_loss + next_state_loss)</c>. Discrete
    /// actions: cross-entropy (label smoothing); continuous: Gaussian NLL (full form) with <c>LearnVariance</c>, else
    /// MSE of the mean. Categorical reward and grid next state: cross-entropy; regressed reward: MSE of the output
    /// clipped to [RewardMin, RewardMax]; continuous next state: MSE.
    /// </remarks>
    public TrainingLoss Loss(WindowBatch batch) => Loss(batch, default);

    /// <summary>The training loss with a given ε (see <see cref="Forward"/>).</summary>
    public TrainingLoss Loss(WindowBatch batch, ReadOnlySpan<float> noise)
    {
        var outputs = Forward(batch, noise);
        int rows = batch.BatchSize * batch.Steps, a = ActionSize;
        var metrics = new Dictionary<string, double>();
        Tensor actionLoss;
        if (DiscreteActions)
        {
            var targets = Layout.ActionClasses(batch.Actions, rows);
            var logits = Ops.Reshape(outputs.Actions, rows, Config.ActionCount);
            actionLoss = Ops.CrossEntropy(logits, targets, Config.LabelSmoothing);
            metrics["action_accuracy"] = Accuracy(logits, targets);
        }
        else
        {
            var t = new Tensor(batch.Actions.AsSpan(0, rows * a).ToArray(), [batch.BatchSize, batch.Steps, a]);
            actionLoss = ModelSupport.ContinuousActionLoss(outputs.Actions, t, a, Config.LearnVariance);
        }
        metrics["action_loss"] = actionLoss.Item();
        var total = actionLoss;
        if (Config.Dynamics)
        {
            var targets = Layout.DynamicsTargets(batch.Rewards, batch.NextStates, rows, RewardRole);
            var (rewardLoss, nextLoss) = ModelSupport.DynamicsLosses(Config, outputs.Rewards!, outputs.NextStates!, targets, metrics);
            var dyn = Layout.NextStateInLoss ? Ops.Add(rewardLoss, nextLoss) : rewardLoss; // learn_transition off: reward only
            total = Ops.Add(total, Ops.Scale(dyn, Config.DynamicsCoefficient));
        }
        metrics["loss"] = total.Item();
        return new TrainingLoss(total, metrics);
    }

    private static double Accuracy(Tensor logits, int[] targets) => ModelSupport.Accuracy(logits, targets);

    private void CheckBatch(WindowBatch batch)
    {
        ModelSupport.CheckShape(Layout, batch);
        if (batch.ReturnsToGo is null)
            throw new ArgumentException($"{Name}: IDT needs WindowBatch.ReturnsToGo (sample windows with returnsToGoSegment = c).", nameof(batch));
    }
}
