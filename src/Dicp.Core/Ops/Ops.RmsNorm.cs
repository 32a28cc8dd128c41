using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>RMSNorm over the last axis: <c>y = w ⊙ x / √(mean(x²) + ε)</c>.</summary>
    /// <remarks>
    /// x (…, D), weight (D). With r = (mean(x²) + ε)^(−½) and x̂ = x·r, backward is
    /// dx = r·(g − x̂·mean(g ⊙ x̂)) where g = dy ⊙ w, and dw = Σ_rows dy ⊙ x̂.
    /// </remarks>
    public static Tensor RmsNorm(Tensor x, Tensor weight, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ShapeUtil.CheckRankAtLeast(x, 1, nameof(RmsNorm), "input");
        var d = x.Shape[^1];
        if (weight.Rank != 1 || weight.Shape[0] != d)
            throw new ArgumentException($"RmsNorm: weight must have shape [{d}] for input {ShapeUtil.Format(x.Shape)}, got {ShapeUtil.Format(weight.Shape)}.");
        var rows = d == 0 ? 0 : x.Size / d;
        return RmsNormKernel.Supports(d) ? RmsNormFused(x, weight, eps, rows, d, 0f, 0UL) : RmsNormRowwise(x, weight, eps, rows, d);
    }

    /// <summary>The generic <see cref="RmsNorm"/> (TensorPrimitives per row), which runs where <see cref="RmsNormKernel"/>
    /// does not; tests call it as the op-by-op reference. Arguments as checked by <see cref="RmsNorm"/>.</summary>
    internal static Tensor RmsNormRowwise(Tensor x, Tensor weight, float eps, int rows, int d)
    {
        var y = Tensor.Uninitialized(x.Shape);
        var rstd = BufferPool.Rent(rows, clear: false); // 1/rms per row, saved for backward
        var norm = new RmsNormRows(x, weight, y, rstd, eps, d, Backward: false);
        ParallelLoop.ForRanges(rows, d, norm);
        if (GradMode.ShouldRecord(x, weight))
            y.Record("rmsnorm", [x, weight], norm with { Backward = true }, static (y, _, norm) =>
            {
                var (x, weight, rstd, d) = (norm.X, norm.Weight, norm.Rstd, norm.D);
                var rows = d == 0 ? 0 : x.Size / d;
                var gy = y.Grad!;
                if (x.RequiresGrad)
                {
                    x.EnsureGrad();
                    ParallelLoop.ForRanges(rows, d, norm);
                }
                if (weight.RequiresGrad)
                {
                    var gw = weight.GradSpan;
                    for (var r = 0; r < rows; r++)
                    {
                        var xr = x.Data.AsSpan(r * d, d);
                        var gyr = gy.AsSpan(r * d, d);
                        var inv = rstd[r];
                        for (var i = 0; i < d; i++) gw[i] += gyr[i] * xr[i] * inv;
                    }
                }
                BufferPool.Return(rstd);
            });
        else
            BufferPool.Return(rstd);
        return y;
    }

    /// <summary>Rows [r0, r1) of the generic <see cref="RmsNorm"/>: forward, or backward into x's gradient.</summary>
    private readonly record struct RmsNormRows(Tensor X, Tensor Weight, Tensor Y, float[] Rstd, float Eps, int D, bool Backward) : IRangeBody
    {
        public void Run(int r0, int r1)
        {
            var d = D;
            if (!Backward)
            {
                for (var r = r0; r < r1; r++)
                {
                    var xr = X.Data.AsSpan(r * d, d);
                    var inv = 1f / MathF.Sqrt(TensorPrimitives.Dot(xr, xr) / d + Eps);
                    Rstd[r] = inv;
                    var yr = Y.Data.AsSpan(r * d, d);
                    TensorPrimitives.Multiply(xr, inv, yr);
                    TensorPrimitives.Multiply(yr, Weight.Span, yr);
                }
                return;
            }
            var gy = Y.Grad!;
            var gx = X.Grad!;
            Span<float> g = d <= 1024 ? stackalloc float[d] : new float[d];
            for (var r = r0; r < r1; r++)
            {
                var xr = X.Data.AsSpan(r * d, d);
                var inv = Rstd[r];
                TensorPrimitives.Multiply(gy.AsSpan(r * d, d), Weight.Span, g);      // g = dy ⊙ w
                var m = TensorPrimitives.Dot(g, xr) * inv / d;                       // mean(g ⊙ x̂)
                var gxr = gx.AsSpan(r * d, d);
                for (var i = 0; i < d; i++) gxr[i] += inv * (g[i] - xr[i] * inv * m);
            }
        }
    }

    /// <summary>
    /// <c>RmsNorm(Dropout(x, p, generator), weight, eps)</c> in one pass: the same key draw, mask and values as the two
    /// ops in sequence, without materialising the dropped-out input (backward regenerates the mask).
    /// </summary>
    internal static Tensor DropoutRmsNorm(Tensor x, float p, Generator generator, Tensor weight, float eps)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(weight);
        var d = x.Rank == 0 ? 0 : x.Shape[^1];
        if (p == 0f || !RmsNormKernel.Supports(d) || weight.Rank != 1 || weight.Shape[0] != d)
            return RmsNorm(Dropout(x, p, generator), weight, eps);
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout probability must be in [0, 1), got {p}.");
        return RmsNormFused(x, weight, eps, x.Size / d, d, p, generator.NextUInt64());
    }

    private static Tensor RmsNormFused(Tensor x, Tensor weight, float eps, int rows, int d, float p, ulong key)
    {
        var kernel = new RmsNormKernel { Rows = rows, D = d, Eps = eps, DropoutP = p, DropoutKey = key };
        var y = Tensor.Uninitialized(x.Shape);
        var rstd = BufferPool.Rent(rows, clear: false); // 1/rms per row, saved for backward
        kernel.Forward(x.Data, weight.Data, y.Data, rstd);
        if (GradMode.ShouldRecord(x, weight))
            y.Record(p > 0f ? "dropout_rmsnorm" : "rmsnorm", [x, weight], (x, weight, kernel, rstd), static (y, _, s) =>
            {
                var (x, weight, kernel, rstd) = s;
                kernel.Backward(x.Data, weight.Data, rstd, y.Grad!, x.RequiresGrad ? x.EnsureGrad() : null, weight.RequiresGrad ? weight.EnsureGrad() : null);
                BufferPool.Return(rstd);
            });
        else
            BufferPool.Return(rstd);
        return y;
    }
}
