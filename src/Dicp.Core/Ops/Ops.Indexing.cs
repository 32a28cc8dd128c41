using System.Buffers;
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
        foreach (var i in index)
            if ((uint)i >= (uint)dim) throw new ArgumentOutOfRangeException(nameof(index), $"IndexSelect: index {i} is out of range for axis {ax} of size {dim}.");
        Span<int> outShape = stackalloc int[x.Rank];
        x.Shape.CopyTo(outShape);
        outShape[ax] = index.Length;
        var y = Tensor.Uninitialized(outShape);
        int outer = ShapeUtil.Prod(x.Shape, 0, ax), inner = ShapeUtil.Prod(x.Shape, ax + 1, x.Rank), count = index.Length;
        for (var o = 0; o < outer; o++)
            for (var i = 0; i < count; i++)
                x.Data.AsSpan((o * dim + index[i]) * inner, inner).CopyTo(y.Data.AsSpan((o * count + i) * inner));
        if (GradMode.ShouldRecord(x))
        {
            var idx = ArrayPool<int>.Shared.Rent(count); // the indices, kept for backward (at least count long)
            index.CopyTo(idx);
            y.Record("index_select", [x], (x, idx, count, outer, dim, inner), static (y, _, s) =>
            {
                var (x, idx, count, outer, dim, inner) = s;
                var gx = x.EnsureGrad();
                for (var o = 0; o < outer; o++)
                    for (var i = 0; i < count; i++)
                    {
                        var dst = gx.AsSpan((o * dim + idx[i]) * inner, inner);
                        TensorPrimitives.Add(dst, y.Grad!.AsSpan((o * count + i) * inner, inner), dst);
                    }
                ArrayPool<int>.Shared.Return(idx);
            });
        }
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
        foreach (var i in index)
            if ((uint)i >= (uint)c) throw new ArgumentOutOfRangeException(nameof(index), $"Gather: index {i} is out of range for the last axis of size {c}.");
        var y = Tensor.Uninitialized(indexShape);
        for (var r = 0; r < rows; r++)
            for (var q = 0; q < j; q++) y.Data[r * j + q] = x.Data[r * c + index[r * j + q]];
        if (GradMode.ShouldRecord(x))
        {
            var idx = ArrayPool<int>.Shared.Rent(index.Length); // the indices, kept for backward (at least as long)
            index.CopyTo(idx);
            y.Record("gather", [x], (x, idx, rows, j, c), static (y, _, s) =>
            {
                var (x, idx, rows, j, c) = s;
                var gx = x.EnsureGrad();
                for (var r = 0; r < rows; r++)
                    for (var q = 0; q < j; q++) gx[r * c + idx[r * j + q]] += y.Grad![r * j + q];
                ArrayPool<int>.Shared.Return(idx);
            });
        }
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
        foreach (var i in ids)
            if ((uint)i >= (uint)v) throw new ArgumentOutOfRangeException(nameof(ids), $"Embedding: id {i} is out of range for a table of {v} rows.");
        Span<int> outShape = stackalloc int[idsShape.Length + 1];
        idsShape.CopyTo(outShape);
        outShape[^1] = d;
        var y = Tensor.Uninitialized(outShape);
        for (var i = 0; i < ids.Length; i++) weight.Data.AsSpan(ids[i] * d, d).CopyTo(y.Data.AsSpan(i * d));
        if (GradMode.ShouldRecord(weight))
        {
            var idx = ArrayPool<int>.Shared.Rent(ids.Length); // the ids, kept for backward (at least as long)
            ids.CopyTo(idx);
            y.Record("embedding", [weight], (weight, idx, count: ids.Length, d), static (y, _, s) =>
            {
                var (weight, idx, count, d) = s;
                var gw = weight.EnsureGrad();
                for (var i = 0; i < count; i++)
                {
                    var dst = gw.AsSpan(idx[i] * d, d);
                    TensorPrimitives.Add(dst, y.Grad!.AsSpan(i * d, d), dst);
                }
                ArrayPool<int>.Shared.Return(idx);
            });
        }
        return y;
    }
}
