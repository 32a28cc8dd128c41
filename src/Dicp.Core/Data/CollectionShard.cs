using System.Globalization;

namespace Dicp.Data;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/>: the tasks at positions <c>Index, Index + Count, Index + 2·Count, …</c>
/// of a collection's ascending task list. The <see cref="Count"/> shards are disjoint and together cover the list, so
/// <see cref="Count"/> processes (on one machine, or on machines sharing a file system) that collect one shard each
/// into the same directory produce the same files as one process collecting everything.
/// </summary>
/// <param name="Index">The shard, in <c>[0, Count)</c>.</param>
/// <param name="Count">The number of shards, at least 1.</param>
public readonly record struct CollectionShard(int Index, int Count)
{
    /// <summary>Parses <c>I/N</c> (e.g. <c>3/8</c>).</summary>
    /// <exception cref="ArgumentException">The text is not <c>I/N</c> with <c>0 ≤ I &lt; N</c>.</exception>
    public static CollectionShard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n >= 1 && i < n)
            return new CollectionShard(i, n);
        throw new ArgumentException($"Shard '{text}' is not I/N with 0 ≤ I < N (e.g. 0/4, the first of four shards).", nameof(text));
    }

    /// <summary>Throws unless <c>0 ≤ Index &lt; Count</c>.</summary>
    /// <exception cref="ArgumentException">The shard is invalid.</exception>
    public void Validate()
    {
        if (Count < 1 || Index < 0 || Index >= Count)
            throw new ArgumentException($"Shard {Index}/{Count} is not valid: it needs 0 ≤ index < count.");
    }

    /// <summary>This shard's part of <paramref name="ascending"/> (every Count-th element from position Index).</summary>
    public int[] Select(IReadOnlyList<int> ascending)
    {
        ArgumentNullException.ThrowIfNull(ascending);
        Validate();
        var r = new List<int>();
        for (var p = Index; p < ascending.Count; p += Count) r.Add(ascending[p]);
        return [.. r];
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
