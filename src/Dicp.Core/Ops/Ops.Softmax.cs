using Dicp.Autograd;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Softmax over the last axis: <c>y_i = e^{x_i − max x} / Σ_j e^{x_j − max x}</c>.</summary>
    /// <remarks>Backward: dx = y ⊙ (dy − Σ_j dy_j y_j).</remarks>
    public static Tensor Softmax(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        ShapeUtil.CheckRankAtLeast(x, 1, nameof(Softmax), "input");
        int c = x.Shape[^1], rows = c == 0 ? 0 : x.Size / c;
        var y = Tensor.Uninitialized(x.Shape);
        for (var r = 0; r < rows; r++) TensorPrimitives.SoftMax(x.Data.AsSpan(r * c, c), y.Data.AsSpan(r * c, c));
        if (GradMode.ShouldRecord(x))
            y.Record("softmax", [x], (x, c, rows), static (y, _, s) =>
            {
                var (x, c, rows) = s;
                var gx = x.EnsureGrad();
                for (var r = 0; r < rows; r++)
                {
                    var yr = y.Data.AsSpan(r * c, c);
                    var gyr = y.Grad!.AsSpan(r * c, c);
                    var dot = TensorPrimitives.Dot(gyr, yr);
                    var gxr = gx.AsSpan(r * c, c);
                    for (var i = 0; i < c; i++) gxr[i] += yr[i] * (gyr[i] - dot);
                }
            });
        return y;
    }

    /// <summary>Log-softmax over the last axis: <c>y_i = x_i − max x − log Σ_j e^{x_j − max x}</c>.</summary>
    /// <remarks>Backward: dx = dy − softmax(x) · Σ_j dy_j.</remarks>
    public static Tensor LogSoftmax(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        ShapeUtil.CheckRankAtLeast(x, 1, nameof(LogSoftmax), "input");
        int c = x.Shape[^1], rows = c == 0 ? 0 : x.Size / c;
        var y = Tensor.Uninitialized(x.Shape);
        for (var r = 0; r < rows; r++) LogSoftmaxRow(x.Data.AsSpan(r * c, c), y.Data.AsSpan(r * c, c));
        if (GradMode.ShouldRecord(x))
            y.Record("log_softmax", [x], (x, c, rows), static (y, _, saved) =>
            {
                var (x, c, rows) = saved;
                var gx = x.EnsureGrad();
                for (var r = 0; r < rows; r++)
                {
                    var yr = y.Data.AsSpan(r * c, c);
                    var gyr = y.Grad!.AsSpan(r * c, c);
                    var s = TensorPrimitives.Sum(gyr);
                    var gxr = gx.AsSpan(r * c, c);
                    for (var i = 0; i < c; i++) gxr[i] += gyr[i] - MathF.Exp(yr[i]) * s;
                }
            });
        return y;
    }

    /// <summary>One row of log-softmax, numerically stable.</summary>
    internal static void LogSoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        var max = TensorPrimitives.Max(x);
        double s = 0;
        for (var i = 0; i < x.Length; i++) s += Math.Exp(x[i] - max);
        var lse = max + (float)Math.Log(s);
        TensorPrimitives.Subtract(x, lse, y);
    }
}
