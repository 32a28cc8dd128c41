namespace Dicp.Kernels;

/// <summary>
/// Inference-only causal attention of S new tokens per candidate over cached keys and values: a prefix of P tokens
/// (one shared by all candidates, or one per row group: an environment's real context), then optionally a "middle"
/// segment of M tokens shared by a group of candidates (a rollout node's own tokens): the KV-cache kernel behind
/// imagination.
/// </summary>
/// <remarks>
/// qkv (N, S, 3D) laid out per head as [q | k | v]; the new tokens sit at absolute positions P + M … P + M + S − 1, so
/// their q and k are rotated with those positions. Cached keys and values are stored transposed per head: prefix
/// Kᵀ, Vᵀ (Gp, H, hs, P) with candidate n using prefix row <c>prefixOf[n]</c> (row 0 when null); middle (G, H, hs, M)
/// with candidate n using group <c>groupOf[n]</c>. Token i of candidate n
/// attends to the P prefix tokens, the M tokens of its group and its own tokens 0 … i:
/// <c>o_i = Σ_j softmax_j(q_i·k_j/√hs) v_j</c>. No dropout, no gradient. With <c>keysOut</c>/<c>valuesOut</c> the
/// rotated keys and values of the new tokens are written as (N, H, hs, S) — how a prefix or a middle segment is encoded.
/// Work per call: N·H·S·(P + M + S)·hs multiply-adds for scores and as many for the weighted sum.
/// </remarks>
internal static partial class CachedAttention
{
    /// <summary>Runs the kernel (the head-size-8 paths where <see cref="UsesHead8"/> or <see cref="UsesHead8Avx2"/>); see the type remarks for the layouts.</summary>
    public static void Forward(float[] qkv, int n, int s, int h, int hs,
        float[]? prefixKt, float[]? prefixVt, int p, int[]? prefixOf,
        float[]? middleKt, float[]? middleVt, int m, int[]? groupOf,
        Dicp.Tensors.RotaryCache? rope, float[] output, float[]? keysOut, float[]? valuesOut)
    {
        if (UsesHead8(hs)) Forward8(qkv, n, s, h, prefixKt, prefixVt, p, prefixOf, middleKt, middleVt, m, groupOf, rope, output, keysOut, valuesOut);
        else if (UsesHead8Avx2(hs)) Forward8Avx2(qkv, n, s, h, prefixKt, prefixVt, p, prefixOf, middleKt, middleVt, m, groupOf, rope, output, keysOut, valuesOut);
        else ForwardGeneric(qkv, n, s, h, hs, prefixKt, prefixVt, p, prefixOf, middleKt, middleVt, m, groupOf, rope, output, keysOut, valuesOut);
    }

    /// <summary>The path for any head size: per (row, head) and token, <see cref="TensorPrimitives"/> over each segment.</summary>
    public static void ForwardGeneric(float[] qkv, int n, int s, int h, int hs,
        float[]? prefixKt, float[]? prefixVt, int p, int[]? prefixOf,
        float[]? middleKt, float[]? middleVt, int m, int[]? groupOf,
        Dicp.Tensors.RotaryCache? rope, float[] output, float[]? keysOut, float[]? valuesOut)
    {
        var d = h * hs;
        var scale = 1f / MathF.Sqrt(hs);
        var cached = p + m;
        var work = (long)n * h * s * (cached + s) * hs;
        if (work < 1 << 16 || n * h == 1)
        {
            var scratch = new Scratch(s, cached, hs);
            for (var nh = 0; nh < n * h; nh++) Head(nh, scratch);
        }
        else
        {
            Parallel.For(0, n * h, () => new Scratch(s, cached, hs), (nh, _, scratch) => { Head(nh, scratch); return scratch; }, static _ => { });
        }

        void Head(int nh, Scratch sc)
        {
            int c = nh / h, head = nh % h;
            // Rotate q and k of the new tokens at their absolute positions; keep k and v transposed (hs, S).
            Span<float> k = stackalloc float[hs];
            for (var t = 0; t < s; t++)
            {
                var src = qkv.AsSpan((c * s + t) * 3 * d + head * 3 * hs, 3 * hs);
                var q = sc.Q.AsSpan(t * hs, hs);
                if (rope is null) { src[..hs].CopyTo(q); src.Slice(hs, hs).CopyTo(k); }
                else { rope.Rotate(src[..hs], q, cached + t); rope.Rotate(src.Slice(hs, hs), k, cached + t); }
                for (var e = 0; e < hs; e++)
                {
                    sc.Kt[e * s + t] = k[e];
                    sc.Vt[e * s + t] = src[2 * hs + e];
                }
            }
            if (keysOut is not null)
            {
                sc.Kt.AsSpan(0, hs * s).CopyTo(keysOut.AsSpan((c * h + head) * hs * s));
                sc.Vt.AsSpan(0, hs * s).CopyTo(valuesOut.AsSpan((c * h + head) * hs * s));
            }
            var pOff = p > 0 ? ((prefixOf?[c] ?? 0) * h + head) * hs * p : 0;
            var pk = p > 0 ? prefixKt.AsSpan(pOff, hs * p) : default;
            var pv = p > 0 ? prefixVt.AsSpan(pOff, hs * p) : default;
            var mOff = m > 0 ? (groupOf![c] * h + head) * hs * m : 0;
            var mk = m > 0 ? middleKt.AsSpan(mOff, hs * m) : default;
            var mv = m > 0 ? middleVt.AsSpan(mOff, hs * m) : default;
            for (var i = 0; i < s; i++)
            {
                var q = sc.Q.AsSpan(i * hs, hs);
                var row = sc.Row.AsSpan(0, cached + i + 1);
                var rowPrefix = row[..p];
                var rowMiddle = row.Slice(p, m);
                var rowOwn = row[cached..];
                row.Clear();
                for (var e = 0; e < hs; e++) // s_j += q[e]·k_j[e]
                {
                    if (p > 0) TensorPrimitives.MultiplyAdd(pk.Slice(e * p, p), q[e], rowPrefix, rowPrefix);
                    if (m > 0) TensorPrimitives.MultiplyAdd(mk.Slice(e * m, m), q[e], rowMiddle, rowMiddle);
                    TensorPrimitives.MultiplyAdd(sc.Kt.AsSpan(e * s, i + 1), q[e], rowOwn, rowOwn);
                }
                TensorPrimitives.Multiply(row, scale, row);
                var max = TensorPrimitives.Max(row);
                TensorPrimitives.Subtract(row, max, row);
                TensorPrimitives.Exp(row, row);
                TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
                var o = output.AsSpan((c * s + i) * d + head * hs, hs);
                for (var e = 0; e < hs; e++) // o_i[e] = Σ_j p_ij v_j[e]
                {
                    var acc = TensorPrimitives.Dot(rowOwn, sc.Vt.AsSpan(e * s, i + 1));
                    if (p > 0) acc += TensorPrimitives.Dot(rowPrefix, pv.Slice(e * p, p));
                    if (m > 0) acc += TensorPrimitives.Dot(rowMiddle, mv.Slice(e * m, m));
                    o[e] = acc;
                }
            }
        }
    }

    private sealed class Scratch(int s, int cached, int hs)
    {
        public readonly float[] Q = new float[s * hs], Kt = new float[hs * s], Vt = new float[hs * s];
        public readonly float[] Row = new float[cached + s];
    }
}
