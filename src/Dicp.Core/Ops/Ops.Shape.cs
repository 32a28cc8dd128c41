using System.Buffers;
using Dicp.Autograd;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Same values with a new shape (shares storage). One dimension may be −1 (inferred).</summary>
    /// <remarks>Backward: dx = dy reshaped back.</remarks>
    public static Tensor Reshape(Tensor x, params ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(x);
        Span<int> s = stackalloc int[shape.Length];
        shape.CopyTo(s);
        var infer = s.IndexOf(-1);
        if (infer >= 0)
        {
            var known = 1;
            for (var i = 0; i < s.Length; i++) if (i != infer) known *= s[i];
            if (known == 0 || x.Size % known != 0)
                throw new ArgumentException($"Reshape: cannot infer −1 in {ShapeUtil.Format(shape)} for {x.Size} elements of {ShapeUtil.Format(x.Shape)}.");
            s[infer] = x.Size / known;
        }
        if (ShapeUtil.Numel(s, nameof(shape)) != x.Size)
            throw new ArgumentException($"Reshape: {ShapeUtil.Format(x.Shape)} ({x.Size} elements) cannot become {ShapeUtil.Format(shape)}.");
        var y = Tensor.View(x, s);
        if (GradMode.ShouldRecord(x))
            y.Record("reshape", [x], x, static (y, _, x) => TensorPrimitives.Add(x.GradSpan, y.Grad!.AsSpan(0, y.Size), x.GradSpan));
        return y;
    }

    /// <summary>Swaps two axes (materialised copy).</summary>
    public static Tensor Transpose(Tensor x, int axis0, int axis1)
    {
        ArgumentNullException.ThrowIfNull(x);
        Span<int> perm = stackalloc int[x.Rank];
        for (var i = 0; i < perm.Length; i++) perm[i] = i;
        int a0 = ShapeUtil.Axis(axis0, x.Rank), a1 = ShapeUtil.Axis(axis1, x.Rank);
        (perm[a0], perm[a1]) = (perm[a1], perm[a0]);
        return Permute(x, perm);
    }

    /// <summary>Reorders axes: output axis i is input axis <c>perm[i]</c> (materialised copy).</summary>
    /// <remarks>Backward: dx = dy permuted by the inverse permutation.</remarks>
    public static Tensor Permute(Tensor x, params ReadOnlySpan<int> perm)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (perm.Length != x.Rank) throw new ArgumentException($"Permute: {perm.Length} axes given for a tensor of rank {x.Rank}.");
        var rank = x.Rank;
        Span<bool> seen = stackalloc bool[rank];
        seen.Clear();
        Span<int> outShape = stackalloc int[rank];
        Span<int> inStrides = stackalloc int[rank];
        Strides(x.Shape, inStrides);
        // dims[0..rank) = output shape, dims[rank..2·rank) = stride in x of each output axis (kept for backward)
        var dims = ArrayPool<int>.Shared.Rent(2 * rank);
        for (var i = 0; i < rank; i++)
        {
            var p = ShapeUtil.Axis(perm[i], rank);
            if (seen[p])
            {
                ArrayPool<int>.Shared.Return(dims);
                throw new ArgumentException($"Permute: axis {p} appears twice in {ShapeUtil.Format(perm)}.");
            }
            seen[p] = true;
            outShape[i] = dims[i] = x.Shape[p];
            dims[rank + i] = inStrides[p];
        }
        var y = Tensor.Uninitialized(outShape);
        PermuteCopy(x.Data, y.Data, dims.AsSpan(0, rank), dims.AsSpan(rank, rank), scatter: false);
        if (GradMode.ShouldRecord(x))
            y.Record("permute", [x], (x, dims), static (y, _, s) =>
            {
                var rank = s.x.Rank;
                PermuteCopy(y.Grad!, s.x.EnsureGrad(), s.dims.AsSpan(0, rank), s.dims.AsSpan(rank, rank), scatter: true);
                ArrayPool<int>.Shared.Return(s.dims);
            });
        else
            ArrayPool<int>.Shared.Return(dims);
        return y;
    }

    /// <summary>Walks the output in row-major order; gathers from (or, in backward, scatter-adds into) the strided source.</summary>
    private static void PermuteCopy(float[] a, float[] b, ReadOnlySpan<int> outShape, ReadOnlySpan<int> srcStride, bool scatter)
    {
        var rank = outShape.Length;
        var n = ShapeUtil.Numel(outShape, "shape");
        if (n == 0) return;
        Span<int> idx = stackalloc int[rank];
        idx.Clear();
        var src = 0;
        var last = rank - 1;
        var lastLen = rank == 0 ? 1 : outShape[last];
        var lastStride = rank == 0 ? 0 : srcStride[last];
        for (var o = 0; o < n; o += lastLen)
        {
            if (!scatter) for (var j = 0; j < lastLen; j++) b[o + j] = a[src + j * lastStride];
            else for (var j = 0; j < lastLen; j++) b[src + j * lastStride] += a[o + j];
            for (var d = last - 1; d >= 0; d--) // odometer over the leading axes
            {
                idx[d]++;
                src += srcStride[d];
                if (idx[d] < outShape[d]) break;
                src -= srcStride[d] * outShape[d];
                idx[d] = 0;
            }
        }
    }

    /// <summary>Row-major strides of <paramref name="shape"/> into <paramref name="strides"/>.</summary>
    internal static void Strides(ReadOnlySpan<int> shape, Span<int> strides)
    {
        var acc = 1;
        for (var i = shape.Length - 1; i >= 0; i--) { strides[i] = acc; acc *= shape[i]; }
    }

    /// <summary>The sub-range <c>[start, start + length)</c> along one axis (copy).</summary>
    /// <remarks>Backward: dy is added into the same range of dx.</remarks>
    public static Tensor Slice(Tensor x, int axis, int start, int length)
    {
        ArgumentNullException.ThrowIfNull(x);
        var ax = ShapeUtil.Axis(axis, x.Rank);
        var dim = x.Shape[ax];
        if (start < 0 || length < 0 || start + length > dim)
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice: [{start}, {start + length}) is outside axis {ax} of size {dim} in {ShapeUtil.Format(x.Shape)}.");
        Span<int> outShape = stackalloc int[x.Rank];
        x.Shape.CopyTo(outShape);
        outShape[ax] = length;
        var y = Tensor.Uninitialized(outShape);
        int outer = ShapeUtil.Prod(x.Shape, 0, ax), inner = ShapeUtil.Prod(x.Shape, ax + 1, x.Rank);
        for (var o = 0; o < outer; o++)
            x.Data.AsSpan((o * dim + start) * inner, length * inner).CopyTo(y.Data.AsSpan(o * length * inner));
        if (GradMode.ShouldRecord(x))
            y.Record("slice", [x], (x, outer, dim, start, length, inner), static (y, _, s) =>
            {
                var (x, outer, dim, start, length, inner) = s;
                var gx = x.EnsureGrad();
                for (var o = 0; o < outer; o++)
                {
                    var dst = gx.AsSpan((o * dim + start) * inner, length * inner);
                    TensorPrimitives.Add(dst, y.Grad!.AsSpan(o * length * inner, length * inner), dst);
                }
            });
        return y;
    }

    /// <summary>Joins tensors along an axis; all other dimensions must agree.</summary>
    /// <remarks>Backward: each input receives its slice of dy.</remarks>
    public static Tensor Concat(IReadOnlyList<Tensor> xs, int axis)
    {
        ArgumentNullException.ThrowIfNull(xs);
        return Concat(xs is Tensor[] array ? array : [.. xs], axis);
    }

    /// <summary>Joins tensors along an axis; all other dimensions must agree (a collection expression <c>[a, b]</c> allocates nothing).</summary>
    /// <remarks>Backward: each input receives its slice of dy.</remarks>
    public static Tensor Concat(ReadOnlySpan<Tensor> xs, int axis)
    {
        if (xs.Length == 0) throw new ArgumentException("Concat: no tensors given.");
        var first = xs[0];
        var ax = ShapeUtil.Axis(axis, first.Rank);
        var total = 0;
        foreach (var t in xs)
        {
            var ok = t.Rank == first.Rank;
            for (var d = 0; ok && d < t.Rank; d++) ok = d == ax || t.Shape[d] == first.Shape[d];
            if (!ok) throw new ArgumentException($"Concat: shape {ShapeUtil.Format(t.Shape)} does not match {ShapeUtil.Format(first.Shape)} outside axis {ax}.");
            total += t.Shape[ax];
        }
        Span<int> outShape = stackalloc int[first.Rank];
        first.Shape.CopyTo(outShape);
        outShape[ax] = total;
        var y = Tensor.Uninitialized(outShape);
        int outer = ShapeUtil.Prod(first.Shape, 0, ax), inner = ShapeUtil.Prod(first.Shape, ax + 1, first.Rank);
        var offset = 0;
        foreach (var t in xs)
        {
            var len = t.Shape[ax] * inner;
            for (var o = 0; o < outer; o++) t.Data.AsSpan(o * len, len).CopyTo(y.Data.AsSpan(o * total * inner + offset));
            offset += len;
        }
        if (GradMode.ShouldRecord(xs))
            y.Record("concat", xs, (ax, outer, inner, total), static (y, inputs, s) =>
            {
                var (ax, outer, inner, total) = s;
                var off = 0;
                foreach (var t in inputs)
                {
                    var len = t.Shape[ax] * inner;
                    if (t.RequiresGrad)
                    {
                        var gt = t.EnsureGrad();
                        for (var o = 0; o < outer; o++)
                            TensorPrimitives.Add(gt.AsSpan(o * len, len), y.Grad!.AsSpan(o * total * inner + off, len), gt.AsSpan(o * len, len));
                    }
                    off += len;
                }
            });
        return y;
    }
}
