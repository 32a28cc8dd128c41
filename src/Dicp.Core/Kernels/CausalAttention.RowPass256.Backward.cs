using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

internal readonly partial struct CausalAttention
{
    private readonly unsafe partial struct RowPass256
    {
        /// <summary>
        /// <see cref="BackwardHalf"/> of keys j … j + 7 and j + 8 … j + 15 at once, for each block j &lt; end (both halves
        /// reach row b): the halves share the broadcasts of q and do, and their dependency chains interleave. Each lane's
        /// operations are those of <see cref="BackwardHalf"/>.
        /// </summary>
        private void BackwardBlocks(int end, int a, int b, float* qa, float* qb, float* goA, float* goB, Vector256<float> la, Vector256<float> lb,
            Vector256<float> diA, Vector256<float> diB, uint startA, uint startB, byte* bitsA, byte* bitsB, float* ra, float* rb, float* dkt, float* dvt)
        {
            for (var j = 0; j < end; j += 16) BackwardBlock(j, a, b, qa, qb, goA, goB, la, lb, diA, diB, startA, startB, bitsA, bitsB, ra, rb, dkt, dvt);
        }

        /// <summary>Block j of <see cref="BackwardBlocks"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void BackwardBlock(int j, int a, int b, float* qa, float* qb, float* goA, float* goB, Vector256<float> la, Vector256<float> lb,
            Vector256<float> diA, Vector256<float> diB, uint startA, uint startB, byte* bitsA, byte* bitsB, float* ra, float* rb, float* dkt, float* dvt)
        {
            int tp = _tp;
            ScoresBlock(qa, qb, _kt + j, tp, out var sal, out var sbl, out var sah, out var sbh);
            var pal = FastMath.ExpNonPositive(sal - la);
            var pbl = FastMath.ExpNonPositive(sbl - lb);
            var pah = FastMath.ExpNonPositive(sah - la);
            var pbh = FastMath.ExpNonPositive(sbh - lb);
            Causal(ref pal, ref pbl, a, b, j, Vector256<float>.Zero);
            Causal(ref pah, ref pbh, a, b, j + 8, Vector256<float>.Zero);
            Vector256<float> kal = Vector256<float>.AllBitsSet, kbl = kal, kah = kal, kbh = kal;
            if (_drop)
            {
                kal = Keep8(startA, bitsA, j);
                kah = Keep8(startA, bitsA, j + 8);
                kbl = Keep8(startB, bitsB, j);
                kbh = Keep8(startB, bitsB, j + 8);
            }
            var dropScale = Vector256.Create(_dropScale);
            Vector256<float> pdal = (pal * dropScale) & kal, pdbl = (pbl * dropScale) & kbl;
            Vector256<float> pdah = (pah * dropScale) & kah, pdbh = (pbh * dropScale) & kbh;
            // dv_j += p̃_ij do_i (row a, then row b) and dp̃_ij = do_i·v_j
            Vector256<float> dptAl = default, dptBl = default, dptAh = default, dptBh = default;
            float* dv = dvt + j, v = _vt + j;
            DvBlock(goA[0], goB[0], dv, v, pdal, pdbl, pdah, pdbh, ref dptAl, ref dptBl, ref dptAh, ref dptBh);
            DvBlock(goA[1], goB[1], dv + tp, v + tp, pdal, pdbl, pdah, pdbh, ref dptAl, ref dptBl, ref dptAh, ref dptBh);
            DvBlock(goA[2], goB[2], dv + 2 * tp, v + 2 * tp, pdal, pdbl, pdah, pdbh, ref dptAl, ref dptBl, ref dptAh, ref dptBh);
            DvBlock(goA[3], goB[3], dv + 3 * tp, v + 3 * tp, pdal, pdbl, pdah, pdbh, ref dptAl, ref dptBl, ref dptAh, ref dptBh);
            DvBlock(goA[4], goB[4], dv + 4 * tp, v + 4 * tp, pdal, pdbl, pdah, pdbh, ref dptAl, ref dptBl, ref dptAh, ref dptBh);
            DvBlock(goA[5], goB[5], dv + 5 * tp, v + 5 * tp, pdal, pdbl, pdah, pdbh, ref dptAl, ref dptBl, ref dptAh, ref dptBh);
            DvBlock(goA[6], goB[6], dv + 6 * tp, v + 6 * tp, pdal, pdbl, pdah, pdbh, ref dptAl, ref dptBl, ref dptAh, ref dptBh);
            DvBlock(goA[7], goB[7], dv + 7 * tp, v + 7 * tp, pdal, pdbl, pdah, pdbh, ref dptAl, ref dptBl, ref dptAh, ref dptBh);
            // softmax backward: ds = p ⊙ (dp − Σ_j p_j dp_j), the sum being do·o
            var dsal = pal * (((dptAl * dropScale) & kal) - diA);
            var dsbl = pbl * (((dptBl * dropScale) & kbl) - diB);
            var dsah = pah * (((dptAh * dropScale) & kah) - diA);
            var dsbh = pbh * (((dptBh * dropScale) & kbh) - diB);
            dsal.Store(ra + j); dsah.Store(ra + j + 8);
            dsbl.Store(rb + j); dsbh.Store(rb + j + 8);
            float* dk = dkt + j;
            DkBlock(qa[0], qb[0], dk, dsal, dsbl, dsah, dsbh);
            DkBlock(qa[1], qb[1], dk + tp, dsal, dsbl, dsah, dsbh);
            DkBlock(qa[2], qb[2], dk + 2 * tp, dsal, dsbl, dsah, dsbh);
            DkBlock(qa[3], qb[3], dk + 3 * tp, dsal, dsbl, dsah, dsbh);
            DkBlock(qa[4], qb[4], dk + 4 * tp, dsal, dsbl, dsah, dsbh);
            DkBlock(qa[5], qb[5], dk + 5 * tp, dsal, dsbl, dsah, dsbh);
            DkBlock(qa[6], qb[6], dk + 6 * tp, dsal, dsbl, dsah, dsbh);
            DkBlock(qa[7], qb[7], dk + 7 * tp, dsal, dsbl, dsah, dsbh);
        }

        /// <summary>One head dimension e of <see cref="BackwardBlock"/>: dv_j += p̃_aj do_a[e] then p̃_bj do_b[e] (16 keys at dv), dp̃ += do[e]·v_j[e].</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void DvBlock(float goA, float goB, float* dv, float* v,
            Vector256<float> pdal, Vector256<float> pdbl, Vector256<float> pdah, Vector256<float> pdbh,
            ref Vector256<float> dptAl, ref Vector256<float> dptBl, ref Vector256<float> dptAh, ref Vector256<float> dptBh)
        {
            var ga = Vector256.Create(goA);
            var gb = Vector256.Create(goB);
            Vector256.FusedMultiplyAdd(gb, pdbl, Vector256.FusedMultiplyAdd(ga, pdal, Vector256.Load(dv))).Store(dv);
            Vector256.FusedMultiplyAdd(gb, pdbh, Vector256.FusedMultiplyAdd(ga, pdah, Vector256.Load(dv + 8))).Store(dv + 8);
            var vl = Vector256.Load(v);
            var vh = Vector256.Load(v + 8);
            dptAl = Vector256.FusedMultiplyAdd(ga, vl, dptAl);
            dptBl = Vector256.FusedMultiplyAdd(gb, vl, dptBl);
            dptAh = Vector256.FusedMultiplyAdd(ga, vh, dptAh);
            dptBh = Vector256.FusedMultiplyAdd(gb, vh, dptBh);
        }

        /// <summary>One head dimension e of <see cref="BackwardBlock"/>: dk_j += ds_aj q_a[e] then ds_bj q_b[e] (16 keys at dk).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void DkBlock(float qa, float qb, float* dk, Vector256<float> dsal, Vector256<float> dsbl, Vector256<float> dsah, Vector256<float> dsbh)
        {
            var qe = Vector256.Create(qa);
            var qf = Vector256.Create(qb);
            Vector256.FusedMultiplyAdd(qf, dsbl, Vector256.FusedMultiplyAdd(qe, dsal, Vector256.Load(dk))).Store(dk); // dk_j += ds_ij q_i/√8
            Vector256.FusedMultiplyAdd(qf, dsbh, Vector256.FusedMultiplyAdd(qe, dsah, Vector256.Load(dk + 8))).Store(dk + 8);
        }
    }
}
