using Dicp.Autograd;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Sum over one axis (removed, or kept as size 1 with <paramref name="keepDim"/>).</summary>
    /// <remarks>Backward: dx = dy broadcast along the axis.</remarks>
    public static Tensor Sum(Tensor x, int axis, bool keepDim = false) => ReduceAxis(x, axis, keepDim, 1f, "sum");

    /// <summary>Mean over one axis.</summary>
    /// <remarks>Backward: dx = dy / n broadcast along the axis.</remarks>
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        var n = x.Dim(axis);
        return ReduceAxis(x, axis, keepDim, n == 0 ? float.NaN : 1f / n, "mean");
    }

    /// <summary>Sum of all elements → shape [].</summary>
    public static Tensor Sum(Tensor x) => ReduceAll(x, 1f, "sum_all");

    /// <summary>Mean of all elements → shape [].</summary>
    public static Tensor Mean(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return ReduceAll(x, x.Size == 0 ? float.NaN : 1f / x.Size, "mean_all");
    }

    private static Tensor ReduceAll(Tensor x, float factor, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized([]);
        y.Data[0] = (float)(SumDouble(x.Span) * factor);
        if (GradMode.ShouldRecord(x))
            y.Record(op, [x], (x, factor), static (y, _, s) => TensorPrimitives.Add(s.x.GradSpan, y.Grad![0] * s.factor, s.x.GradSpan));
        return y;
    }

    /// <summary>Sum accumulated in double (pairwise over float chunks) for reductions that feed losses.</summary>
    internal static double SumDouble(ReadOnlySpan<float> x)
    {
        double s = 0;
        const int Chunk = 256;
        for (var i = 0; i < x.Length; i += Chunk) s += TensorPrimitives.Sum(x.Slice(i, Math.Min(Chunk, x.Length - i)));
        return s;
    }

    private static Tensor ReduceAxis(Tensor x, int axis, bool keepDim, float factor, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        var ax = ShapeUtil.Axis(axis, x.Rank);
        int outer = ShapeUtil.Prod(x.Shape, 0, ax), n = x.Shape[ax], inner = ShapeUtil.Prod(x.Shape, ax + 1, x.Rank);
        Span<int> outShape = stackalloc int[x.Rank];
        x.Shape.CopyTo(outShape);
        if (keepDim) outShape[ax] = 1;
        else
        {
            outShape[(ax + 1)..].CopyTo(outShape[ax..]);
            outShape = outShape[..^1];
        }
        var y = Tensor.Empty(outShape);
        for (var o = 0; o < outer; o++)
        {
            var dst = y.Data.AsSpan(o * inner, inner);
            for (var i = 0; i < n; i++) TensorPrimitives.Add(dst, x.Data.AsSpan((o * n + i) * inner, inner), dst);
            TensorPrimitives.Multiply(dst, factor, dst);
        }
        if (GradMode.ShouldRecord(x))
            y.Record(op, [x], (x, outer, n, inner, factor), static (y, _, s) =>
            {
                var (x, outer, n, inner, factor) = s;
                var gx = x.EnsureGrad();
                for (var o = 0; o < outer; o++)
                    for (var i = 0; i < n; i++)
                    {
                        var dst = gx.AsSpan((o * n + i) * inner, inner);
                        TensorPrimitives.MultiplyAdd(y.Grad!.AsSpan(o * inner, inner), factor, dst, dst);
                    }
            });
        return y;
    }
}
