using Dicp.Autograd;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Rotary position embedding on x laid out (B, T, H, hs), positions 0 … T−1.</summary>
    /// <remarks>See <see cref="RotaryCache"/> for the formula. Backward applies the inverse rotation to dy.</remarks>
    public static Tensor Rope(Tensor x, RotaryCache cache)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(cache);
        if (x.Rank != 4 || x.Shape[3] != cache.HeadSize || x.Shape[1] > cache.MaxSeqLen)
            throw new ArgumentException($"Rope: input must be (B, T ≤ {cache.MaxSeqLen}, H, {cache.HeadSize}), got {ShapeUtil.Format(x.Shape)}.");
        int b = x.Shape[0], t = x.Shape[1], h = x.Shape[2], hs = x.Shape[3];
        var y = Tensor.Uninitialized(x.Shape);
        for (var bi = 0; bi < b; bi++)
            for (var ti = 0; ti < t; ti++)
                for (var hi = 0; hi < h; hi++)
                {
                    var o = ((bi * t + ti) * h + hi) * hs;
                    cache.Rotate(x.Data.AsSpan(o, hs), y.Data.AsSpan(o, hs), ti);
                }
        if (GradMode.ShouldRecord(x))
            y.Record("rope", [x], (x, cache), static (y, _, s) =>
            {
                var (x, cache) = s;
                int b = x.Shape[0], t = x.Shape[1], h = x.Shape[2], hs = x.Shape[3];
                var gx = x.EnsureGrad();
                for (var bi = 0; bi < b; bi++)
                    for (var ti = 0; ti < t; ti++)
                        for (var hi = 0; hi < h; hi++)
                        {
                            var o = ((bi * t + ti) * h + hi) * hs;
                            cache.RotateBackAccumulate(y.Grad!.AsSpan(o, hs), gx.AsSpan(o, hs), ti);
                        }
            });
        return y;
    }
}
