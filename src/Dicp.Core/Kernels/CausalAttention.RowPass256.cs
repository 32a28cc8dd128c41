using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dicp.Kernels;

/// <summary>The 256-bit head-size-8 forward and backward over pairs of query rows of one (batch, head) pair.</summary>
internal readonly partial struct CausalAttention
{
    /// <summary>
    /// Forward and backward of two query rows a ≤ b of one (batch, head) pair over the loaded Q (T, 8), Kᵀ and Vᵀ
    /// (8, Tp), in 8-key halves of the 16-key blocks of <see cref="Forward8"/>.
    /// </summary>
    private readonly unsafe partial struct RowPass256
    {
        private readonly float* _q, _kt, _vt, _row, _out;
        private readonly byte* _bits; // the dropout mask as bits, (B·H·T, Tp/8) bytes, or null: hashed
        private readonly int _t, _tp, _d, _h;
        private readonly bool _drop;
        private readonly float _dropScale;
        private readonly Vector256<uint> _th, _k0, _k1;

        public RowPass256(CausalAttention kernel, float* q, float* kt, float* vt, float* row, float* output, float* keepBits)
        {
            _q = q;
            _kt = kt;
            _vt = vt;
            _row = row;
            _out = output;
            (_t, _tp, _d, _h) = (kernel.T, kernel.Tp, kernel.D, kernel.H);
            _drop = kernel.DropoutP > 0f;
            _dropScale = _drop ? 1f / (1f - kernel.DropoutP) : 1f;
            _th = Vector256.Create(DropoutMask.Threshold(kernel.DropoutP));
            _k0 = Vector256.Create((uint)kernel.DropoutKey);
            _k1 = Vector256.Create((uint)(kernel.DropoutKey >> 32));
            _bits = _drop ? (byte*)keepBits : null;
        }

        /// <summary>Where row r's mask bits start (null without saved bits).</summary>
        private byte* Bits(int bh, int r) => _bits is null ? null : _bits + (long)(bh * _t + r) * (_tp / 8);

        /// <summary>The dropout mask of keys j … j + 7 of a row whose counters start at <paramref name="start"/>: from its bits when saved, else hashed.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector256<float> Keep8(uint start, byte* bits, int j)
        {
            if (bits is null) return DropoutMask.Keep(Vector256.Create(start + (uint)j) + LaneU, _k0, _k1, _th);
            var bit = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);
            return Vector256.Equals(Vector256.Create((int)bits[j >> 3]) & bit, bit).AsSingle(); // lane l kept iff bit l is set
        }

        private static Vector256<float> LaneF => Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);

        private static Vector256<uint> LaneU => Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);

        /// <summary>
        /// Rows a and b = a or a + 1: scores and maxima, then the exponentials (their sums, then the dropout mask; kept
        /// in the row buffers), then P·V, each row exactly as <see cref="RowPass.Single"/> computes it. With b = a the
        /// row is computed twice and written twice, identically.
        /// </summary>
        public void Forward(int bh, int a, int b, float[]? lse)
        {
            int tp = _tp, nb = b / 16 + 1;
            var negInf = Vector256.Create(float.NegativeInfinity);
            float* qa = _q + a * 8, qb = _q + b * 8, ra = _row, rb = _row + tp;
            // Maxima over keys 0–7 and 8–15 of the blocks. MaxNative (one instruction) may keep −0 where Max keeps +0;
            // the sign of a zero maximum changes neither exp(s − m) nor m + log l.
            Vector256<float> maxAl = negInf, maxAh = negInf, maxBl = negInf, maxBh = negInf;
            for (var jb = 0; jb < nb; jb++)
            {
                var j = jb * 16;
                if (j + 8 > b)
                {
                    // The upper half is past both rows (−∞ scores, zero probabilities): the lower half alone.
                    Scores(qa, qb, _kt + j, tp, out var sa, out var sb);
                    Causal(ref sa, ref sb, a, b, j, negInf);
                    sa.Store(ra + j); sb.Store(rb + j);
                    maxAl = Vector256.MaxNative(maxAl, sa); maxBl = Vector256.MaxNative(maxBl, sb);
                    break;
                }
                ScoresBlock(qa, qb, _kt + j, tp, out var sal, out var sbl, out var sah, out var sbh);
                Causal(ref sal, ref sbl, a, b, j, negInf);
                Causal(ref sah, ref sbh, a, b, j + 8, negInf);
                sal.Store(ra + j); sbl.Store(rb + j); sah.Store(ra + j + 8); sbh.Store(rb + j + 8);
                maxAl = Vector256.MaxNative(maxAl, sal); maxBl = Vector256.MaxNative(maxBl, sbl);
                maxAh = Vector256.MaxNative(maxAh, sah); maxBh = Vector256.MaxNative(maxBh, sbh);
            }
            var ma = BroadcastMax(maxAl, maxAh);
            var mb = BroadcastMax(maxBl, maxBh);
            Vector256<float> sumAl = default, sumAh = default, sumBl = default, sumBh = default;
            uint startA = (uint)((bh * _t + a) * _t), startB = (uint)((bh * _t + b) * _t);
            byte* bitsA = Bits(bh, a), bitsB = Bits(bh, b);
            for (var jb = 0; jb < nb; jb++)
            {
                var j = jb * 16;
                Probabilities(ra, rb, j, ma, mb, startA, startB, bitsA, bitsB, ref sumAl, ref sumBl);
                if (j + 8 > b)
                {
                    Vector256<float>.Zero.Store(ra + j + 8); // what the skipped half would hold
                    Vector256<float>.Zero.Store(rb + j + 8);
                    break;
                }
                Probabilities(ra, rb, j + 8, ma, mb, startA, startB, bitsA, bitsB, ref sumAh, ref sumBh);
            }
            var oa = Reduce(ra, rb, _vt, tp, nb, out var ob);
            Finish(bh, a, lse, ma, sumAl, sumAh, oa);
            Finish(bh, b, lse, mb, sumBl, sumBh, ob);
        }

        /// <summary>
        /// The largest lane of lo and hi in every lane: <see cref="HorizontalMax(Vector256{float}, Vector256{float})"/>
        /// with the one-instruction max (a zero maximum may come out as −0, which changes nothing downstream).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> BroadcastMax(Vector256<float> lo, Vector256<float> hi)
        {
            var m = Vector256.MaxNative(lo, hi);
            m = Vector256.MaxNative(m, Avx.Permute2x128(m, m, 1));
            m = Vector256.MaxNative(m, Avx.Permute(m, 0b01_00_11_10));
            return Vector256.MaxNative(m, Avx.Permute(m, 0b10_11_00_01));
        }

        /// <summary>
        /// p = exp(s − m) of keys j … j + 7 of both rows into the row buffers: the sums take p, the buffers the
        /// dropout-masked p; the mask is hashed and, when bits are saved, saved.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Probabilities(float* ra, float* rb, int j, Vector256<float> ma, Vector256<float> mb, uint startA, uint startB,
            byte* bitsA, byte* bitsB, ref Vector256<float> sumA, ref Vector256<float> sumB)
        {
            var pa = FastMath.ExpNonPositive(Vector256.Load(ra + j) - ma);
            var pb = FastMath.ExpNonPositive(Vector256.Load(rb + j) - mb);
            sumA += pa;
            sumB += pb;
            if (_drop)
            {
                var keepA = DropoutMask.Keep(Vector256.Create(startA + (uint)j) + LaneU, _k0, _k1, _th);
                var keepB = DropoutMask.Keep(Vector256.Create(startB + (uint)j) + LaneU, _k0, _k1, _th);
                pa &= keepA;
                pb &= keepB;
                if (bitsA is not null)
                {
                    bitsA[j >> 3] = (byte)Avx.MoveMask(keepA);
                    bitsB[j >> 3] = (byte)Avx.MoveMask(keepB);
                }
            }
            pa.Store(ra + j);
            pb.Store(rb + j);
        }

        /// <summary>Row i's output o_i = dropScale·acc / l and, when saving, lse_i = m + log l (l summed as <see cref="Vector512.Sum{T}"/> sums the two halves).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Finish(int bh, int i, float[]? lse, Vector256<float> m, Vector256<float> sumLo, Vector256<float> sumHi, Vector256<float> acc)
        {
            var l = Vector256.Sum(sumLo) + Vector256.Sum(sumHi);
            if (lse is not null) lse[bh * _t + i] = m[0] + MathF.Log(l);
            int b = bh / _h, h = bh % _h;
            (acc * Vector256.Create(_dropScale / l)).Store(_out + (b * _t + i) * _d + h * 8);
        }

        /// <summary>
        /// Rows a and b = a + 1 (or b = a with a zero output gradient, when a is the last row alone): per half block
        /// p = exp(s − lse), dVᵀ += p̃ doᵀ, dp̃ = do·v, ds = p ⊙ (mask(dp̃) − D), dKᵀ += q ds (q pre-scaled), ds kept for
        /// dq = Σ_j ds_j k_j / √8. Each row's arithmetic is that of <see cref="Backward8"/>, and row a's updates of a
        /// key's dk and dv come before row b's, as there.
        /// </summary>
        public void Backward(int bh, int a, bool pair, float* lse, float* gout, float* dq, float* dkt, float* dvt)
        {
            int tp = _tp, b = pair ? a + 1 : a, nb = b / 16 + 1, bIdx = bh / _h, h = bh % _h;
            float* qa = _q + a * 8, qb = _q + b * 8, ra = _row, rb = _row + tp, zero = _row + 2 * tp;
            Vector256<float>.Zero.Store(zero); // the gradient of the stand-in row b when a is alone
            float* goA = gout + (bIdx * _t + a) * _d + h * 8, goB = pair ? goA + _d : zero;
            var diA = Vector256.Create(Vector256.Sum(Vector256.Load(goA) * Vector256.Load(_out + (bIdx * _t + a) * _d + h * 8))); // D_i = do_i·o_i
            var diB = pair ? Vector256.Create(Vector256.Sum(Vector256.Load(goB) * Vector256.Load(_out + (bIdx * _t + b) * _d + h * 8))) : default;
            var la = Vector256.Create(lse[bh * _t + a]);
            var lb = Vector256.Create(lse[bh * _t + b]);
            uint startA = (uint)((bh * _t + a) * _t), startB = (uint)((bh * _t + b) * _t);
            byte* bitsA = Bits(bh, a), bitsB = Bits(bh, b);
            var full = (b + 8) / 16 * 16; // the blocks before it reach row b in both halves
            BackwardBlocks(full, a, b, qa, qb, goA, goB, la, lb, diA, diB, startA, startB, bitsA, bitsB, ra, rb, dkt, dvt);
            if (full < nb * 16)
            {
                BackwardHalf(full, a, b, qa, qb, goA, goB, la, lb, diA, diB, startA, startB, bitsA, bitsB, ra, rb, dkt, dvt);
                Vector256<float>.Zero.Store(ra + full + 8); // the skipped half's ds
                Vector256<float>.Zero.Store(rb + full + 8);
            }
            var scale = Vector256.Create(1f / MathF.Sqrt(8f));
            var dqa = Reduce(ra, rb, _kt, tp, nb, out var dqb);
            (dqa * scale).Store(dq + a * 8);                                      // dq_i = Σ_j ds_ij k_j / √8
            if (pair) (dqb * scale).Store(dq + b * 8);
        }

        /// <summary>The backward of keys j … j + 7 for both rows; ds of the rows go to ra + j and rb + j.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void BackwardHalf(int j, int a, int b, float* qa, float* qb, float* goA, float* goB, Vector256<float> la, Vector256<float> lb,
            Vector256<float> diA, Vector256<float> diB, uint startA, uint startB, byte* bitsA, byte* bitsB, float* ra, float* rb, float* dkt, float* dvt)
        {
            int tp = _tp;
            Scores(qa, qb, _kt + j, tp, out var sa, out var sb);
            var pa = FastMath.ExpNonPositive(sa - la);
            var pb = FastMath.ExpNonPositive(sb - lb);
            Causal(ref pa, ref pb, a, b, j, Vector256<float>.Zero);
            var keepA = _drop ? Keep8(startA, bitsA, j) : Vector256<float>.AllBitsSet;
            var keepB = _drop ? Keep8(startB, bitsB, j) : Vector256<float>.AllBitsSet;
            var dropScale = Vector256.Create(_dropScale);
            var pdA = (pa * dropScale) & keepA;
            var pdB = (pb * dropScale) & keepB;
            // dv_j += p̃_ij do_i (row a, then row b) and dp̃_ij = do_i·v_j
            Vector256<float> dptA = default, dptB = default;
            for (var e = 0; e < 8; e++)
            {
                var ga = Vector256.Create(goA[e]);
                var gb = Vector256.Create(goB[e]);
                var dv = dvt + e * tp + j;
                Vector256.FusedMultiplyAdd(gb, pdB, Vector256.FusedMultiplyAdd(ga, pdA, Vector256.Load(dv))).Store(dv);
                var v = Vector256.Load(_vt + e * tp + j);
                dptA = Vector256.FusedMultiplyAdd(ga, v, dptA);
                dptB = Vector256.FusedMultiplyAdd(gb, v, dptB);
            }
            var dsA = pa * (((dptA * dropScale) & keepA) - diA); // softmax backward: ds = p ⊙ (dp − Σ_j p_j dp_j), the sum being do·o
            var dsB = pb * (((dptB * dropScale) & keepB) - diB);
            dsA.Store(ra + j);
            dsB.Store(rb + j);
            for (var e = 0; e < 8; e++)
            {
                var dk = dkt + e * tp + j;
                Vector256.FusedMultiplyAdd(Vector256.Create(qb[e]), dsB, Vector256.FusedMultiplyAdd(Vector256.Create(qa[e]), dsA, Vector256.Load(dk))).Store(dk); // dk_j += ds_ij q_i/√8
            }
        }

        /// <summary>Scores of rows a and b against keys kt … kt + 7, each as <see cref="Scores8"/> computes them (two chains of four).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Scores(float* qa, float* qb, float* kt, int tp, out Vector256<float> sa, out Vector256<float> sb)
        {
            var k0 = Vector256.Load(kt);
            var k1 = Vector256.Load(kt + tp);
            var sa0 = Vector256.Create(qa[0]) * k0;
            var sa1 = Vector256.Create(qa[1]) * k1;
            var sb0 = Vector256.Create(qb[0]) * k0;
            var sb1 = Vector256.Create(qb[1]) * k1;
            for (var e = 2; e < 8; e += 2)
            {
                var ke = Vector256.Load(kt + e * tp);
                var kf = Vector256.Load(kt + (e + 1) * tp);
                sa0 = Vector256.FusedMultiplyAdd(Vector256.Create(qa[e]), ke, sa0);
                sa1 = Vector256.FusedMultiplyAdd(Vector256.Create(qa[e + 1]), kf, sa1);
                sb0 = Vector256.FusedMultiplyAdd(Vector256.Create(qb[e]), ke, sb0);
                sb1 = Vector256.FusedMultiplyAdd(Vector256.Create(qb[e + 1]), kf, sb1);
            }
            sa = sa0 + sa1;
            sb = sb0 + sb1;
        }

        /// <summary><see cref="Scores"/> of keys kt … kt + 7 (sal, sbl) and kt + 8 … kt + 15 (sah, sbh), sharing the broadcasts of q.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void ScoresBlock(float* qa, float* qb, float* kt, int tp,
            out Vector256<float> sal, out Vector256<float> sbl, out Vector256<float> sah, out Vector256<float> sbh)
        {
            Vector256<float> k0l = Vector256.Load(kt), k0h = Vector256.Load(kt + 8), k1l = Vector256.Load(kt + tp), k1h = Vector256.Load(kt + tp + 8);
            var q = Vector256.Create(qa[0]);
            Vector256<float> sa0l = q * k0l, sa0h = q * k0h;
            q = Vector256.Create(qa[1]);
            Vector256<float> sa1l = q * k1l, sa1h = q * k1h;
            q = Vector256.Create(qb[0]);
            Vector256<float> sb0l = q * k0l, sb0h = q * k0h;
            q = Vector256.Create(qb[1]);
            Vector256<float> sb1l = q * k1l, sb1h = q * k1h;
            ScoreStep(qa[2], qb[2], kt + 2 * tp, ref sa0l, ref sa0h, ref sb0l, ref sb0h);
            ScoreStep(qa[3], qb[3], kt + 3 * tp, ref sa1l, ref sa1h, ref sb1l, ref sb1h);
            ScoreStep(qa[4], qb[4], kt + 4 * tp, ref sa0l, ref sa0h, ref sb0l, ref sb0h);
            ScoreStep(qa[5], qb[5], kt + 5 * tp, ref sa1l, ref sa1h, ref sb1l, ref sb1h);
            ScoreStep(qa[6], qb[6], kt + 6 * tp, ref sa0l, ref sa0h, ref sb0l, ref sb0h);
            ScoreStep(qa[7], qb[7], kt + 7 * tp, ref sa1l, ref sa1h, ref sb1l, ref sb1h);
            sal = sa0l + sa1l;
            sbl = sb0l + sb1l;
            sah = sa0h + sa1h;
            sbh = sb0h + sb1h;
        }

        /// <summary>One head dimension of <see cref="ScoresBlock"/>: the chains of rows a and b += q[e]·k_j[e] for the 16 keys at kt.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void ScoreStep(float qa, float qb, float* kt, ref Vector256<float> sal, ref Vector256<float> sah, ref Vector256<float> sbl, ref Vector256<float> sbh)
        {
            var kl = Vector256.Load(kt);
            var kh = Vector256.Load(kt + 8);
            var q = Vector256.Create(qa);
            sal = Vector256.FusedMultiplyAdd(q, kl, sal);
            sah = Vector256.FusedMultiplyAdd(q, kh, sah);
            q = Vector256.Create(qb);
            sbl = Vector256.FusedMultiplyAdd(q, kl, sbl);
            sbh = Vector256.FusedMultiplyAdd(q, kh, sbh);
        }

        /// <summary>Lanes of keys j … j + 7 past row a (b) set to <paramref name="masked"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Causal(ref Vector256<float> xa, ref Vector256<float> xb, int a, int b, int j, Vector256<float> masked)
        {
            if (j + 7 > a) xa = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(LaneF, Vector256.Create((float)(a - j))), xa, masked);
            if (j + 7 > b) xb = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(LaneF, Vector256.Create((float)(b - j))), xb, masked);
        }

        /// <summary>
        /// [Σ_j ra[j]·M[e, j]]_e (and the same of rb, in <paramref name="ob"/>) over nb 16-key blocks of the (8, Tp)
        /// matrix <paramref name="mt"/>, each dimension's two half accumulators added and reduced as <see cref="Reduce8"/> does.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Reduce(float* ra, float* rb, float* mt, int tp, int nb, out Vector256<float> ob)
        {
            var a0 = Dims2(ra, rb, mt, tp, nb, out var a1, out var b0, out var b1);
            var a2 = Dims2(ra, rb, mt + 2 * tp, tp, nb, out var a3, out var b2, out var b3);
            var a4 = Dims2(ra, rb, mt + 4 * tp, tp, nb, out var a5, out var b4, out var b5);
            var a6 = Dims2(ra, rb, mt + 6 * tp, tp, nb, out var a7, out var b6, out var b7);
            ob = Combine(Half4Sums(b0, b1, b2, b3), Half4Sums(b4, b5, b6, b7));
            return Combine(Half4Sums(a0, a1, a2, a3), Half4Sums(a4, a5, a6, a7));
        }

        /// <summary>Dimensions e and e + 1 (rows mt and mt + tp) of <see cref="Reduce"/>: lower + upper half accumulator of each.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Dims2(float* ra, float* rb, float* mt, int tp, int nb,
            out Vector256<float> a1, out Vector256<float> b0, out Vector256<float> b1)
        {
            Vector256<float> a0l = default, a0h = default, a1l = default, a1h = default;
            Vector256<float> b0l = default, b0h = default, b1l = default, b1h = default;
            for (var jb = 0; jb < nb; jb++)
            {
                var j = jb * 16;
                Vector256<float> pal = Vector256.Load(ra + j), pah = Vector256.Load(ra + j + 8);
                Vector256<float> pbl = Vector256.Load(rb + j), pbh = Vector256.Load(rb + j + 8);
                var v = Vector256.Load(mt + j);
                a0l = Vector256.FusedMultiplyAdd(pal, v, a0l); b0l = Vector256.FusedMultiplyAdd(pbl, v, b0l);
                v = Vector256.Load(mt + j + 8);
                a0h = Vector256.FusedMultiplyAdd(pah, v, a0h); b0h = Vector256.FusedMultiplyAdd(pbh, v, b0h);
                v = Vector256.Load(mt + tp + j);
                a1l = Vector256.FusedMultiplyAdd(pal, v, a1l); b1l = Vector256.FusedMultiplyAdd(pbl, v, b1l);
                v = Vector256.Load(mt + tp + j + 8);
                a1h = Vector256.FusedMultiplyAdd(pah, v, a1h); b1h = Vector256.FusedMultiplyAdd(pbh, v, b1h);
            }
            a1 = a1l + a1h;
            b0 = b0l + b0h;
            b1 = b1l + b1h;
            return a0l + a0h;
        }
    }
}
