using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Mean squared error <c>mean((pred − target)²)</c>.</summary>
    /// <remarks>Shapes equal. Backward: dpred = 2(pred − target)/n, dtarget = −dpred.</remarks>
    public static Tensor MseLoss(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        ShapeUtil.CheckSame(prediction, target, nameof(MseLoss));
        var n = prediction.Size;
        var diff = BufferPool.Rent(n, clear: false); // exactly n long; saved for backward
        TensorPrimitives.Subtract(prediction.Span, target.Span, diff);
        double s = 0;
        foreach (var v in diff) s += (double)v * v;
        var loss = Tensor.Uninitialized([]);
        loss.Data[0] = n == 0 ? float.NaN : (float)(s / n);
        if (GradMode.ShouldRecord(prediction, target))
            loss.Record("mse", [prediction, target], (prediction, target, diff), static (loss, _, s) =>
            {
                var (prediction, target, diff) = s;
                var g = 2f * loss.Grad![0] / diff.Length;
                if (prediction.RequiresGrad) TensorPrimitives.MultiplyAdd(diff, g, prediction.GradSpan, prediction.GradSpan);
                if (target.RequiresGrad) TensorPrimitives.MultiplyAdd(diff, -g, target.GradSpan, target.GradSpan);
                BufferPool.Return(diff);
            });
        else
            BufferPool.Return(diff);
        return loss;
    }
}
