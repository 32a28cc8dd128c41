namespace Dicp.Nn;

/// <summary>
/// Token segments encoded once by the backbone and attended to by later tokens (a KV cache): for each of
/// <see cref="Count"/> rows, per layer the rotated keys and values of its <see cref="Length"/> tokens, transposed per
/// head, and the final hidden state of its last token.
/// </summary>
/// <remarks>
/// Layout per layer: (Count, H, hs, Length). Real-context prefixes have one row per environment; rollout nodes' stems
/// (imagined transitions and query state) one row per node. Memory: 2·layers·Count·d·Length floats
/// (80 KB for one Darkroom prefix: d 32, 4 layers, 79 tokens).
/// </remarks>
internal sealed class KvSegment
{
    private readonly int _d;

    public KvSegment(int layers, int count, int length, int dModel)
    {
        Count = count;
        Length = length;
        _d = dModel;
        Keys = new float[layers][];
        Values = new float[layers][];
        for (var i = 0; i < layers; i++) { Keys[i] = new float[count * dModel * length]; Values[i] = new float[count * dModel * length]; }
        LastHidden = new float[count * dModel];
    }

    /// <summary>The rows (segments) held.</summary>
    public int Count { get; }

    /// <summary>The tokens per row (0 for an empty prefix).</summary>
    public int Length { get; }

    /// <summary>Per layer, rotated keys (Count, H, hs, Length).</summary>
    public float[][] Keys { get; }

    /// <summary>Per layer, values (Count, H, hs, Length).</summary>
    public float[][] Values { get; }

    /// <summary>(Count, d) the backbone's output at each row's last token (zeros when Length = 0).</summary>
    public float[] LastHidden { get; }

    /// <summary>Copies row <paramref name="row"/> (every layer's keys and values, and its last hidden state) into row <paramref name="toRow"/> of <paramref name="to"/>, a segment of the same layers, d and Length.</summary>
    public void CopyRowTo(int row, KvSegment to, int toRow)
    {
        int d = _d, size = d * Length; // one row's keys (or values) per layer: (H, hs, Length)
        for (var l = 0; l < Keys.Length; l++)
        {
            Keys[l].AsSpan(row * size, size).CopyTo(to.Keys[l].AsSpan(toRow * size, size));
            Values[l].AsSpan(row * size, size).CopyTo(to.Values[l].AsSpan(toRow * size, size));
        }
        LastHidden.AsSpan(row * d, d).CopyTo(to.LastHidden.AsSpan(toRow * d, d));
    }

    /// <summary>
    /// Copies the first <paramref name="count"/> tokens of row <paramref name="row"/> (every layer's keys and values) into
    /// row <paramref name="toRow"/> of <paramref name="to"/> (same layers and d, any Length ≥ offset + count) at tokens
    /// <paramref name="offset"/> … offset + count − 1; the last hidden states are not copied.
    /// </summary>
    public void CopyTokensTo(int row, int count, KvSegment to, int toRow, int offset)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + count, to.Length);
        int d = _d, from = Length, into = to.Length; // a row per layer is (H, hs, Length): d channels of Length tokens each
        for (var l = 0; l < Keys.Length; l++)
            for (var c = 0; c < d; c++)
            {
                Keys[l].AsSpan((row * d + c) * from, count).CopyTo(to.Keys[l].AsSpan((toRow * d + c) * into + offset, count));
                Values[l].AsSpan((row * d + c) * from, count).CopyTo(to.Values[l].AsSpan((toRow * d + c) * into + offset, count));
            }
    }
}

/// <summary>
/// What a backbone forward runs as inference (no dropout, no gradient needed) and, optionally, over cached keys and
/// values: new tokens x (N, S, d) follow a cached prefix (row n uses <see cref="Prefix"/> row <see cref="PrefixOf"/>[n],
/// row 0 when null) and a cached middle segment (row n uses <see cref="Middle"/> row <see cref="GroupOf"/>[n]), at
/// positions P + M … P + M + S − 1; with <see cref="Fill"/> (Count N, Length S) their keys and values and last hidden
/// states are stored, so that they can serve as a prefix or middle later.
/// </summary>
internal sealed record KvContext(KvSegment? Prefix = null, int[]? PrefixOf = null, KvSegment? Middle = null, int[]? GroupOf = null, KvSegment? Fill = null)
{
    /// <summary>Plain inference: no cached tokens, nothing stored.</summary>
    public static KvContext Inference { get; } = new();

    /// <summary>Whether nothing is cached or stored (plain causal attention over x alone).</summary>
    public bool IsEmpty => (Prefix?.Length ?? 0) == 0 && (Middle?.Length ?? 0) == 0 && Fill is null;
}
