using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Inverted dropout: each element is zeroed with probability <paramref name="p"/>, survivors scaled by 1/(1−p).</summary>
    /// <remarks>
    /// The mask is counter-based (a hash of one 64-bit key drawn from <paramref name="generator"/> and the element index), so
    /// it is not stored: backward regenerates it. With p = 0 the input is returned unchanged.
    /// Backward: dx = dy ⊙ mask / (1 − p).
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">p is outside [0, 1).</exception>
    public static Tensor Dropout(Tensor x, float p, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(generator);
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout probability must be in [0, 1), got {p}.");
        if (p == 0f) return x;
        var key = generator.NextUInt64();
        var scale = 1f / (1f - p);
        var y = Tensor.Uninitialized(x.Shape);
        DropoutMask.Apply(key, 0, p, scale, x.Span, y.Span, accumulate: false);
        if (GradMode.ShouldRecord(x))
            y.Record("dropout", [x], (x, key, p, scale), static (y, _, s) =>
                DropoutMask.Apply(s.key, 0, s.p, s.scale, y.Grad!.AsSpan(0, y.Size), s.x.GradSpan, accumulate: true));
        return y;
    }
}
