using System.Buffers;
using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Cross-entropy between logits and integer class targets, mean over the counted rows, with optional label smoothing.</summary>
    /// <remarks>
    /// logits (N, C) (or (…, C), flattened to rows), targets (N) in [0, C) or <paramref name="ignoreIndex"/>.
    /// Per row, with q = (1 − ε)·onehot(y) + ε/C: <c>ℓ = −Σ_c q_c log softmax(x)_c</c> (PyTorch's formula).
    /// The mean is over rows whose target is not ignored. Backward: dx = (softmax(x) − q) / count.
    /// </remarks>
    /// <exception cref="ArgumentException">Target count or range does not match the logits.</exception>
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> targets, float labelSmoothing = 0f, int ignoreIndex = -100)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ShapeUtil.CheckRankAtLeast(logits, 1, nameof(CrossEntropy), "logits");
        int c = logits.Shape[^1], n = c == 0 ? 0 : logits.Size / c;
        if (targets.Length != n) throw new ArgumentException($"CrossEntropy: {targets.Length} targets for {n} rows of logits {ShapeUtil.Format(logits.Shape)}.");
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"Label smoothing must be in [0, 1], got {labelSmoothing}.");
        var count = 0;
        foreach (var y in targets)
        {
            if (y == ignoreIndex) continue;
            if ((uint)y >= (uint)c) throw new ArgumentOutOfRangeException(nameof(targets), $"CrossEntropy: target {y} is out of range for {c} classes.");
            count++;
        }
        var logp = BufferPool.Rent(n * c, clear: false); // rows of ignored targets are neither written nor read
        double total = 0;
        for (var r = 0; r < n; r++)
        {
            if (targets[r] == ignoreIndex) continue;
            var lp = logp.AsSpan(r * c, c);
            LogSoftmaxRow(logits.Data.AsSpan(r * c, c), lp);
            double rowLoss = -(1.0 - labelSmoothing) * lp[targets[r]];
            if (labelSmoothing > 0f) rowLoss -= labelSmoothing / c * Ops.SumDouble(lp);
            total += rowLoss;
        }
        var loss = Tensor.Uninitialized([]);
        loss.Data[0] = count == 0 ? float.NaN : (float)(total / count);
        if (GradMode.ShouldRecord(logits))
        {
            var tg = ArrayPool<int>.Shared.Rent(n); // the targets, kept for backward (at least n long)
            targets.CopyTo(tg);
            loss.Record("cross_entropy", [logits], (logits, tg, logp, n, c, count, labelSmoothing, ignoreIndex), static (loss, _, s) =>
            {
                var (logits, tg, logp, n, c, count, labelSmoothing, ignoreIndex) = s;
                var gx = logits.EnsureGrad();
                var g = loss.Grad![0] / count;
                for (var r = 0; r < n; r++)
                {
                    if (tg[r] == ignoreIndex) continue;
                    for (var k = 0; k < c; k++)
                    {
                        var q = labelSmoothing / c + (k == tg[r] ? 1f - labelSmoothing : 0f);
                        gx[r * c + k] += g * (MathF.Exp(logp[r * c + k]) - q);
                    }
                }
                ArrayPool<int>.Shared.Return(tg);
                BufferPool.Return(logp);
            });
        }
        else
            BufferPool.Return(logp);
        return loss;
    }
}
