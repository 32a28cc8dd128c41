using Dicp.Autograd;
using Dicp.Tensors;
using Microsoft.Extensions.Logging;

namespace Dicp.Rl;

public sealed partial class Sac
{
    /// <inheritdoc/>
    public UpdateStatistics Update(CancellationToken cancellationToken = default)
    {
        if (!_updateDue) throw new InvalidOperationException($"SAC: no update is due ({_buffer.Count} transitions buffered, learning starts at {_o.LearningStarts}, environment step {_envSteps}).");
        double actor = 0, critic = 0, entropy = 0, alpha = 0;
        for (var g = 0; g < _o.GradientSteps; g++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var s = GradientStep();
            actor += s.ActorLoss;
            critic += s.CriticLoss;
            entropy += s.Entropy;
            alpha += s.Alpha;
        }
        _updateDue = false;
        _updates++;
        var n = _o.GradientSteps;
        var result = new UpdateStatistics(_updates, n, (float)(actor / n), (float)(critic / n), (float)(entropy / n), 0f, 0f, (float)(alpha / n));
        if (_logger.IsEnabled(LogLevel.Debug))
            _logger.LogDebug("SAC update {Update}: actor loss {ActorLoss:F4}, critic loss {CriticLoss:F4}, entropy {Entropy:F3}, alpha {Alpha:F4}",
                result.Update, result.PolicyLoss, result.ValueLoss, result.Entropy, result.EntropyCoefficient);
        return result;
    }

    /// <summary>
    /// The soft Q-learning target <c>y = r + γ·(1 − d)·(min(q1′, q2′) − α·log π′)</c>, element-wise over a batch.
    /// </summary>
    /// <param name="rewards">r (B).</param>
    /// <param name="notDones">1 − d (B).</param>
    /// <param name="nextQ1">Q′₁(s′, a′) of the first target critic (B).</param>
    /// <param name="nextQ2">Q′₂(s′, a′) of the second target critic (B).</param>
    /// <param name="nextLogProb">log π(a′|s′) (B).</param>
    /// <param name="alpha">The entropy coefficient α.</param>
    /// <param name="gamma">The discount γ.</param>
    /// <param name="targets">Receives y (B).</param>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void SoftQTarget(ReadOnlySpan<float> rewards, ReadOnlySpan<float> notDones, ReadOnlySpan<float> nextQ1, ReadOnlySpan<float> nextQ2,
        ReadOnlySpan<float> nextLogProb, float alpha, float gamma, Span<float> targets)
    {
        var b = rewards.Length;
        if (notDones.Length != b || nextQ1.Length != b || nextQ2.Length != b || nextLogProb.Length != b || targets.Length != b)
            throw new ArgumentException($"SoftQTarget: all spans must hold {b} elements.");
        for (var r = 0; r < b; r++)
            targets[r] = rewards[r] + gamma * notDones[r] * (MathF.Min(nextQ1[r], nextQ2[r]) - alpha * nextLogProb[r]);
    }

    /// <summary>
    /// The gradient of the entropy-coefficient loss <c>L(log α) = −log α · mean(log π + H̄)</c> with respect to
    /// log α: <c>−mean(log π + H̄)</c>. Positive when the policy's entropy <c>−E[log π]</c> exceeds the target, so α falls.
    /// </summary>
    /// <param name="logProbs">log π(ã|s) of the batch (B).</param>
    /// <param name="targetEntropy">H̄.</param>
    public static float EntropyCoefficientGradient(ReadOnlySpan<float> logProbs, float targetEntropy)
    {
        if (logProbs.IsEmpty) throw new ArgumentException("EntropyCoefficientGradient: no log-probabilities.", nameof(logProbs));
        double s = 0;
        foreach (var lp in logProbs) s += lp + targetEntropy;
        return (float)(-s / logProbs.Length);
    }

    private (float ActorLoss, float CriticLoss, float Entropy, float Alpha) GradientStep()
    {
        var m = _batch;
        _buffer.Sample(_replayRng, m.Obs.Span, m.Actions.Span, m.Rewards, m.NextObs.Span, m.NotDones);
        _replayRng.FillNormal(m.Noise.Span);
        _replayRng.FillNormal(m.NextNoise.Span);
        var alpha = EntropyCoefficient; // the value before this step's α update, as Stable-Baselines3
        float actorLoss, criticLoss, entropy;
        using (TensorScope.Begin())
        {
            var (aPi, logPi) = Actor.Sample(m.Obs, m.Noise); // (B, A), (B, 1), kept for the actor loss
            var lp = logPi.Span;
            entropy = 0f;
            foreach (var v in lp) entropy -= v;
            entropy /= lp.Length;

            if (_alphaAdam is not null)
            {
                _alphaAdam.ZeroGrad();
                Ops.Sum(Ops.Scale(_logAlpha, EntropyCoefficientGradient(lp, _targetEntropy))).Backward();
                _alphaAdam.Step();
            }

            using (GradMode.NoGrad())
            {
                var (aNext, logNext) = Actor.Sample(m.NextObs, m.NextNoise);
                var (t1, t2) = CriticTarget.Forward(m.NextObs, aNext);
                SoftQTarget(m.Rewards, m.NotDones, t1.Span, t2.Span, logNext.Span, alpha, _o.Gamma, m.Targets.Span);
            }

            var (q1, q2) = Critic.Forward(m.Obs, m.Actions);
            var cLoss = Ops.Scale(Ops.Add(Ops.MseLoss(q1, m.Targets), Ops.MseLoss(q2, m.Targets)), 0.5f);
            _criticAdam.ZeroGrad();
            cLoss.Backward();
            _criticAdam.Step();
            criticLoss = cLoss.Item();

            // min(Q1, Q2) through a constant 0/1 mask: the gradient flows into the smaller critic, as torch.min.
            var (p1, p2) = Critic.Forward(m.Obs, aPi);
            Span<float> pv1 = p1.Span, pv2 = p2.Span, mask = m.Mask.Span, inv = m.InvMask.Span;
            for (var r = 0; r < mask.Length; r++)
            {
                mask[r] = pv1[r] <= pv2[r] ? 1f : 0f;
                inv[r] = 1f - mask[r];
            }
            var minQ = Ops.Add(Ops.Mul(p1, m.Mask), Ops.Mul(p2, m.InvMask)); // (B, 1)
            var aLoss = Ops.Mean(Ops.Sub(Ops.Scale(logPi, alpha), minQ));
            _actorAdam.ZeroGrad();
            aLoss.Backward();
            _actorAdam.Step();
            actorLoss = aLoss.Item();
        }
        PolyakUpdate();
        return (actorLoss, criticLoss, entropy, alpha);
    }

    /// <summary>θ′ ← (1 − τ)·θ′ + τ·θ for every target-critic parameter.</summary>
    private void PolyakUpdate()
    {
        var tau = _o.Tau;
        for (var i = 0; i < _targetParams.Length; i++)
        {
            var dst = _targetParams[i].Span;
            TensorPrimitives.Multiply(dst, 1f - tau, dst);
            TensorPrimitives.MultiplyAdd(_criticParams[i].Span, tau, dst, dst);
        }
    }

    /// <summary>Reusable input tensors of one gradient step.</summary>
    private sealed class Batch
    {
        public Batch(int b, int obsSize, int dims)
        {
            Obs = Tensor.Zeros(b, obsSize);
            NextObs = Tensor.Zeros(b, obsSize);
            Actions = Tensor.Zeros(b, dims);
            Noise = Tensor.Zeros(b, dims);
            NextNoise = Tensor.Zeros(b, dims);
            Targets = Tensor.Zeros(b, 1);
            Mask = Tensor.Zeros(b, 1);
            InvMask = Tensor.Zeros(b, 1);
            Rewards = new float[b];
            NotDones = new float[b];
        }

        public Tensor Obs { get; }
        public Tensor NextObs { get; }
        public Tensor Actions { get; }
        public Tensor Noise { get; }
        public Tensor NextNoise { get; }
        public Tensor Targets { get; }
        public Tensor Mask { get; }
        public Tensor InvMask { get; }
        public float[] Rewards { get; }
        public float[] NotDones { get; }
    }
}
