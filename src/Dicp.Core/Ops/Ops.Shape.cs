using Dicp.Autograd;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Same values with a new shape (shares storage). One dimension may be −1 (inferred).</summary>
    /// <remarks>Backward: dx = dy reshaped back.</remarks>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(x);
        var s = (int[])shape.Clone();
        var infer = Array.IndexOf(s, -1);
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
            y.Record("reshape", [x], () => TensorPrimitives.Add(x.GradSpan, y.Grad!.AsSpan(0, y.Size), x.GradSpan));
        return y;
    }

    /// <summary>Swaps two axes (materialised copy).</summary>
    public static Tensor Transpose(Tensor x, int axis0, int axis1)
    {
        ArgumentNullException.ThrowIfNull(x);
        var perm = new int[x.Rank];
        for (var i = 0; i < perm.Length; i++) perm[i] = i;
        int a0 = ShapeUtil.Axis(axis0, x.Rank), a1 = ShapeUtil.Axis(axis1, x.Rank);
        (perm[a0], perm[a1]) = (perm[a1], perm[a0]);
        return Permute(x, perm);
    }

    /// <summary>Reorders axes: output axis i is input axis <c>perm[i]</c> (materialised copy).</summary>
    /// <remarks>Backward: dx = dy permuted by the inverse permutation.</remarks>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        ArgumentNullException.ThrowIfNull(x);
        perm = (int[])perm.Clone();
        if (perm.Length != x.Rank) throw new ArgumentException($"Permute: {perm.Length} axes given for a tensor of rank {x.Rank}.");
        var seen = new bool[x.Rank];
        var outShape = new int[x.Rank];
        for (var i = 0; i < perm.Length; i++)
        {
            var p = ShapeUtil.Axis(perm[i], x.Rank);
            if (seen[p]) throw new ArgumentException($"Permute: axis {p} appears twice in [{string.Join(", ", perm)}].");
            seen[p] = true;
            perm[i] = p;
            outShape[i] = x.Shape[p];
        }
        var y = Tensor.Uninitialized(outShape);
        var inStrides = Strides(x.Shape);
        var srcStride = new int[x.Rank]; // stride in x of each output axis
        for (var i = 0; i < perm.Length; i++) srcStride[i] = inStrides[perm[i]];
        PermuteCopy(x.Data, y.Data, outShape, srcStride, scatter: false);
        if (GradMode.ShouldRecord(x))
            y.Record("permute", [x], () => PermuteCopy(y.Grad!, x.EnsureGrad(), outShape, srcStride, scatter: true));
        return y;
    }

    /// <summary>Walks the output in row-major order; gathers from (or, in backward, scatter-adds into) the strided source.</summary>
    private static void PermuteCopy(float[] a, float[] b, int[] outShape, int[] srcStride, bool scatter)
    {
        var rank = outShape.Length;
        var n = ShapeUtil.Numel(outShape, "shape");
        if (n == 0) return;
        var idx = new int[rank];
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

    internal static int[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new int[shape.Length];
        var acc = 1;
        for (var i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
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
        var outShape = x.Shape.ToArray();
        outShape[ax] = length;
        var y = Tensor.Uninitialized(outShape);
        int outer = ShapeUtil.Prod(x.Shape, 0, ax), inner = ShapeUtil.Prod(x.Shape, ax + 1, x.Rank);
        for (var o = 0; o < outer; o++)
            x.Data.AsSpan((o * dim + start) * inner, length * inner).CopyTo(y.Data.AsSpan(o * length * inner));
        if (GradMode.ShouldRecord(x))
            y.Record("slice", [x], () =>
            {
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
        if (xs.Count == 0) throw new ArgumentException("Concat: no tensors given.");
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
        var outShape = first.Shape.ToArray();
        outShape[ax] = total;
        var y = Tensor.Uninitialized(outShape);
        int outer = ShapeUtil.Prod(first.Shape, 0, ax), inner = ShapeUtil.Prod(first.Shape, ax + 1, first.Rank);
        var inputs = xs.ToArray();
        var offset = 0;
        foreach (var t in inputs)
        {
            var len = t.Shape[ax] * inner;
            for (var o = 0; o < outer; o++) t.Data.AsSpan(o * len, len).CopyTo(y.Data.AsSpan(o * total * inner + offset));
            offset += len;
        }
        if (GradMode.ShouldRecord(inputs))
            y.Record("concat", inputs, () =>
            {
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
