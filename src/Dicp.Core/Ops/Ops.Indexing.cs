using Dicp.Autograd;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Selects entries along an axis: <c>y[…, i, …] = x[…, index[i], …]</c>.</summary>
    /// <remarks>Backward: dx[…, index[i], …] += dy[…, i, …] (repeated indices accumulate).</remarks>
    public static Tensor IndexSelect(Tensor x, int axis, ReadOnlySpan<int> index)
    {
        ArgumentNullException.ThrowIfNull(x);
        var ax = ShapeUtil.Axis(axis, x.Rank);
        var dim = x.Shape[ax];
        var idx = index.ToArray();
        foreach (var i in idx)
            if ((uint)i >= (uint)dim) throw new ArgumentOutOfRangeException(nameof(index), $"IndexSelect: index {i} is out of range for axis {ax} of size {dim}.");
        var outShape = x.Shape.ToArray();
        outShape[ax] = idx.Length;
        var y = Tensor.Uninitialized(outShape);
        int outer = ShapeUtil.Prod(x.Shape, 0, ax), inner = ShapeUtil.Prod(x.Shape, ax + 1, x.Rank);
        for (var o = 0; o < outer; o++)
            for (var i = 0; i < idx.Length; i++)
                x.Data.AsSpan((o * dim + idx[i]) * inner, inner).CopyTo(y.Data.AsSpan((o * idx.Length + i) * inner));
        if (GradMode.ShouldRecord(x))
            y.Record("index_select", [x], () =>
            {
                var gx = x.EnsureGrad();
                for (var o = 0; o < outer; o++)
                    for (var i = 0; i < idx.Length; i++)
                    {
                        var dst = gx.AsSpan((o * dim + idx[i]) * inner, inner);
                        TensorPrimitives.Add(dst, y.Grad!.AsSpan((o * idx.Length + i) * inner, inner), dst);
                    }
            });
        return y;
    }

    /// <summary>Picks along the last axis: <c>y[r, j] = x[r, index[r, j]]</c> (PyTorch's <c>gather(x, -1, index)</c>).</summary>
    /// <remarks>x (…, C), index with shape (…, J) given row-major → y (…, J). Backward scatters-adds dy into dx.</remarks>
    public static Tensor Gather(Tensor x, ReadOnlySpan<int> index, ReadOnlySpan<int> indexShape)
    {
        ArgumentNullException.ThrowIfNull(x);
        ShapeUtil.CheckRankAtLeast(x, 1, nameof(Gather), "input");
        if (indexShape.Length != x.Rank || !indexShape[..^1].SequenceEqual(x.Shape[..^1]))
            throw new ArgumentException($"Gather: index shape {ShapeUtil.Format(indexShape)} must match input {ShapeUtil.Format(x.Shape)} in all but the last dimension.");
        if (ShapeUtil.Numel(indexShape, nameof(indexShape)) != index.Length)
            throw new ArgumentException($"Gather: {index.Length} indices do not fill shape {ShapeUtil.Format(indexShape)}.");
        int c = x.Shape[^1], j = indexShape[^1], rows = index.Length / Math.Max(j, 1);
        var idx = index.ToArray();
        foreach (var i in idx)
            if ((uint)i >= (uint)c) throw new ArgumentOutOfRangeException(nameof(index), $"Gather: index {i} is out of range for the last axis of size {c}.");
        var y = Tensor.Uninitialized(indexShape);
        for (var r = 0; r < rows; r++)
            for (var q = 0; q < j; q++) y.Data[r * j + q] = x.Data[r * c + idx[r * j + q]];
        if (GradMode.ShouldRecord(x))
            y.Record("gather", [x], () =>
            {
                var gx = x.EnsureGrad();
                for (var r = 0; r < rows; r++)
                    for (var q = 0; q < j; q++) gx[r * c + idx[r * j + q]] += y.Grad![r * j + q];
            });
        return y;
    }

    /// <summary>Embedding lookup: rows of <paramref name="weight"/> (V, D) selected by integer ids.</summary>
    /// <remarks>ids with shape <paramref name="idsShape"/> → (…ids shape, D). Backward: dW[id] += dy (repeated ids accumulate).</remarks>
    public static Tensor Embedding(Tensor weight, ReadOnlySpan<int> ids, ReadOnlySpan<int> idsShape)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2) throw new ArgumentException($"Embedding: weight must be (num_embeddings, dim), got {ShapeUtil.Format(weight.Shape)}.");
        if (ShapeUtil.Numel(idsShape, nameof(idsShape)) != ids.Length)
            throw new ArgumentException($"Embedding: {ids.Length} ids do not fill shape {ShapeUtil.Format(idsShape)}.");
        int v = weight.Shape[0], d = weight.Shape[1];
        var idx = ids.ToArray();
        foreach (var i in idx)
            if ((uint)i >= (uint)v) throw new ArgumentOutOfRangeException(nameof(ids), $"Embedding: id {i} is out of range for a table of {v} rows.");
        var outShape = new int[idsShape.Length + 1];
        idsShape.CopyTo(outShape);
        outShape[^1] = d;
        var y = Tensor.Uninitialized(outShape);
        for (var i = 0; i < idx.Length; i++) weight.Data.AsSpan(idx[i] * d, d).CopyTo(y.Data.AsSpan(i * d));
        if (GradMode.ShouldRecord(weight))
            y.Record("embedding", [weight], () =>
            {
                var gw = weight.EnsureGrad();
                for (var i = 0; i < idx.Length; i++)
                {
                    var dst = gw.AsSpan(idx[i] * d, d);
                    TensorPrimitives.Add(dst, y.Grad!.AsSpan(i * d, d), dst);
                }
            });
        return y;
    }
}
