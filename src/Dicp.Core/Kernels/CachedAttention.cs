namespace Dicp.Kernels;

/// <summary>
/// Inference-only causal attention of S new tokens per candidate over a shared, already encoded prefix of P tokens
/// whose rotated keys and values are cached (the KV-cache kernel behind shared-prefix candidate evaluation).
/// </summary>
/// <remarks>
/// qkv (N, S, 3D) laid out per head as [q | k | v]; the new tokens sit at absolute positions P … P + S − 1, so their
/// q and k are rotated with those positions. Cached keys and values are stored transposed per head, Kᵀ and Vᵀ
/// (H, hs, P), so the inner loops run over positions. Token i of candidate n attends to all P prefix tokens and to its
/// own tokens 0 … i: <c>o_i = Σ_j softmax_j(q_i·k_j/√hs) v_j</c>. No dropout, no gradient. With
/// <c>keysOut</c>/<c>valuesOut</c> (N must be 1) the rotated keys and values of the new tokens are written as
/// (H, hs, S), which is how a prefix itself is encoded (P = 0).
/// Work per call: N·H·S·(P + S)·hs multiply-adds for scores and as many for the weighted sum.
/// </remarks>
internal static class CachedAttention
{
    /// <summary>Runs the kernel; see the type remarks for the layouts.</summary>
    public static void Forward(float[] qkv, int n, int s, int h, int hs, float[]? prefixKt, float[]? prefixVt, int p,
        Dicp.Tensors.RotaryCache? rope, float[] output, float[]? keysOut, float[]? valuesOut)
    {
        var d = h * hs;
        var scale = 1f / MathF.Sqrt(hs);
        var work = (long)n * h * s * (p + s) * hs;
        if (work < 1 << 16 || n * h == 1)
        {
            var scratch = new Scratch(s, p, hs);
            for (var nh = 0; nh < n * h; nh++) Head(nh, scratch);
        }
        else
        {
            Parallel.For(0, n * h, () => new Scratch(s, p, hs), (nh, _, scratch) => { Head(nh, scratch); return scratch; }, static _ => { });
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
                else { rope.Rotate(src[..hs], q, p + t); rope.Rotate(src.Slice(hs, hs), k, p + t); }
                for (var e = 0; e < hs; e++)
                {
                    sc.Kt[e * s + t] = k[e];
                    sc.Vt[e * s + t] = src[2 * hs + e];
                }
            }
            if (keysOut is not null)
            {
                sc.Kt.AsSpan(0, hs * s).CopyTo(keysOut.AsSpan(head * hs * s));
                sc.Vt.AsSpan(0, hs * s).CopyTo(valuesOut.AsSpan(head * hs * s));
            }
            var pk = prefixKt is null ? default : prefixKt.AsSpan(head * hs * p, hs * p);
            var pv = prefixVt is null ? default : prefixVt.AsSpan(head * hs * p, hs * p);
            for (var i = 0; i < s; i++)
            {
                var q = sc.Q.AsSpan(i * hs, hs);
                var row = sc.Row.AsSpan(0, p + i + 1);
                var rowPrefix = row[..p];
                var rowOwn = row[p..];
                row.Clear();
                for (var e = 0; e < hs; e++)
                {
                    if (p > 0) TensorPrimitives.MultiplyAdd(pk.Slice(e * p, p), q[e], rowPrefix, rowPrefix); // s_j += q[e]·k_j[e]
                    TensorPrimitives.MultiplyAdd(sc.Kt.AsSpan(e * s, i + 1), q[e], rowOwn, rowOwn);
                }
                TensorPrimitives.Multiply(row, scale, row);
                var max = TensorPrimitives.Max(row);
                TensorPrimitives.Subtract(row, max, row);
                TensorPrimitives.Exp(row, row);
                TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
                var o = output.AsSpan((c * s + i) * d + head * hs, hs);
                for (var e = 0; e < hs; e++)
                {
                    var acc = TensorPrimitives.Dot(rowOwn, sc.Vt.AsSpan(e * s, i + 1));
                    if (p > 0) acc += TensorPrimitives.Dot(rowPrefix, pv.Slice(e * p, p));
                    o[e] = acc; // o_i[e] = Σ_j p_ij v_j[e]
                }
            }
        }
    }

    private sealed class Scratch(int s, int p, int hs)
    {
        public readonly float[] Q = new float[s * hs], Kt = new float[hs * s], Vt = new float[hs * s];
        public readonly float[] Row = new float[p + s];
    }
}
