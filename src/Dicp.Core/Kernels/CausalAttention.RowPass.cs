using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>The head-size-8 forward over the query rows of one (batch, head) pair.</summary>
internal readonly partial struct CausalAttention
{
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
}
