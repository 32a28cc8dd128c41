using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dicp.Kernels;

/// <summary>
/// The head-size-8 path of <see cref="CausalAttention"/> (the reference grid-world and Meta-World models both use
/// hs = 8): nothing of size T² is stored; backward recomputes the scores from the saved row log-sum-exp.
/// </summary>
/// <remarks>
/// Per (batch, head): q (rotated, pre-scaled by 1/√8) as rows (T, 8), k and v transposed (8, Tp). A row i of scores is
/// ⌈(i+1)/16⌉ <see cref="Vector512{T}"/> blocks of 8 FMAs each; the output row o_i = Σ_j p̃_ij v_j keeps one accumulator
/// per head dimension and reduces the eight at once (<see cref="Reduce8"/>). Forward saves lse_i = m_i + log l_i (B, H, T).
/// Backward per row: p = exp(s − lse), the dropout mask once, dv_j += p̃_ij do_i, dp̃ = do_i·v_j,
/// ds = p ⊙ (mask(dp̃) − D_i) with D_i = do_i·o_i, dq_i = Σ_j ds_ij k_j / √8, dk_j += ds_ij q_i / √8.
/// The split over (batch, head) is fixed, so results do not depend on the thread count.
/// </remarks>
internal readonly partial struct CausalAttention
{
    /// <summary>Whether <see cref="Forward8"/>/<see cref="Backward8"/> apply (hs = 8 and AVX-512).</summary>
    public bool UsesHead8 => Hs == 8 && Vector512.IsHardwareAccelerated && Avx.IsSupported;

    /// <summary>Length of the saved row log-sum-exp, B·H·T.</summary>
    public int LseLength => B * H * T;

    [ThreadStatic] private static Head8Scratch? _scratch8;

    /// <summary>out (B, T, D) = attention(qkv (B, T, 3D)); lse (B, H, T), when given, receives each row's log-sum-exp.</summary>
    public void Forward8(float[] qkv, float[] output, float[]? lse)
    {
        var bh = B * H;
        var chunks = Math.Min(bh, Environment.ProcessorCount * 8);
        if (bh * T < 4096 || chunks <= 1) { ForwardRange(0, bh, qkv, output, lse); return; }
        var per = (bh + chunks - 1) / chunks;
        ParallelLoop.For(0, chunks, new Head8Chunks(this, per, qkv, output, lse, null, null));
    }

    /// <summary>gqkv (B, T, 3D) += ∂/∂qkv given the forward output, the saved lse and gout (B, T, D).</summary>
    public void Backward8(float[] qkv, float[] output, float[] lse, float[] gout, float[] gqkv)
    {
        var bh = B * H;
        var chunks = Math.Min(bh, Environment.ProcessorCount * 8);
        if (bh * T < 4096 || chunks <= 1) { BackwardRange(0, bh, qkv, output, lse, gout, gqkv); return; }
        var per = (bh + chunks - 1) / chunks;
        ParallelLoop.For(0, chunks, new Head8Chunks(this, per, qkv, output, lse, gout, gqkv));
    }

    /// <summary>Chunk c of the (batch, head) pairs: forward, or backward when the gradients are given.</summary>
    private readonly struct Head8Chunks(CausalAttention kernel, int per, float[] qkv, float[] output, float[]? lse, float[]? gout, float[]? gqkv) : IParallelBody
    {
        private readonly CausalAttention _kernel = kernel;

        public void Run(int c)
        {
            int bh0 = c * per, bh1 = Math.Min(_kernel.B * _kernel.H, bh0 + per);
            if (gout is null) _kernel.ForwardRange(bh0, bh1, qkv, output, lse);
            else _kernel.BackwardRange(bh0, bh1, qkv, output, lse!, gout, gqkv!);
        }
    }

    private Head8Scratch Scratch8()
    {
        var s = _scratch8;
        if (s is null || s.Tp < Tp || s.T < T) _scratch8 = s = new Head8Scratch(Math.Max(T, s?.T ?? 0), Math.Max(Tp, s?.Tp ?? 0));
        return s;
    }

    private unsafe void ForwardRange(int bh0, int bh1, float[] qkv, float[] output, float[]? lse)
    {
        if (bh0 >= bh1) return;
        var s = Scratch8();
        int t = T, tp = Tp;
        fixed (float* pq = s.Q, pk = s.Kt, pv = s.Vt, prow = s.Row, pout = output)
        {
            var rows = new RowPass(this, pq, pk, pv, prow, pout);
            for (var bh = bh0; bh < bh1; bh++)
            {
                LoadHead8(qkv, bh / H, bh % H, s);
                // Four (then two) rows at a time, all in the same 16-key block: their dependency chains (scores → max
                // → exp → sums → reduction) interleave, and each key/value load serves all of them. Every row still runs
                // the same operations in the same order as alone, so results do not depend on the grouping.
                var i = 0;
                for (; i + 3 < t; i += 4) rows.Quad(bh, i, lse);
                for (; i + 1 < t; i += 2) rows.Pair(bh, i, lse);
                if (i < t) rows.Single(bh, i, lse);
            }
        }
    }

    private unsafe void BackwardRange(int bh0, int bh1, float[] qkv, float[] output, float[] lse, float[] gout, float[] gqkv)
    {
        if (bh0 >= bh1) return;
        var s = Scratch8();
        int t = T, tp = Tp, d = D;
        var drop = DropoutP > 0f;
        var th = Vector512.Create(DropoutMask.Threshold(DropoutP));
        var k0 = Vector512.Create((uint)DropoutKey);
        var k1 = Vector512.Create((uint)(DropoutKey >> 32));
        var dropScale = Vector512.Create(drop ? 1f / (1f - DropoutP) : 1f);
        var laneF = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var laneU = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var scale = Vector256.Create(Scale);
        fixed (float* pq = s.Q, pk = s.Kt, pv = s.Vt, pdq = s.Dq, pdk = s.Dkt, pdv = s.Dvt, pout = output, pgo = gout, pg = gqkv)
        {
            for (var bh = bh0; bh < bh1; bh++)
            {
                int b = bh / H, h = bh % H;
                LoadHead8(qkv, b, h, s);
                new Span<float>(pdk, 8 * tp).Clear();
                new Span<float>(pdv, 8 * tp).Clear();
                for (var i = 0; i < t; i++)
                {
                    var nb = i / 16 + 1;
                    var qi = pq + i * 8;
                    var go = pgo + (b * t + i) * d + h * 8;
                    var goV = Vector256.Load(go);
                    var di = Vector512.Create(Vector256.Sum(goV * Vector256.Load(pout + (b * t + i) * d + h * 8))); // D_i = do_i·o_i
                    var li = Vector512.Create(lse[bh * t + i]);
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                    var rowStart = (uint)((bh * t + i) * t);
                    for (var jb = 0; jb < nb; jb++)
                    {
                        var j = jb * 16;
                        var kj = pk + j;
                        var p = FastMath.Exp(Scores8(qi, kj, tp) - li);
                        if (jb == nb - 1) p = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(laneF, Vector512.Create((float)(i - j))), p, Vector512<float>.Zero);
                        var keep = drop ? DropoutMask.Keep(Vector512.Create(rowStart + (uint)j) + laneU, k0, k1, th) : Vector512<float>.AllBitsSet;
                        var pd = (p * dropScale) & keep;
                        // dv_j += p̃_ij do_i and dp̃_ij = do_i·v_j
                        var vj = pv + j;
                        var dvj = pdv + j;
                        var dpt = Vector512<float>.Zero;
                        for (var e = 0; e < 8; e++)
                        {
                            var g = Vector512.Create(go[e]);
                            Vector512.FusedMultiplyAdd(g, pd, Vector512.Load(dvj + e * tp)).Store(dvj + e * tp);
                            dpt = Vector512.FusedMultiplyAdd(g, Vector512.Load(vj + e * tp), dpt);
                        }
                        var ds = p * (((dpt * dropScale) & keep) - di);
                        a0 = Vector512.FusedMultiplyAdd(ds, Vector512.Load(kj), a0);
                        a1 = Vector512.FusedMultiplyAdd(ds, Vector512.Load(kj + tp), a1);
                        a2 = Vector512.FusedMultiplyAdd(ds, Vector512.Load(kj + 2 * tp), a2);
                        a3 = Vector512.FusedMultiplyAdd(ds, Vector512.Load(kj + 3 * tp), a3);
                        a4 = Vector512.FusedMultiplyAdd(ds, Vector512.Load(kj + 4 * tp), a4);
                        a5 = Vector512.FusedMultiplyAdd(ds, Vector512.Load(kj + 5 * tp), a5);
                        a6 = Vector512.FusedMultiplyAdd(ds, Vector512.Load(kj + 6 * tp), a6);
                        a7 = Vector512.FusedMultiplyAdd(ds, Vector512.Load(kj + 7 * tp), a7);
                        var dkj = pdk + j;
                        for (var e = 0; e < 8; e++)
                            Vector512.FusedMultiplyAdd(Vector512.Create(qi[e]), ds, Vector512.Load(dkj + e * tp)).Store(dkj + e * tp); // dk_j += ds_ij q_i/√8
                    }
                    (Reduce8(a0, a1, a2, a3, a4, a5, a6, a7) * scale).Store(pdq + i * 8);               // dq_i = Σ_j ds_ij k_j / √8
                }
                ScatterHead8(pg, pdq, pdk, pdv, b, h);
            }
        }
    }

    /// <summary>Q (T, 8) = rope(q)/√8, Kᵀ and Vᵀ (8, Tp) of head h of sample b, padding columns zero.</summary>
    /// <remarks>RoPE for hs = 8 in one <see cref="Vector256{T}"/>: rope(x) = x ⊙ cos + swap_halves(x) ⊙ [−sin | sin].</remarks>
    private unsafe void LoadHead8(float[] qkv, int b, int h, Head8Scratch s)
    {
        int t = T, tp = Tp, d = D;
        var scale = Vector256.Create(Scale);
        var sign = Vector256.Create(-1f, -1f, -1f, -1f, 1f, 1f, 1f, 1f);
        var rope = Rope;
        fixed (float* pq = s.Q, pk = s.Kt, pv = s.Vt, psrc = qkv, pcos = rope is null ? null : rope.Cos, psin = rope is null ? null : rope.Sin)
        {
            var kb = stackalloc float[64]; // 8 rotated k rows (8 positions × 8), transposed into Kᵀ with 8×8 shuffles
            var vb = stackalloc float[64];
            var t8 = t / 8 * 8;
            for (var e = 0; e < 8; e++)
                for (var c = t8; c < tp; c += 8) Vector256<float>.Zero.Store(pk + e * tp + c); // the tail's columns are written below, the padding stays zero
            for (var e = 0; e < 8; e++)
                for (var c = t8; c < tp; c += 8) Vector256<float>.Zero.Store(pv + e * tp + c);
            for (var tt = 0; tt < t; tt++)
            {
                var src = psrc + (b * t + tt) * 3 * d + h * 24;
                var q = Vector256.Load(src);
                var k = Vector256.Load(src + 8);
                if (rope is not null)
                {
                    var c = Vector256.Load(pcos + tt * 8);
                    var sn = Vector256.Load(psin + tt * 8) * sign;
                    q = q * c + Avx.Permute2x128(q, q, 1) * sn;
                    k = k * c + Avx.Permute2x128(k, k, 1) * sn;
                }
                (q * scale).Store(pq + tt * 8);
                if (tt < t8)
                {
                    var r = tt & 7;
                    k.Store(kb + r * 8);
                    Vector256.Load(src + 16).Store(vb + r * 8);
                    if (r == 7)
                    {
                        Transpose8x8(kb, 8, pk + (tt - 7), tp);
                        Transpose8x8(vb, 8, pv + (tt - 7), tp);
                    }
                    continue;
                }
                for (var e = 0; e < 8; e++)
                {
                    pk[e * tp + tt] = k.GetElement(e);
                    pv[e * tp + tt] = src[16 + e];
                }
            }
        }
    }

    /// <summary>dst[e·ld + r] = src[r·lds + e] for r, e &lt; 8: an 8×8 block transposed with AVX shuffles (pure data movement).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8x8(float* src, int lds, float* dst, int ld)
    {
        var r0 = Vector256.Load(src); var r1 = Vector256.Load(src + lds);
        var r2 = Vector256.Load(src + 2 * lds); var r3 = Vector256.Load(src + 3 * lds);
        var r4 = Vector256.Load(src + 4 * lds); var r5 = Vector256.Load(src + 5 * lds);
        var r6 = Vector256.Load(src + 6 * lds); var r7 = Vector256.Load(src + 7 * lds);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).Store(dst);
        Avx.Permute2x128(u1, u5, 0x20).Store(dst + ld);
        Avx.Permute2x128(u2, u6, 0x20).Store(dst + 2 * ld);
        Avx.Permute2x128(u3, u7, 0x20).Store(dst + 3 * ld);
        Avx.Permute2x128(u0, u4, 0x31).Store(dst + 4 * ld);
        Avx.Permute2x128(u1, u5, 0x31).Store(dst + 5 * ld);
        Avx.Permute2x128(u2, u6, 0x31).Store(dst + 6 * ld);
        Avx.Permute2x128(u3, u7, 0x31).Store(dst + 7 * ld);
    }

    /// <summary>gqkv of head h of sample b += the head's dq (T, 8), dKᵀ and dVᵀ (8, Tp), dq and dk rotated back (ropeᵀ).</summary>
    private unsafe void ScatterHead8(float* pg, float* pdq, float* pdk, float* pdv, int b, int h)
    {
        int t = T, tp = Tp, d = D;
        var sign = Vector256.Create(-1f, -1f, -1f, -1f, 1f, 1f, 1f, 1f);
        var rope = Rope;
        var kb = stackalloc float[64]; // dk and dv of 8 positions (8 × 8), transposed back from dKᵀ and dVᵀ
        var vb = stackalloc float[64];
        var t8 = t / 8 * 8;
        fixed (float* pcos = rope is null ? null : rope.Cos, psin = rope is null ? null : rope.Sin)
        {
            for (var tt = 0; tt < t; tt++)
            {
                var dst = pg + (b * t + tt) * 3 * d + h * 24;
                var r = tt & 7;
                if (tt < t8)
                {
                    if (r == 0)
                    {
                        Transpose8x8(pdk + tt, tp, kb, 8);
                        Transpose8x8(pdv + tt, tp, vb, 8);
                    }
                }
                else
                {
                    for (var e = 0; e < 8; e++)
                    {
                        kb[r * 8 + e] = pdk[e * tp + tt];
                        vb[r * 8 + e] = pdv[e * tp + tt];
                    }
                }
                (Vector256.Load(dst + 16) + Vector256.Load(vb + r * 8)).Store(dst + 16);
                var dq = Vector256.Load(pdq + tt * 8);
                var dk = Vector256.Load(kb + r * 8);
                if (rope is not null)
                {
                    var c = Vector256.Load(pcos + tt * 8);
                    var sn = Vector256.Load(psin + tt * 8) * sign;
                    dq = dq * c - Avx.Permute2x128(dq, dq, 1) * sn;
                    dk = dk * c - Avx.Permute2x128(dk, dk, 1) * sn;
                }
                (Vector256.Load(dst) + dq).Store(dst);
                (Vector256.Load(dst + 8) + dk).Store(dst + 8);
            }
        }
    }

    /// <summary>Scores of one query row (8 pre-scaled values) against 16 keys: Σ_e q[e]·Kᵀ[e, j..j+16].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector512<float> Scores8(float* q, float* kt, int tp)
    {
        var s0 = Vector512.Create(q[0]) * Vector512.Load(kt);
        var s1 = Vector512.Create(q[1]) * Vector512.Load(kt + tp);
        s0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[2]), Vector512.Load(kt + 2 * tp), s0);
        s1 = Vector512.FusedMultiplyAdd(Vector512.Create(q[3]), Vector512.Load(kt + 3 * tp), s1);
        s0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[4]), Vector512.Load(kt + 4 * tp), s0);
        s1 = Vector512.FusedMultiplyAdd(Vector512.Create(q[5]), Vector512.Load(kt + 5 * tp), s1);
        s0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[6]), Vector512.Load(kt + 6 * tp), s0);
        s1 = Vector512.FusedMultiplyAdd(Vector512.Create(q[7]), Vector512.Load(kt + 7 * tp), s1);
        return s0 + s1;
    }

    /// <summary>[Σ a0, Σ a1, …, Σ a7]: eight horizontal sums at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Reduce8(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3,
        Vector512<float> a4, Vector512<float> a5, Vector512<float> a6, Vector512<float> a7) =>
        Combine(Half4(a0, a1, a2, a3), Half4(a4, a5, a6, a7));

    /// <summary>The first stage of <see cref="Reduce8"/> for four accumulators: per 128-bit half, partial sums of each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Half4(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        var h01 = Avx.HorizontalAdd(a0.GetLower() + a0.GetUpper(), a1.GetLower() + a1.GetUpper());
        var h23 = Avx.HorizontalAdd(a2.GetLower() + a2.GetUpper(), a3.GetLower() + a3.GetUpper());
        return Avx.HorizontalAdd(h01, h23);
    }

    /// <summary>The last stage of <see cref="Reduce8"/>: [Σ a0 … Σ a3 | Σ a4 … Σ a7] from the two halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Combine(Vector256<float> h0123, Vector256<float> h4567) =>
        Avx.Permute2x128(h0123, h4567, 0x20) + Avx.Permute2x128(h0123, h4567, 0x31);

    private sealed class Head8Scratch(int t, int tp)
    {
        public readonly int T = t, Tp = tp;
        public readonly float[] Q = new float[t * 8], Dq = new float[t * 8];
        public readonly float[] Kt = new float[8 * tp], Vt = new float[8 * tp], Dkt = new float[8 * tp], Dvt = new float[8 * tp];
        public readonly float[] Row = new float[4 * tp]; // the scores of four rows
    }
}
