namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Inference-only causal attention of new tokens over cached keys and values (KV cache): a prefix shared by every
    /// row (or one per row group, <paramref name="prefixOf"/>), optionally followed by a middle segment shared by groups of rows, with rotary embeddings at the new tokens'
    /// absolute positions. No gradient is recorded; no dropout.
    /// </summary>
    /// <remarks>
    /// qkv (N, S, 3D) per head [q | k | v] → (N, S, D). Prefix keys/values: (Gp, H, hs, P) arrays, rotated (null when
    /// P = 0), row n using prefix <paramref name="prefixOf"/>[n] (prefix 0 for every row when null). Middle keys/values: (G, H, hs, M) arrays, row n using group <paramref name="groupOf"/>[n] (null when
    /// M = 0). With <paramref name="keysOut"/>/<paramref name="valuesOut"/> the new tokens' rotated keys and values are
    /// written as (N, H, hs, S). Equals <see cref="CausalSelfAttention"/> on prefix ++ middle ++ new tokens, restricted
    /// to the new rows.
    /// </remarks>
    /// <exception cref="ArgumentException">Shapes, cache lengths, groups or positions do not fit.</exception>
    internal static Tensor CachedAttention(Tensor qkv, int nHead, RotaryCache? rope,
        float[]? prefixKt, float[]? prefixVt, int prefixLength,
        float[]? middleKt = null, float[]? middleVt = null, int middleLength = 0, int[]? groupOf = null,
        float[]? keysOut = null, float[]? valuesOut = null, int[]? prefixOf = null)
    {
        ArgumentNullException.ThrowIfNull(qkv);
        if (qkv.Rank != 3 || nHead <= 0 || qkv.Shape[2] % (3 * nHead) != 0)
            throw new ArgumentException($"CachedAttention: qkv must be (N, S, 3·D) with D divisible by {nHead} heads, got {ShapeUtil.Format(qkv.Shape)}.");
        int n = qkv.Shape[0], s = qkv.Shape[1], d = qkv.Shape[2] / 3, hs = d / nHead, p = prefixLength, m = middleLength;
        if (p < 0 || m < 0) throw new ArgumentOutOfRangeException(nameof(prefixLength), $"CachedAttention: cached lengths {p}, {m} must be non-negative.");
        if (p > 0 && (prefixKt is null || prefixVt is null || prefixKt.Length < d * p || prefixVt.Length < d * p))
            throw new ArgumentException($"CachedAttention: the prefix keys/values must hold (H {nHead}, hs {hs}, P {p}) floats.");
        if (p > 0 && prefixOf is not null)
        {
            if (prefixOf.Length < n) throw new ArgumentException($"CachedAttention: prefixOf needs a prefix index for each of the {n} rows.");
            var rows = Math.Min(prefixKt!.Length, prefixVt!.Length) / (d * p);
            for (var i = 0; i < n; i++)
                if ((uint)prefixOf[i] >= (uint)rows)
                    throw new ArgumentException($"CachedAttention: row {i} uses prefix {prefixOf[i]} but the cache holds {rows} prefixes of (H, hs, P {p}).");
        }
        if (m > 0)
        {
            if (groupOf is null || groupOf.Length < n) throw new ArgumentException($"CachedAttention: a middle segment needs a group index for each of the {n} rows.");
            var groups = middleKt is null || middleVt is null ? 0 : Math.Min(middleKt.Length, middleVt.Length) / (d * m);
            for (var i = 0; i < n; i++)
                if ((uint)groupOf[i] >= (uint)groups)
                    throw new ArgumentException($"CachedAttention: row {i} uses middle group {groupOf[i]} but the cache holds {groups} groups of (H, hs, M {m}).");
        }
        if (rope is not null && (rope.HeadSize != hs || rope.MaxSeqLen < p + m + s))
            throw new ArgumentException($"CachedAttention: rotary cache is for head size {rope.HeadSize} and ≤ {rope.MaxSeqLen} positions; the input needs {hs} and {p + m + s}.");
        if ((keysOut is null) != (valuesOut is null)) throw new ArgumentException("CachedAttention: give both keysOut and valuesOut or neither.");
        if (keysOut is not null && (keysOut.Length < n * d * s || valuesOut!.Length < n * d * s))
            throw new ArgumentException($"CachedAttention: keysOut/valuesOut need (N, H, hs, S) = {n * d * s} floats each.");
        var y = Tensor.Uninitialized([n, s, d]);
        Kernels.CachedAttention.Forward(qkv.Data, n, s, nHead, hs, prefixKt, prefixVt, p, p > 0 ? prefixOf : null, middleKt, middleVt, m, groupOf, rope, y.Data, keysOut, valuesOut);
        return y;
    }
}
