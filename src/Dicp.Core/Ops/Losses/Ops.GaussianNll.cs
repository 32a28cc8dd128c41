using Dicp.Autograd;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Gaussian negative log-likelihood (PyTorch's <c>gaussian_nll_loss</c>, mean reduction).</summary>
    /// <remarks>
    /// mean, variance, target with equal shapes. v = max(variance, ε) (the clamp passes gradients through, as PyTorch);
    /// <c>ℓ = mean(½(log v + (μ − t)²/v)) [+ ½ log 2π when <paramref name="full"/>]</c>.
    /// Backward: dμ = (μ − t)/(v·n), dv = ½(1/v − (μ − t)²/v²)/n, dt = −dμ.
    /// </remarks>
    public static Tensor GaussianNllLoss(Tensor mean, Tensor variance, Tensor target, bool full = true, float eps = 1e-6f)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(variance);
        ArgumentNullException.ThrowIfNull(target);
        ShapeUtil.CheckSame(mean, target, nameof(GaussianNllLoss));
        ShapeUtil.CheckSame(mean, variance, nameof(GaussianNllLoss));
        foreach (var v in variance.Span)
            if (v < 0f || float.IsNaN(v)) throw new ArgumentException($"GaussianNllLoss: variance has a negative or NaN entry ({v}).", nameof(variance));
        var n = mean.Size;
        double s = 0;
        for (var i = 0; i < n; i++)
        {
            double v = MathF.Max(variance.Data[i], eps), d = mean.Data[i] - target.Data[i];
            s += 0.5 * (Math.Log(v) + d * d / v);
        }
        if (full) s += 0.5 * Math.Log(2 * Math.PI) * n;
        var loss = Tensor.Uninitialized([]);
        loss.Data[0] = n == 0 ? float.NaN : (float)(s / n);
        if (GradMode.ShouldRecord(mean, variance, target))
            loss.Record("gaussian_nll", [mean, variance, target], (mean, variance, target, eps, n), static (loss, _, s) =>
            {
                var (mean, variance, target, eps, n) = s;
                var g = loss.Grad![0] / n;
                for (var i = 0; i < n; i++)
                {
                    float v = MathF.Max(variance.Data[i], eps), d = mean.Data[i] - target.Data[i];
                    if (mean.RequiresGrad) mean.EnsureGrad()[i] += g * d / v;
                    if (target.RequiresGrad) target.EnsureGrad()[i] -= g * d / v;
                    if (variance.RequiresGrad) variance.EnsureGrad()[i] += g * 0.5f * (1f / v - d * d / (v * v));
                }
            });
        return loss;
    }
}
