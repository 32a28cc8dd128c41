using Dicp.Kernels;

namespace Dicp.Tensors;

/// <summary>
/// A region (per thread) whose op results give their storage back to Dicp's buffer pool when it ends, so that a
/// training or planning loop reuses the same memory every iteration instead of allocating it.
/// </summary>
/// <remarks>
/// <code>
/// using (TensorScope.Begin())
/// {
///     var loss = model.Loss(batch);
///     loss.Backward();
///     lossValue = loss.Item();      // read results inside the scope (or Clone() them)
/// }
/// </code>
/// Every tensor produced by an op inside the scope (outputs, views, losses) is released at its end: its storage and
/// gradient go back to the buffer pool, its graph node to the node pool, and the object itself is kept for reuse by a
/// later op result of the same rank. Touching its values afterwards throws <see cref="ObjectDisposedException"/> until
/// the object is reused — from then on the same reference shows the later op's result — so read or
/// <see cref="Tensor.Clone"/> results before the scope ends and never keep an op result across steps. Parameters,
/// tensors created with a constructor, a factory or <see cref="Tensor.Clone"/>, and gradients of leaves are not
/// affected. Scopes nest. A warm step inside a scope allocates no managed memory.
/// </remarks>
public readonly struct TensorScope : IDisposable
{
    [ThreadStatic] private static List<Tensor>? _tracked;
    [ThreadStatic] private static int _depth;
    [ThreadStatic] private static Stack<Tensor>[]? _recycled; // released op results by rank, reused by later ops
    private const int MaxRecycledRank = 8;
    private const int MaxRecycledPerRank = 1 << 14;
    private readonly int _start;

    private TensorScope(int start) => _start = start;

    /// <summary>Starts a scope on this thread.</summary>
    public static TensorScope Begin()
    {
        _tracked ??= new List<Tensor>(256);
        _depth++;
        return new TensorScope(_tracked.Count);
    }

    /// <summary>Whether a scope is active on this thread.</summary>
    public static bool IsActive => _depth > 0;

    internal static void Track(Tensor t)
    {
        if (_depth > 0) _tracked!.Add(t);
    }

    /// <summary>A released op result of rank <paramref name="rank"/> to reuse, or <c>null</c>.</summary>
    internal static Tensor? TakeRecycled(int rank) =>
        _recycled is { } r && rank < r.Length && r[rank].Count > 0 ? r[rank].Pop() : null;

    /// <summary>Releases every op result created since <see cref="Begin"/> and keeps the objects for reuse.</summary>
    public void Dispose()
    {
        if (_depth == 0 || _tracked is null) return;
        var recycled = _recycled ??= NewRecycleBins();
        for (var i = _tracked.Count - 1; i >= _start; i--)
        {
            var t = _tracked[i];
            t.ReleaseStorage();
            if (t.Rank < recycled.Length && recycled[t.Rank].Count < MaxRecycledPerRank) recycled[t.Rank].Push(t);
        }
        _tracked.RemoveRange(_start, _tracked.Count - _start);
        _depth--;
    }

    private static Stack<Tensor>[] NewRecycleBins()
    {
        var bins = new Stack<Tensor>[MaxRecycledRank + 1];
        for (var i = 0; i < bins.Length; i++) bins[i] = new Stack<Tensor>();
        return bins;
    }
}
