using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Element-wise sum <c>a + b</c>.</summary>
    /// <remarks>Shapes: equal, or b's shape a suffix of a's (b broadcast over a's leading dims, e.g. a bias), or the reverse.
    /// Backward: da = dy; db = dy summed over the broadcast dims.</remarks>
    public static Tensor Add(Tensor a, Tensor b) => Broadcast(a, b, nameof(Add), "add", static (a, b, y) =>
    {
        var (inner, outer) = (b.Size, a.Size / Math.Max(b.Size, 1));
        for (var o = 0; o < outer; o++) TensorPrimitives.Add(a.Data.AsSpan(o * inner, inner), b.Span, y.Data.AsSpan(o * inner, inner));
    }, static (a, b, y) =>
    {
        var gy = y.Grad!.AsSpan(0, y.Size);
        if (a.RequiresGrad)
        {
            var ga = a.GradForWrite(out var acc).AsSpan(0, a.Size);
            if (acc) TensorPrimitives.Add(ga, gy, ga);
            else gy.CopyTo(ga); // first gradient: copied, not added to cleared storage
        }
        if (b.RequiresGrad)
        {
            var gb = b.GradSpan;
            for (var o = 0; o < a.Size / Math.Max(b.Size, 1); o++) TensorPrimitives.Add(gb, gy.Slice(o * b.Size, b.Size), gb);
        }
    });

    /// <summary>Element-wise difference <c>a − b</c> (shapes equal).</summary>
    /// <remarks>Backward: da = dy, db = −dy.</remarks>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ShapeUtil.CheckSame(a, b, nameof(Sub));
        var y = Tensor.Uninitialized(a.Shape);
        TensorPrimitives.Subtract(a.Span, b.Span, y.Span);
        if (GradMode.ShouldRecord(a, b))
            y.Record("sub", [a, b], (a, b), static (y, _, s) =>
            {
                var (a, b) = s;
                var gy = y.Grad!.AsSpan(0, y.Size);
                if (a.RequiresGrad) TensorPrimitives.Add(a.GradSpan, gy, a.GradSpan);
                if (b.RequiresGrad) TensorPrimitives.Subtract(b.GradSpan, gy, b.GradSpan);
            });
        return y;
    }

    /// <summary>Element-wise minimum (PyTorch's <c>torch.minimum</c>; shapes equal). NaN in either operand gives NaN.</summary>
    /// <remarks>Backward: dy goes to the smaller operand; on a tie it is split equally (½·dy each), as PyTorch does.</remarks>
    public static Tensor Min(Tensor a, Tensor b) => Pick(a, b, nameof(Min), "min", larger: false);

    /// <summary>Element-wise maximum (PyTorch's <c>torch.maximum</c>; shapes equal). NaN in either operand gives NaN.</summary>
    /// <remarks>Backward: dy goes to the larger operand; on a tie it is split equally (½·dy each), as PyTorch does.</remarks>
    public static Tensor Max(Tensor a, Tensor b) => Pick(a, b, nameof(Max), "max", larger: true);

    /// <summary>Forward and backward of <see cref="Min(Tensor, Tensor)"/> and <see cref="Max(Tensor, Tensor)"/>.</summary>
    private static Tensor Pick(Tensor a, Tensor b, string name, string op, bool larger)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ShapeUtil.CheckSame(a, b, name);
        var y = Tensor.Uninitialized(a.Shape);
        if (larger) TensorPrimitives.Max(a.Span, b.Span, y.Span);
        else TensorPrimitives.Min(a.Span, b.Span, y.Span);
        if (GradMode.ShouldRecord(a, b))
            y.Record(op, [a, b], (a, b, larger), static (y, _, s) =>
            {
                var (a, b, larger) = s;
                ReadOnlySpan<float> x1 = a.Span, x2 = b.Span, gy = y.Grad!.AsSpan(0, y.Size);
                var ga = a.RequiresGrad ? a.GradSpan : default;
                var gb = b.RequiresGrad ? b.GradSpan : default;
                for (var i = 0; i < gy.Length; i++)
                {
                    // the share of dy that goes to a: 1 where a is picked, ½ on a tie, 0 where b is (or either is NaN: b)
                    var share = x1[i] == x2[i] ? 0.5f : (larger ? x1[i] > x2[i] : x1[i] < x2[i]) ? 1f : 0f;
                    if (!ga.IsEmpty) ga[i] += share * gy[i];
                    if (!gb.IsEmpty) gb[i] += (1f - share) * gy[i];
                }
            });
        return y;
    }

    /// <summary>Element-wise product <c>a ⊙ b</c>, with the broadcasting rule of <see cref="Add"/>.</summary>
    /// <remarks>Backward: da = dy ⊙ b; db = Σ_broadcast dy ⊙ a.</remarks>
    public static Tensor Mul(Tensor a, Tensor b) => Broadcast(a, b, nameof(Mul), "mul", static (a, b, y) =>
    {
        var (inner, outer) = (b.Size, a.Size / Math.Max(b.Size, 1));
        for (var o = 0; o < outer; o++) TensorPrimitives.Multiply(a.Data.AsSpan(o * inner, inner), b.Span, y.Data.AsSpan(o * inner, inner));
    }, static (a, b, y) =>
    {
        var (inner, outer) = (b.Size, a.Size / Math.Max(b.Size, 1));
        var gy = y.Grad!;
        for (var o = 0; o < outer; o++)
        {
            var g = gy.AsSpan(o * inner, inner);
            if (a.RequiresGrad) Elementwise.MapAccumulate<MultiplyOperator>(g, b.Span, a.GradSpan.Slice(o * inner, inner));   // da = dy·b
            if (b.RequiresGrad) Elementwise.MapAccumulate<MultiplyOperator>(g, a.Data.AsSpan(o * inner, inner), b.GradSpan); // db = Σ dy·a
        }
    });

    /// <summary>Multiplies by a constant: <c>y = s·x</c>.</summary>
    /// <remarks>Backward: dx = s·dy.</remarks>
    public static Tensor Scale(Tensor x, float s)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Multiply(x.Span, s, y.Span);
        if (GradMode.ShouldRecord(x))
            y.Record("scale", [x], (x, s), static (y, _, saved) => TensorPrimitives.MultiplyAdd(y.Grad!.AsSpan(0, y.Size), saved.s, saved.x.GradSpan, saved.x.GradSpan));
        return y;
    }

    /// <summary>Adds a constant: <c>y = x + c</c>.</summary>
    public static Tensor AddScalar(Tensor x, float c)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Add(x.Span, c, y.Span);
        if (GradMode.ShouldRecord(x))
            y.Record("add_scalar", [x], x, static (y, _, x) => TensorPrimitives.Add(x.GradSpan, y.Grad!.AsSpan(0, y.Size), x.GradSpan));
        return y;
    }

    /// <summary>Shared shape logic of the broadcasting binary ops; normalises so that b is the (suffix-shaped) smaller operand.</summary>
    private static Tensor Broadcast(Tensor a, Tensor b, string name, string op, Action<Tensor, Tensor, Tensor> forward, Action<Tensor, Tensor, Tensor> backward)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!IsSuffix(b.Shape, a.Shape))
        {
            if (!IsSuffix(a.Shape, b.Shape))
                throw new ArgumentException($"{name}: shapes {ShapeUtil.Format(a.Shape)} and {ShapeUtil.Format(b.Shape)} do not broadcast (one must equal the other's trailing dimensions).");
            (a, b) = (b, a); // both ops are commutative
        }
        var y = Tensor.Uninitialized(a.Shape);
        forward(a, b, y);
        if (GradMode.ShouldRecord(a, b)) y.Record(op, [a, b], (a, b, backward), static (y, _, s) => s.backward(s.a, s.b, y));
        return y;
    }

    private static bool IsSuffix(ReadOnlySpan<int> small, ReadOnlySpan<int> big) =>
        small.Length <= big.Length && big[(big.Length - small.Length)..].SequenceEqual(small);
}
