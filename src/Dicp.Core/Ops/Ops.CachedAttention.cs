namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Inference-only causal attention of new tokens over a cached prefix (KV cache), with rotary embeddings at the
    /// new tokens' absolute positions. No gradient is recorded; no dropout.
    /// </summary>
    /// <remarks>
    /// qkv (N, S, 3D) per head [q | k | v] → (N, S, D). The prefix's rotated keys and values are given transposed per
    /// head as (H, hs, P) arrays (null when P = 0). With <paramref name="keysOut"/>/<paramref name="valuesOut"/>
    /// (only for N = 1) the new tokens' rotated keys and values are written as (H, hs, S) — the prefix encoding.
    /// Equals <see cref="CausalSelfAttention"/> on the concatenation prefix ++ new tokens, restricted to the new rows.
    /// </remarks>
    /// <exception cref="ArgumentException">Shapes, cache lengths or positions do not fit.</exception>
    internal static Tensor CachedAttention(Tensor qkv, int nHead, RotaryCache? rope, float[]? prefixKt, float[]? prefixVt,
        int prefixLength, float[]? keysOut = null, float[]? valuesOut = null)
    {
        ArgumentNullException.ThrowIfNull(qkv);
        if (qkv.Rank != 3 || nHead <= 0 || qkv.Shape[2] % (3 * nHead) != 0)
            throw new ArgumentException($"CachedAttention: qkv must be (N, S, 3·D) with D divisible by {nHead} heads, got {ShapeUtil.Format(qkv.Shape)}.");
        int n = qkv.Shape[0], s = qkv.Shape[1], d = qkv.Shape[2] / 3, hs = d / nHead, p = prefixLength;
        if (p < 0) throw new ArgumentOutOfRangeException(nameof(prefixLength), $"CachedAttention: prefix length {p} is negative.");
        if (p > 0 && (prefixKt is null || prefixVt is null || prefixKt.Length < d * p || prefixVt.Length < d * p))
            throw new ArgumentException($"CachedAttention: the cached keys/values must hold (H {nHead}, hs {hs}, P {p}) floats.");
        if (rope is not null && (rope.HeadSize != hs || rope.MaxSeqLen < p + s))
            throw new ArgumentException($"CachedAttention: rotary cache is for head size {rope.HeadSize} and ≤ {rope.MaxSeqLen} positions; the input needs {hs} and {p + s}.");
        if ((keysOut is null) != (valuesOut is null)) throw new ArgumentException("CachedAttention: give both keysOut and valuesOut or neither.");
        if (keysOut is not null && (n != 1 || keysOut.Length < d * s || valuesOut!.Length < d * s))
            throw new ArgumentException($"CachedAttention: keysOut/valuesOut need N = 1 (got {n}) and (H, hs, S) = {d * s} floats each.");
        var y = Tensor.Uninitialized([n, s, d]);
        Kernels.CachedAttention.Forward(qkv.Data, n, s, nHead, hs, prefixKt, prefixVt, p, rope, y.Data, keysOut, valuesOut);
        return y;
    }
}
