using Dicp.Tensors;

namespace Dicp.Optim;

/// <summary>Gradient-norm clipping (PyTorch's <c>clip_grad_norm_</c>).</summary>
public static class GradClip
{
    /// <summary>Scales all gradients by min(1, maxNorm / (‖g‖₂ + 1e-6)) and returns the total norm before clipping.</summary>
    /// <remarks>‖g‖₂ is the 2-norm over all parameters' gradients together (accumulated in double).</remarks>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm > 0f)) throw new ArgumentOutOfRangeException(nameof(maxNorm), $"maxNorm must be positive, got {maxNorm}.");
        // A list (the optimizers' and trainers' parameter arrays) is walked by index: no enumerator, no copy.
        var list = parameters as IReadOnlyList<Tensor> ?? [.. parameters];
        double sq = 0;
        for (var i = 0; i < list.Count; i++)
        {
            var p = list[i];
            if (p.Grad is null) continue;
            var g = p.Grad.AsSpan(0, p.Size);
            sq += TensorPrimitives.Dot(g, g);
        }
        var total = (float)Math.Sqrt(sq);
        var coef = maxNorm / (total + 1e-6f);
        if (coef < 1f)
            for (var i = 0; i < list.Count; i++)
            {
                var p = list[i];
                if (p.Grad is not null) TensorPrimitives.Multiply(p.Grad.AsSpan(0, p.Size), coef, p.Grad.AsSpan(0, p.Size));
            }
        return total;
    }
}
