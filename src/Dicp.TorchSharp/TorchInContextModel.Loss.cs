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
        CheckBatch(batch);
        int bsz = batch.BatchSize, n = batch.Steps, o = Config.ObservationSize, a = Encoder.ActionSize, f = Encoder.TransitionFeatures, d = Config.EmbeddingDim;
        var features = new float[bsz * Math.Max(n - 1, 1) * f];
        var qs = new float[bsz * o];
        var qa = new float[bsz * a];
        for (var b = 0; b < bsz; b++)
        {
            for (var t = 0; t < n - 1; t++)
            {
                var i = b * n + t;
                Encoder.Encode(Name, batch.States.AsSpan(i * o, o), batch.Actions.AsSpan(i * a, a), batch.Rewards[i],
                    batch.NextStates.AsSpan(i * o, o), features.AsSpan((b * (n - 1) + t) * f, f));
            }
            var last = b * n + n - 1;
            batch.States.AsSpan(last * o, o).CopyTo(qs.AsSpan(b * o));
            batch.Actions.AsSpan(last * a, a).CopyTo(qa.AsSpan(b * a));
        }
        var h = Hidden(features, n - 1, bsz, qs, qa, Config.Dynamics);                      // (B, T, d)
        var (start, count) = IsDpt ? (1, n - 1) : (n - 1, 1);
        var actions = PredAction.forward(h.narrow(1, start, count));                         // (B, k, ·)
        if (!Config.Dynamics) return new TorchModelOutputs(actions, null, null, null);
        var hq = h.narrow(1, h.shape[1] - 1, 1).reshape(bsz, d);                             // (B, d) the query-action token
        return new TorchModelOutputs(actions, PredReward!.forward(hq), PredNextState!.forward(hq), PredReturn?.forward(hq));
    }

    /// <summary>
    /// The training loss <c>action_loss + λ·(reward_loss + next_state_loss [+ return_loss])</c> and its metrics, with
    /// the same losses as Dicp's engine (cross-entropy with label smoothing; Gaussian NLL, full form, ε 1e-6; MSE of the
    /// reward clipped to [RewardMin, RewardMax]; MSE).
    /// </summary>
    /// <exception cref="ArgumentException">The batch does not fit the model.</exception>
    public TorchTrainingLoss Loss(WindowBatch batch)
    {
        var outputs = Forward(batch);
        int bsz = batch.BatchSize, n = batch.Steps, o = Config.ObservationSize, a = Encoder.ActionSize;
        var device = Device;
        var metrics = new Dictionary<string, double>();
        var pending = new List<(string Key, TorchTensor Value)>();
        TorchTensor actionLoss;
        if (Encoder.DiscreteActions)
        {
            var k = (int)outputs.Actions.shape[1];
            var targets = new long[bsz * k];
            for (var b = 0; b < bsz; b++)
            {
                long y = IsDpt ? OptimalAction(batch, b) : Encoder.ActionIndex(Name, batch.Actions[b * n + n - 1]);
                targets.AsSpan(b * k, k).Fill(y);
            }
            var logits = outputs.Actions.reshape(bsz * k, Config.ActionCount).to(ScalarType.Float32);
            var t = tensor(targets).to(device);
            actionLoss = nn.functional.cross_entropy(logits, t, label_smoothing: Config.LabelSmoothing);
            pending.Add(("action_accuracy", Accuracy(logits, t)));
        }
        else
        {
            var target = new float[bsz * a];
            for (var b = 0; b < bsz; b++) batch.Actions.AsSpan((b * n + n - 1) * a, a).CopyTo(target.AsSpan(b * a));
            var t = tensor(target, [bsz, 1, a]).to(device);
            var pred = outputs.Actions.to(ScalarType.Float32);
            if (Config.LearnVariance)
            {
                var mean = pred.narrow(2, 0, a);
                var variance = pred.narrow(2, a, a).exp();
                actionLoss = GaussianNll(mean, variance, t);
            }
            else actionLoss = nn.functional.mse_loss(pred, t);
        }
        pending.Add(("action_loss", actionLoss));
        var total = actionLoss;
        if (Config.Dynamics)
        {
            var r = new float[bsz];
            var s2 = new float[bsz * o];
            for (var b = 0; b < bsz; b++)
            {
                r[b] = batch.Rewards[b * n + n - 1];
                batch.NextStates.AsSpan((b * n + n - 1) * o, o).CopyTo(s2.AsSpan(b * o));
            }
            TorchTensor rewardLoss, nextLoss;
            var rewardOut = outputs.Rewards!.to(ScalarType.Float32);
            var nextOut = outputs.NextStates!.to(ScalarType.Float32);
            if (Config.RewardClasses > 0)
            {
                var rt = new long[bsz];
                for (var b = 0; b < bsz; b++) rt[b] = Encoder.RewardClass(Name, r[b]);
                var t = tensor(rt).to(device);
                rewardLoss = nn.functional.cross_entropy(rewardOut, t, label_smoothing: Config.LabelSmoothing);
                pending.Add(("reward_accuracy", Accuracy(rewardOut, t)));
            }
            else
            {
                float min = Config.RewardMin, max = Config.RewardMax; // relu(r − min) − relu(r − max) + min: Dicp's (and the reference's) clip graph
                var clipped = nn.functional.relu(rewardOut - min) - nn.functional.relu(rewardOut - max) + min;
                rewardLoss = nn.functional.mse_loss(clipped, tensor(r, [bsz, 1]).to(device));
            }
            if (Encoder.IsGrid)
            {
                var st = new long[bsz];
                for (var b = 0; b < bsz; b++) st[b] = Encoder.CellIndex(Name, s2.AsSpan(b * o, o));
                var t = tensor(st).to(device);
                nextLoss = nn.functional.cross_entropy(nextOut, t, label_smoothing: Config.LabelSmoothing);
                pending.Add(("next_state_accuracy", Accuracy(nextOut, t)));
            }
            else nextLoss = nn.functional.mse_loss(nextOut, tensor(s2, [bsz, o]).to(device));
            pending.Add(("reward_loss", rewardLoss));
            pending.Add(("next_state_loss", nextLoss));
            var dyn = rewardLoss + nextLoss;
            if (outputs.Returns is not null)
            {
                var g = new float[bsz];
                for (var b = 0; b < bsz; b++) g[b] = batch.ReturnsToGo![b * n + n - 1];
                var returnLoss = nn.functional.mse_loss(outputs.Returns.to(ScalarType.Float32), tensor(g, [bsz, 1]).to(device));
                pending.Add(("return_loss", returnLoss));
                dyn = dyn + returnLoss;
            }
            total = total + dyn * Config.DynamicsCoefficient;
        }
        pending.Add(("loss", total));
        // One transfer for all metrics (one device synchronisation per step).
        var values = stack(pending.Select(p => p.Value.detach().to(ScalarType.Float32).reshape(1)).ToArray()).cpu().data<float>().ToArray();
        for (var i = 0; i < pending.Count; i++) metrics[pending[i].Key] = values[i];
        return new TorchTrainingLoss(total, metrics);
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

    private static TorchTensor Accuracy(TorchTensor logits, TorchTensor targets) =>
        logits.detach().argmax(-1).eq(targets).to(ScalarType.Float32).mean();

    private int OptimalAction(WindowBatch batch, int b)
    {
        var labels = batch.OptimalActions ?? throw new ArgumentException($"{Name}: DPT needs WindowBatch.OptimalActions.", nameof(batch));
        var y = labels[b * batch.Steps + batch.Steps - 1];
        if ((uint)y >= (uint)Config.ActionCount)
            throw new ArgumentException($"{Name}: optimal action {y} of window {b} is outside [0, {Config.ActionCount}).", nameof(batch));
        return y;
    }

    private void CheckBatch(WindowBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Steps != Config.NTransit)
            throw new ArgumentException($"{Name}: the batch has windows of {batch.Steps} steps; the model needs n_transit = {Config.NTransit}.", nameof(batch));
        if (batch.ObservationSize != Config.ObservationSize)
            throw new ArgumentException($"{Name}: the batch has observations of {batch.ObservationSize} floats; the model needs {Config.ObservationSize}.", nameof(batch));
        if (batch.ActionSize != Encoder.ActionSize)
            throw new ArgumentException($"{Name}: the batch has actions of {batch.ActionSize} floats; the model needs {Encoder.ActionSize}.", nameof(batch));
        if (HasReturnToGo && batch.ReturnsToGo is null)
            throw new ArgumentException($"{Name}: the return-to-go head needs WindowBatch.ReturnsToGo.", nameof(batch));
    }
}
