using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>
/// The memory-lean path of <see cref="CausalAttention"/> for any head size (flash-attention style): forward saves only
/// each row's log-sum-exp (B, H, T); backward recomputes the scores and probabilities row by row and regenerates the
/// dropout mask from its counter-based key, so nothing of size T² is ever held (two rows per thread at most).
/// </summary>
/// <remarks>
/// Per (batch, head): Q̂ (T, hs) = rope(q)/√hs as rows, Kᵀ and Vᵀ (hs, T8) transposed, T8 = T rounded up to whole
/// <see cref="Vector256{T}"/> lanes (8), padding columns zero. Row i covers ⌈(i+1)/8⌉ blocks of 8 keys; lanes past i get
/// −∞ scores (zero probabilities). Forward per row: s = Q̂_i·Kᵀ, m = max s, e = exp(s − m), l = Σ e,
/// o_i = (1/(1−p))·Σ_j mask_ij e_j v_j / l, lse_i = m + log l. Backward per row: P = exp(s − lse_i), P̃ = mask·P/(1−p),
/// dP = mask·(do_i·Vᵀ)/(1−p), D_i = Σ_j P dP, dS = P ⊙ (dP − D_i); dv_j += P̃_ij do_i, dk_j += dS_ij q̂_i,
/// dq_i = Σ_j dS_ij k_j / √hs (the same formulas as <see cref="Backward"/> with P recomputed), rows in pairs so that
/// the dK/dV updates touch each column block once per two rows. The dropout counter of
/// element (b, h, i, j) is (((b·H + h)·T + i)·T + j) as in the saved-probabilities path, so both paths drop the same
/// elements. One (batch, head) pair per parallel index: results do not depend on the thread count.
/// </remarks>
internal readonly partial struct CausalAttention
{
    private const int W8 = 8;

    /// <summary>T rounded up to whole <see cref="Vector256{T}"/> lanes: the row stride of the flash path's Kᵀ and Vᵀ.</summary>
    private int T8 => (T + W8 - 1) / W8 * W8;

    /// <summary>Bytes the saved-probabilities path would keep for backward: B·H·T·Tp floats.</summary>
    public long SavedProbabilityBytes => (long)B * H * T * Tp * sizeof(float);

    [ThreadStatic] private static FlashScratch? _flashScratch;

    /// <summary>out (B, T, D) = attention(qkv (B, T, 3D)); lse (B, H, T), when given, receives each row's log-sum-exp.</summary>
    public void ForwardFlash(float[] qkv, float[] output, float[]? lse) =>
        ParallelLoop.For(0, B * H, new FlashBody(this, qkv, output, lse, null, null));

    /// <summary>gqkv (B, T, 3D) += ∂/∂qkv given gout (B, T, D) and the row log-sum-exp saved by <see cref="ForwardFlash"/>.</summary>
    public void BackwardFlash(float[] qkv, float[] lse, float[] gout, float[] gqkv) =>
        ParallelLoop.For(0, B * H, new FlashBody(this, qkv, null, lse, gout, gqkv));

    /// <summary>One (batch, head) pair: forward when <c>gout</c> is null, else backward.</summary>
    private readonly struct FlashBody(CausalAttention kernel, float[] qkv, float[]? output, float[]? lse, float[]? gout, float[]? gqkv) : IParallelBody
    {
        private readonly CausalAttention _kernel = kernel;

        public void Run(int bh)
        {
            var s = _kernel.FlashScratchFor();
            _kernel.LoadHeadFlash(qkv, bh / _kernel.H, bh % _kernel.H, s);
            if (gout is null) _kernel.ForwardHeadFlash(bh, s, output!, lse);
            else _kernel.BackwardHeadFlash(bh, s, lse!, gout, gqkv!);
        }
    }

    /// <summary>This thread's scratch (kept between calls and grown, never shrunk: no allocation per warm step).</summary>
    private FlashScratch FlashScratchFor()
    {
        var s = _flashScratch;
        if (s is null || s.Hs != Hs || s.T8 < T8) _flashScratch = s = new FlashScratch(Math.Max(T8, s?.Hs == Hs ? s.T8 : 0), Hs);
        return s;
    }

    /// <summary>Q̂ (T, hs) = rope(q)/√hs and Kᵀ, Vᵀ (hs, T8) of head h of sample b, padding columns zero.</summary>
    private void LoadHeadFlash(float[] qkv, int b, int h, FlashScratch s)
    {
        int t8 = T8, hs = Hs;
        var scale = Scale;
        Span<float> k = stackalloc float[hs];
        for (var t = 0; t < T; t++)
        {
            var src = qkv.AsSpan((b * T + t) * 3 * D + h * 3 * hs, 3 * hs);
            var q = s.Q.AsSpan(t * hs, hs);
            if (Rope is null)
            {
                src[..hs].CopyTo(q);
                src.Slice(hs, hs).CopyTo(k);
            }
            else
            {
                Rope.Rotate(src[..hs], q, t);
                Rope.Rotate(src.Slice(hs, hs), k, t);
            }
            TensorPrimitives.Multiply(q, scale, q);
            for (var e = 0; e < hs; e++)
            {
                s.Kt[e * t8 + t] = k[e];
                s.Vt[e * t8 + t] = src[2 * hs + e];
            }
        }
        for (var e = 0; e < hs; e++)
        {
            s.Kt.AsSpan(e * t8 + T, t8 - T).Clear();
            s.Vt.AsSpan(e * t8 + T, t8 - T).Clear();
        }
    }

    private unsafe void ForwardHeadFlash(int bh, FlashScratch s, float[] output, float[]? lse)
    {
        int t = T, t8 = T8, hs = Hs, b = bh / H, h = bh % H;
        var mask = new RowMask(this);
        var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        var o = stackalloc float[hs];
        fixed (float* pq = s.Q, pk = s.Kt, pv = s.Vt, row = s.P, pout = output)
        {
            for (var i = 0; i < t; i++)
            {
                var nb = i / W8 + 1;
                RowTimesMatrix(pq + i * hs, pk, t8, hs, nb, row); // s_ij = q̂_i·k_j
                for (var j = i + 1; j < nb * W8; j++) row[j] = float.NegativeInfinity;
                var vmax = Vector256.Create(float.NegativeInfinity);
                for (var jb = 0; jb < nb; jb++) vmax = Vector256.Max(vmax, Vector256.Load(row + jb * W8));
                var m = Vector256.Create(Max8(vmax));
                var vsum = Vector256<float>.Zero;
                var start = (uint)((bh * t + i) * t);
                for (var jb = 0; jb < nb; jb++)
                {
                    var e = FastMath.Exp(Vector256.Load(row + jb * W8) - m);
                    vsum += e;
                    if (mask.Drop) e &= DropoutMask.Keep(Vector256.Create(start + (uint)(jb * W8)) + lane, mask.K0, mask.K1, mask.Th);
                    e.Store(row + jb * W8);
                }
                var l = Vector256.Sum(vsum);
                if (lse is not null) lse[bh * t + i] = m[0] + MathF.Log(l);
                RowDotRows(row, pv, t8, hs, nb, o);                // Σ_j mask·e_j v_j[e]
                var oi = pout + (b * t + i) * D + h * hs;
                var f = mask.Scale[0] / l;
                for (var e = 0; e < hs; e++) oi[e] = o[e] * f;
            }
        }
    }

    private unsafe void BackwardHeadFlash(int bh, FlashScratch s, float[] lse, float[] gout, float[] gqkv)
    {
        int t = T, t8 = T8, hs = Hs, b = bh / H, h = bh % H;
        var mask = new RowMask(this);
        var scale = Scale;
        Array.Clear(s.Dkt, 0, hs * t8);
        Array.Clear(s.Dvt, 0, hs * t8);
        var dqa = stackalloc float[hs];
        var dqb = stackalloc float[hs];
        fixed (float* pq = s.Q, pk = s.Kt, pv = s.Vt, pdk = s.Dkt, pdv = s.Dvt, rp = s.P, rd = s.Dp, rpd = s.Pd, pgo = gout, pg = gqkv)
        {
            // Rows in pairs (i even: both rows cover the same ⌈(i+2)/8⌉ blocks), so the dK/dV updates load and store
            // each column block once for two rows.
            for (var i = 0; i < t; i += 2)
            {
                var nb = i / W8 + 1;
                float* qa = pq + i * hs, goa = pgo + (b * t + i) * D + h * hs;
                RowGradient(bh, i, qa, goa, pk, pv, t8, nb, lse[bh * t + i], mask, rp, rd, rpd);
                if (i + 1 < t)
                {
                    float* qb = qa + hs, gob = pgo + (b * t + i + 1) * D + h * hs;
                    RowGradient(bh, i + 1, qb, gob, pk, pv, t8, nb, lse[bh * t + i + 1], mask, rp + t8, rd + t8, rpd + t8);
                    for (var e = 0; e < hs; e++)
                    {
                        Axpy8x2(goa[e], rpd, gob[e], rpd + t8, pdv + e * t8, nb); // dv_j[e] += p̃_ij do_i[e] (both rows)
                        Axpy8x2(qa[e], rd, qb[e], rd + t8, pdk + e * t8, nb);    // dk_j[e] += ds_ij q̂_i[e]
                    }
                    RowDotRows(rd + t8, pk, t8, hs, nb, dqb);                  // dq̂_i[e] = Σ_j ds_ij k_j[e]
                    var dqi = s.Dq.AsSpan((i + 1) * hs, hs);
                    for (var e = 0; e < hs; e++) dqi[e] = dqb[e] * scale;       // dq_i = dq̂_i / √hs
                }
                else
                {
                    for (var e = 0; e < hs; e++)
                    {
                        Axpy8(goa[e], rpd, pdv + e * t8, nb);
                        Axpy8(qa[e], rd, pdk + e * t8, nb);
                    }
                }
                RowDotRows(rd, pk, t8, hs, nb, dqa);
                var dqa0 = s.Dq.AsSpan(i * hs, hs);
                for (var e = 0; e < hs; e++) dqa0[e] = dqa[e] * scale;
            }
            ScatterHeadFlash(s, pg, b, h);
        }
    }

    /// <summary>The dropout mask's key, threshold and scale, broadcast.</summary>
    private readonly struct RowMask(CausalAttention k)
    {
        public readonly bool Drop = k.DropoutP > 0f;
        public readonly Vector256<float> Scale = Vector256.Create(k.DropoutP > 0f ? 1f / (1f - k.DropoutP) : 1f);
        public readonly Vector256<uint> Th = Vector256.Create(DropoutMask.Threshold(k.DropoutP));
        public readonly Vector256<uint> K0 = Vector256.Create((uint)k.DropoutKey), K1 = Vector256.Create((uint)(k.DropoutKey >> 32));
    }

    /// <summary>
    /// Row i's probabilities recomputed: rp = p = exp(s − lse_i) (0 past i), rpd = p̃ = mask·p/(1−p), and
    /// rd = ds = p ⊙ (dp − D_i) with dp = mask·(do_i·Vᵀ)/(1−p) and D_i = Σ_j p dp, over <paramref name="nb"/> blocks.
    /// </summary>
    private unsafe void RowGradient(int bh, int i, float* qi, float* go, float* pk, float* pv, int t8, int nb, float lse, in RowMask m,
        float* rp, float* rd, float* rpd)
    {
        RowTimesMatrix(qi, pk, t8, Hs, nb, rp);            // s_ij, recomputed
        for (var j = i + 1; j < nb * W8; j++) rp[j] = float.NegativeInfinity;
        RowTimesMatrix(go, pv, t8, Hs, nb, rd);            // dp̃_ij = do_i·v_j
        var li = Vector256.Create(lse);
        var start = (uint)((bh * T + i) * T);
        var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        var vdot = Vector256<float>.Zero;
        for (var jb = 0; jb < nb; jb++)
        {
            var j = jb * W8;
            var p = FastMath.Exp(Vector256.Load(rp + j) - li);
            var keep = m.Drop ? DropoutMask.Keep(Vector256.Create(start + (uint)j) + lane, m.K0, m.K1, m.Th) : Vector256<float>.AllBitsSet;
            var dp = (Vector256.Load(rd + j) * m.Scale) & keep;
            p.Store(rp + j);
            ((p * m.Scale) & keep).Store(rpd + j);
            dp.Store(rd + j);
            vdot = Vector256.FusedMultiplyAdd(p, dp, vdot);
        }
        var dot = Vector256.Create(Vector256.Sum(vdot));
        for (var jb = 0; jb < nb; jb++)
        {
            var j = jb * W8;
            (Vector256.Load(rp + j) * (Vector256.Load(rd + j) - dot)).Store(rd + j);
        }
    }

    /// <summary>gqkv of head h of sample b += dq (T, hs), dKᵀ and dVᵀ (hs, T8), dq and dk rotated back (ropeᵀ).</summary>
    private unsafe void ScatterHeadFlash(FlashScratch s, float* pg, int b, int h)
    {
        int t8 = T8, hs = Hs;
        Span<float> tmp = stackalloc float[hs];
        for (var t = 0; t < T; t++)
        {
            var baseOff = (b * T + t) * 3 * D + h * 3 * hs;
            var gq = new Span<float>(pg + baseOff, hs);
            var gk = new Span<float>(pg + baseOff + hs, hs);
            var gv = pg + baseOff + 2 * hs;
            for (var e = 0; e < hs; e++)
            {
                tmp[e] = s.Dkt[e * t8 + t];
                gv[e] += s.Dvt[e * t8 + t];
            }
            var dq = s.Dq.AsSpan(t * hs, hs);
            if (Rope is null)
            {
                TensorPrimitives.Add(gq, dq, gq);
                TensorPrimitives.Add(gk, tmp, gk);
            }
            else
            {
                Rope.RotateBackAccumulate(dq, gq, t);
                Rope.RotateBackAccumulate(tmp, gk, t);
            }
        }
    }

    /// <summary>
    /// dst[j] = Σ_e x[e]·M[e, j] for j &lt; 8·nb (M row-major with stride ld): four blocks of 8 columns at a time, so
    /// four independent FMA chains share each broadcast of x[e].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RowTimesMatrix(float* x, float* m, int ld, int rows, int nb, float* dst)
    {
        var jb = 0;
        for (; jb + 3 < nb; jb += 4)
        {
            var mj = m + jb * W8;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (var e = 0; e < rows; e++)
            {
                var xe = Vector256.Create(x[e]);
                var me = mj + e * ld;
                a0 = Vector256.FusedMultiplyAdd(xe, Vector256.Load(me), a0);
                a1 = Vector256.FusedMultiplyAdd(xe, Vector256.Load(me + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(xe, Vector256.Load(me + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(xe, Vector256.Load(me + 24), a3);
            }
            var d = dst + jb * W8;
            a0.Store(d); a1.Store(d + 8); a2.Store(d + 16); a3.Store(d + 24);
        }
        for (; jb < nb; jb++)
        {
            var mj = m + jb * W8;
            var a = Vector256<float>.Zero;
            for (var e = 0; e < rows; e++) a = Vector256.FusedMultiplyAdd(Vector256.Create(x[e]), Vector256.Load(mj + e * ld), a);
            a.Store(dst + jb * W8);
        }
    }

    /// <summary>dst[e] = Σ_{j &lt; 8·nb} r[j]·M[e, j] for each of the <paramref name="rows"/> rows of M (stride ld), four rows at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RowDotRows(float* r, float* m, int ld, int rows, int nb, float* dst)
    {
        var e = 0;
        for (; e + 3 < rows; e += 4)
        {
            float* m0 = m + e * ld, m1 = m0 + ld, m2 = m1 + ld, m3 = m2 + ld;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (var j = 0; j < nb * W8; j += W8)
            {
                var rj = Vector256.Load(r + j);
                a0 = Vector256.FusedMultiplyAdd(rj, Vector256.Load(m0 + j), a0);
                a1 = Vector256.FusedMultiplyAdd(rj, Vector256.Load(m1 + j), a1);
                a2 = Vector256.FusedMultiplyAdd(rj, Vector256.Load(m2 + j), a2);
                a3 = Vector256.FusedMultiplyAdd(rj, Vector256.Load(m3 + j), a3);
            }
            dst[e] = Vector256.Sum(a0); dst[e + 1] = Vector256.Sum(a1); dst[e + 2] = Vector256.Sum(a2); dst[e + 3] = Vector256.Sum(a3);
        }
        for (; e < rows; e++)
        {
            var me = m + e * ld;
            var a = Vector256<float>.Zero;
            for (var j = 0; j < nb * W8; j += W8) a = Vector256.FusedMultiplyAdd(Vector256.Load(r + j), Vector256.Load(me + j), a);
            dst[e] = Vector256.Sum(a);
        }
    }

    /// <summary>y[j] += α·x[j] + β·z[j] for j &lt; 8·nb (two rows' updates with one load and store of y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Axpy8x2(float alpha, float* x, float beta, float* z, float* y, int nb)
    {
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        for (var j = 0; j < nb * W8; j += W8)
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(z + j), Vector256.FusedMultiplyAdd(va, Vector256.Load(x + j), Vector256.Load(y + j))).Store(y + j);
    }

    /// <summary>y[j] += α·x[j] for j &lt; 8·nb.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Axpy8(float alpha, float* x, float* y, int nb)
    {
        var va = Vector256.Create(alpha);
        for (var j = 0; j < nb * W8; j += W8) Vector256.FusedMultiplyAdd(va, Vector256.Load(x + j), Vector256.Load(y + j)).Store(y + j);
    }

    private static float Max8(Vector256<float> v)
    {
        var m4 = Vector128.Max(v.GetLower(), v.GetUpper());
        var m2 = Vector128.Max(m4, Vector128.Shuffle(m4, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(m2[0], m2[1]);
    }

    private sealed class FlashScratch(int t8, int hs)
    {
        public readonly int T8 = t8, Hs = hs;
        public readonly float[] Q = new float[t8 * hs], Dq = new float[t8 * hs];
        public readonly float[] Kt = new float[hs * t8], Vt = new float[hs * t8], Dkt = new float[hs * t8], Dvt = new float[hs * t8];
        public readonly float[] P = new float[2 * t8], Dp = new float[2 * t8], Pd = new float[2 * t8]; // two rows of p, dp (then ds) and p̃
    }
}
