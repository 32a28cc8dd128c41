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

    /// <summary>The forward pass of query rows of one (batch, head) pair, over the loaded Q, Kᵀ, Vᵀ.</summary>
    private readonly unsafe struct RowPass
    {
        private readonly CausalAttention _k;
        private readonly float* _q, _kt, _vt, _row, _out;
        private readonly int _t, _tp, _d;
        private readonly bool _drop;
        private readonly float _dropScale;
        private readonly Vector512<uint> _th, _k0, _k1;

        public RowPass(CausalAttention kernel, float* q, float* kt, float* vt, float* row, float* output)
        {
            _k = kernel;
            _q = q;
            _kt = kt;
            _vt = vt;
            _row = row;
            _out = output;
            (_t, _tp, _d) = (kernel.T, kernel.Tp, kernel.D);
            _drop = kernel.DropoutP > 0f;
            _dropScale = _drop ? 1f / (1f - kernel.DropoutP) : 1f;
            _th = Vector512.Create(DropoutMask.Threshold(kernel.DropoutP));
            _k0 = Vector512.Create((uint)kernel.DropoutKey);
            _k1 = Vector512.Create((uint)(kernel.DropoutKey >> 32));
        }

        private static Vector512<float> LaneF => Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

        private static Vector512<uint> LaneU => Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

        /// <summary>Row i alone.</summary>
        public void Single(int bh, int i, float[]? lse)
        {
            int tp = _tp, nb = i / 16 + 1;
            var negInf = Vector512.Create(float.NegativeInfinity);
            var qi = _q + i * 8;
            var vmax = negInf;
            for (var jb = 0; jb < nb; jb++)
            {
                var j = jb * 16;
                var sc = Scores8(qi, _kt + j, tp);
                if (jb == nb - 1) sc = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(LaneF, Vector512.Create((float)(i - j))), sc, negInf);
                sc.Store(_row + j);
                vmax = Vector512.Max(vmax, sc);
            }
            // One pass: e = exp(s − m), l = Σ e, o ∝ Σ mask(e)·v; normalised (and dropout-scaled) once at the end.
            var m = Vector512.Create(HorizontalMax(vmax));
            var vsum = Vector512<float>.Zero;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            var rowStart = (uint)((bh * _t + i) * _t);
            for (var jb = 0; jb < nb; jb++)
            {
                var j = jb * 16;
                var p = FastMath.Exp(Vector512.Load(_row + j) - m);
                vsum += p;
                if (_drop) p &= DropoutMask.Keep(Vector512.Create(rowStart + (uint)j) + LaneU, _k0, _k1, _th);
                var vj = _vt + j;
                a0 = Vector512.FusedMultiplyAdd(p, Vector512.Load(vj), a0);
                a1 = Vector512.FusedMultiplyAdd(p, Vector512.Load(vj + tp), a1);
                a2 = Vector512.FusedMultiplyAdd(p, Vector512.Load(vj + 2 * tp), a2);
                a3 = Vector512.FusedMultiplyAdd(p, Vector512.Load(vj + 3 * tp), a3);
                a4 = Vector512.FusedMultiplyAdd(p, Vector512.Load(vj + 4 * tp), a4);
                a5 = Vector512.FusedMultiplyAdd(p, Vector512.Load(vj + 5 * tp), a5);
                a6 = Vector512.FusedMultiplyAdd(p, Vector512.Load(vj + 6 * tp), a6);
                a7 = Vector512.FusedMultiplyAdd(p, Vector512.Load(vj + 7 * tp), a7);
            }
            Finish(bh, i, lse, m, vsum, Reduce8(a0, a1, a2, a3, a4, a5, a6, a7));
        }

        /// <summary>Rows i and i + 1 (i even), interleaved; each computed exactly as <see cref="Single"/> would.</summary>
        public void Pair(int bh, int i, float[]? lse)
        {
            int tp = _tp, nb = i / 16 + 1;
            var negInf = Vector512.Create(float.NegativeInfinity);
            float* qa = _q + i * 8, qb = qa + 8, rowA = _row, rowB = _row + tp;
            var maxA = negInf;
            var maxB = negInf;
            for (var jb = 0; jb < nb; jb++)
            {
                var j = jb * 16;
                var kt = _kt + j;
                var k0 = Vector512.Load(kt);
                var k1 = Vector512.Load(kt + tp);
                var sa0 = Vector512.Create(qa[0]) * k0;
                var sa1 = Vector512.Create(qa[1]) * k1;
                var sb0 = Vector512.Create(qb[0]) * k0;
                var sb1 = Vector512.Create(qb[1]) * k1;
                for (var e = 2; e < 8; e += 2)
                {
                    var ke = Vector512.Load(kt + e * tp);
                    var kf = Vector512.Load(kt + (e + 1) * tp);
                    sa0 = Vector512.FusedMultiplyAdd(Vector512.Create(qa[e]), ke, sa0);
                    sa1 = Vector512.FusedMultiplyAdd(Vector512.Create(qa[e + 1]), kf, sa1);
                    sb0 = Vector512.FusedMultiplyAdd(Vector512.Create(qb[e]), ke, sb0);
                    sb1 = Vector512.FusedMultiplyAdd(Vector512.Create(qb[e + 1]), kf, sb1);
                }
                var sa = sa0 + sa1; // = Scores8(qa, kt, tp): the same products, chains and final sum
                var sb = sb0 + sb1;
                if (jb == nb - 1)
                {
                    sa = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(LaneF, Vector512.Create((float)(i - j))), sa, negInf);
                    sb = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(LaneF, Vector512.Create((float)(i + 1 - j))), sb, negInf);
                }
                sa.Store(rowA + j);
                sb.Store(rowB + j);
                maxA = Vector512.Max(maxA, sa);
                maxB = Vector512.Max(maxB, sb);
            }
            var ma = Vector512.Create(HorizontalMax(maxA));
            var mb = Vector512.Create(HorizontalMax(maxB));
            Vector512<float> suma = default, sumb = default;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
            var startA = (uint)((bh * _t + i) * _t);
            var startB = startA + (uint)_t;
            for (var jb = 0; jb < nb; jb++)
            {
                var j = jb * 16;
                var pa = FastMath.Exp(Vector512.Load(rowA + j) - ma);
                var pb = FastMath.Exp(Vector512.Load(rowB + j) - mb);
                suma += pa;
                sumb += pb;
                if (_drop)
                {
                    pa &= DropoutMask.Keep(Vector512.Create(startA + (uint)j) + LaneU, _k0, _k1, _th);
                    pb &= DropoutMask.Keep(Vector512.Create(startB + (uint)j) + LaneU, _k0, _k1, _th);
                }
                var vj = _vt + j;
                Vector512<float> v;
                v = Vector512.Load(vj); a0 = Vector512.FusedMultiplyAdd(pa, v, a0); b0 = Vector512.FusedMultiplyAdd(pb, v, b0);
                v = Vector512.Load(vj + tp); a1 = Vector512.FusedMultiplyAdd(pa, v, a1); b1 = Vector512.FusedMultiplyAdd(pb, v, b1);
                v = Vector512.Load(vj + 2 * tp); a2 = Vector512.FusedMultiplyAdd(pa, v, a2); b2 = Vector512.FusedMultiplyAdd(pb, v, b2);
                v = Vector512.Load(vj + 3 * tp); a3 = Vector512.FusedMultiplyAdd(pa, v, a3); b3 = Vector512.FusedMultiplyAdd(pb, v, b3);
                v = Vector512.Load(vj + 4 * tp); a4 = Vector512.FusedMultiplyAdd(pa, v, a4); b4 = Vector512.FusedMultiplyAdd(pb, v, b4);
                v = Vector512.Load(vj + 5 * tp); a5 = Vector512.FusedMultiplyAdd(pa, v, a5); b5 = Vector512.FusedMultiplyAdd(pb, v, b5);
                v = Vector512.Load(vj + 6 * tp); a6 = Vector512.FusedMultiplyAdd(pa, v, a6); b6 = Vector512.FusedMultiplyAdd(pb, v, b6);
                v = Vector512.Load(vj + 7 * tp); a7 = Vector512.FusedMultiplyAdd(pa, v, a7); b7 = Vector512.FusedMultiplyAdd(pb, v, b7);
            }
            Finish(bh, i, lse, ma, suma, Reduce8(a0, a1, a2, a3, a4, a5, a6, a7));
            Finish(bh, i + 1, lse, mb, sumb, Reduce8(b0, b1, b2, b3, b4, b5, b6, b7));
        }

        /// <summary>
        /// Rows i … i + 3 (i a multiple of 4), each computed exactly as <see cref="Single"/> would: scores and maxima,
        /// then the masked exponentials (kept in the row buffers) and their sums, then P·V in two halves of the head
        /// dimensions (16 accumulators at a time) reduced with the two halves of <see cref="Reduce8"/>.
        /// </summary>
        public void Quad(int bh, int i, float[]? lse)
        {
            int tp = _tp, nb = i / 16 + 1;
            var negInf = Vector512.Create(float.NegativeInfinity);
            float* q0 = _q + i * 8, q1 = q0 + 8, q2 = q0 + 16, q3 = q0 + 24;
            float* r0 = _row, r1 = _row + tp, r2 = _row + 2 * tp, r3 = _row + 3 * tp;
            Vector512<float> max0 = negInf, max1 = negInf, max2 = negInf, max3 = negInf;
            for (var jb = 0; jb < nb; jb++)
            {
                var j = jb * 16;
                var kt = _kt + j;
                var ka = Vector512.Load(kt);
                var kb = Vector512.Load(kt + tp);
                Vector512<float> s00 = Vector512.Create(q0[0]) * ka, s01 = Vector512.Create(q0[1]) * kb;
                Vector512<float> s10 = Vector512.Create(q1[0]) * ka, s11 = Vector512.Create(q1[1]) * kb;
                Vector512<float> s20 = Vector512.Create(q2[0]) * ka, s21 = Vector512.Create(q2[1]) * kb;
                Vector512<float> s30 = Vector512.Create(q3[0]) * ka, s31 = Vector512.Create(q3[1]) * kb;
                for (var e = 2; e < 8; e += 2)
                {
                    ka = Vector512.Load(kt + e * tp);
                    kb = Vector512.Load(kt + (e + 1) * tp);
                    s00 = Vector512.FusedMultiplyAdd(Vector512.Create(q0[e]), ka, s00); s01 = Vector512.FusedMultiplyAdd(Vector512.Create(q0[e + 1]), kb, s01);
                    s10 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[e]), ka, s10); s11 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[e + 1]), kb, s11);
                    s20 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[e]), ka, s20); s21 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[e + 1]), kb, s21);
                    s30 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[e]), ka, s30); s31 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[e + 1]), kb, s31);
                }
                Vector512<float> sc0 = s00 + s01, sc1 = s10 + s11, sc2 = s20 + s21, sc3 = s30 + s31; // = Scores8 per row
                if (jb == nb - 1)
                {
                    var lane = LaneF;
                    sc0 = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(lane, Vector512.Create((float)(i - j))), sc0, negInf);
                    sc1 = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(lane, Vector512.Create((float)(i + 1 - j))), sc1, negInf);
                    sc2 = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(lane, Vector512.Create((float)(i + 2 - j))), sc2, negInf);
                    sc3 = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(lane, Vector512.Create((float)(i + 3 - j))), sc3, negInf);
                }
                sc0.Store(r0 + j); sc1.Store(r1 + j); sc2.Store(r2 + j); sc3.Store(r3 + j);
                max0 = Vector512.Max(max0, sc0); max1 = Vector512.Max(max1, sc1);
                max2 = Vector512.Max(max2, sc2); max3 = Vector512.Max(max3, sc3);
            }
            Vector512<float> m0 = Vector512.Create(HorizontalMax(max0)), m1 = Vector512.Create(HorizontalMax(max1));
            Vector512<float> m2 = Vector512.Create(HorizontalMax(max2)), m3 = Vector512.Create(HorizontalMax(max3));
            Vector512<float> sum0 = default, sum1 = default, sum2 = default, sum3 = default;
            var start0 = (uint)((bh * _t + i) * _t);
            var rowStride = (uint)_t;
            for (var jb = 0; jb < nb; jb++)
            {
                var j = jb * 16;
                var p0 = FastMath.Exp(Vector512.Load(r0 + j) - m0);
                var p1 = FastMath.Exp(Vector512.Load(r1 + j) - m1);
                var p2 = FastMath.Exp(Vector512.Load(r2 + j) - m2);
                var p3 = FastMath.Exp(Vector512.Load(r3 + j) - m3);
                sum0 += p0; sum1 += p1; sum2 += p2; sum3 += p3;
                if (_drop)
                {
                    var idx = Vector512.Create(start0 + (uint)j) + LaneU;
                    p0 &= DropoutMask.Keep(idx, _k0, _k1, _th);
                    p1 &= DropoutMask.Keep(idx + Vector512.Create(rowStride), _k0, _k1, _th);
                    p2 &= DropoutMask.Keep(idx + Vector512.Create(2 * rowStride), _k0, _k1, _th);
                    p3 &= DropoutMask.Keep(idx + Vector512.Create(3 * rowStride), _k0, _k1, _th);
                }
                p0.Store(r0 + j); p1.Store(r1 + j); p2.Store(r2 + j); p3.Store(r3 + j);
            }
            var lo0 = HalfPv(r0, r1, r2, r3, _vt, tp, nb, out var lo1, out var lo2, out var lo3);
            var hi0 = HalfPv(r0, r1, r2, r3, _vt + 4 * tp, tp, nb, out var hi1, out var hi2, out var hi3);
            Finish(bh, i, lse, m0, sum0, Combine(lo0, hi0));
            Finish(bh, i + 1, lse, m1, sum1, Combine(lo1, hi1));
            Finish(bh, i + 2, lse, m2, sum2, Combine(lo2, hi2));
            Finish(bh, i + 3, lse, m3, sum3, Combine(lo3, hi3));
        }

        /// <summary>
        /// Σ_j p_r[j]·Vᵀ[e, j] for four rows r and four head dimensions e (from <paramref name="vt"/>), reduced with
        /// one half of <see cref="Reduce8"/> per row.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> HalfPv(float* r0, float* r1, float* r2, float* r3, float* vt, int tp, int nb,
            out Vector256<float> h1, out Vector256<float> h2, out Vector256<float> h3)
        {
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
            for (var jb = 0; jb < nb; jb++)
            {
                var j = jb * 16;
                Vector512<float> p0 = Vector512.Load(r0 + j), p1 = Vector512.Load(r1 + j), p2 = Vector512.Load(r2 + j), p3 = Vector512.Load(r3 + j);
                var v = Vector512.Load(vt + j);
                a00 = Vector512.FusedMultiplyAdd(p0, v, a00); a10 = Vector512.FusedMultiplyAdd(p1, v, a10);
                a20 = Vector512.FusedMultiplyAdd(p2, v, a20); a30 = Vector512.FusedMultiplyAdd(p3, v, a30);
                v = Vector512.Load(vt + tp + j);
                a01 = Vector512.FusedMultiplyAdd(p0, v, a01); a11 = Vector512.FusedMultiplyAdd(p1, v, a11);
                a21 = Vector512.FusedMultiplyAdd(p2, v, a21); a31 = Vector512.FusedMultiplyAdd(p3, v, a31);
                v = Vector512.Load(vt + 2 * tp + j);
                a02 = Vector512.FusedMultiplyAdd(p0, v, a02); a12 = Vector512.FusedMultiplyAdd(p1, v, a12);
                a22 = Vector512.FusedMultiplyAdd(p2, v, a22); a32 = Vector512.FusedMultiplyAdd(p3, v, a32);
                v = Vector512.Load(vt + 3 * tp + j);
                a03 = Vector512.FusedMultiplyAdd(p0, v, a03); a13 = Vector512.FusedMultiplyAdd(p1, v, a13);
                a23 = Vector512.FusedMultiplyAdd(p2, v, a23); a33 = Vector512.FusedMultiplyAdd(p3, v, a33);
            }
            h1 = Half4(a10, a11, a12, a13);
            h2 = Half4(a20, a21, a22, a23);
            h3 = Half4(a30, a31, a32, a33);
            return Half4(a00, a01, a02, a03);
        }

        /// <summary>Row i's output o_i = dropScale·acc / l and, when saving, lse_i = m + log l.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Finish(int bh, int i, float[]? lse, Vector512<float> m, Vector512<float> vsum, Vector256<float> acc)
        {
            var l = Vector512.Sum(vsum);
            if (lse is not null) lse[bh * _t + i] = m[0] + MathF.Log(l);
            int b = bh / _k.H, h = bh % _k.H;
            (acc * Vector256.Create(_dropScale / l)).Store(_out + (b * _t + i) * _d + h * 8);
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
                        Transpose8x8(kb, pk + (tt - 7), tp);
                        Transpose8x8(vb, pv + (tt - 7), tp);
                    }
                    continue;
                }
                for (var e = 0; e < 8; e++)
                {
                    pk[e * tp + tt] = k.GetElement(e);
                    pv[e * tp + tt] = src[16 + e];
                }
            }
            for (var e = 0; e < 8; e++)
                for (var tt = t; tt < tp; tt++) pk[e * tp + tt] = pv[e * tp + tt] = 0f;
        }
    }

    /// <summary>dst[e·ld + r] = src[r·8 + e] for r, e &lt; 8: an 8×8 block transposed with AVX shuffles (pure data movement).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8x8(float* src, float* dst, int ld)
    {
        var r0 = Vector256.Load(src); var r1 = Vector256.Load(src + 8);
        var r2 = Vector256.Load(src + 16); var r3 = Vector256.Load(src + 24);
        var r4 = Vector256.Load(src + 32); var r5 = Vector256.Load(src + 40);
        var r6 = Vector256.Load(src + 48); var r7 = Vector256.Load(src + 56);
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
        Span<float> kbuf = stackalloc float[8];
        fixed (float* pcos = rope is null ? null : rope.Cos, psin = rope is null ? null : rope.Sin, pkb = kbuf)
        {
            for (var tt = 0; tt < t; tt++)
            {
                var dst = pg + (b * t + tt) * 3 * d + h * 24;
                for (var e = 0; e < 8; e++)
                {
                    pkb[e] = pdk[e * tp + tt];
                    dst[16 + e] += pdv[e * tp + tt];
                }
                var dq = Vector256.Load(pdq + tt * 8);
                var dk = Vector256.Load(pkb);
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
    private static unsafe Vector512<float> Scores8(float* q, float* kt, int tp)
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
    private static Vector256<float> Reduce8(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3,
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
