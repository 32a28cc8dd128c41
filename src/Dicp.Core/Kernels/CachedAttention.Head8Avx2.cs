using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Dicp.Tensors;

namespace Dicp.Kernels;

/// <summary>
/// The head-size-8 path of <see cref="CachedAttention"/> for hosts with AVX2 and FMA but no AVX-512: the
/// <see cref="Forward8"/> algorithm with <see cref="Vector256{T}"/> blocks of 8 keys.
/// </summary>
/// <remarks>
/// Same layouts and padding as <see cref="Forward8"/> (segments read as (8, Lp), Lp = L rounded up to 16). A row i of
/// candidate n and one head: q (rotated, pre-scaled by 1/√8) against each segment's 8-key blocks (8 FMAs per block,
/// lanes past the segment's length or past i set to −∞), then one pass e = exp(s − max), l = Σ e, o = Σ e·v / l. The
/// sums run in another order than the generic path's: outputs agree within 1e-5 (tested); written keys and values are
/// identical. The split over (candidate, head) pairs is fixed, so results do not depend on the thread count.
/// </remarks>
internal static partial class CachedAttention
{
    [ThreadStatic] private static Head8Scratch? _scratch8Avx2;

    /// <summary>Whether <see cref="Forward"/> takes the 256-bit head-size-8 path: hs = 8, AVX2 and FMA, and not <see cref="UsesHead8"/>.</summary>
    public static bool UsesHead8Avx2(int hs) => hs == 8 && !UsesHead8(hs) && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>The 256-bit head-size-8 kernel (same arguments and layouts as <see cref="Forward"/>, hs = 8); needs <see cref="UsesHead8Avx2"/>.</summary>
    public static void Forward8Avx2(float[] qkv, int n, int s, int h,
        float[]? prefixKt, float[]? prefixVt, int p, int[]? prefixOf,
        float[]? middleKt, float[]? middleVt, int m, int[]? groupOf,
        RotaryCache? rope, float[] output, float[]? keysOut, float[]? valuesOut)
        => Run8(qkv, n, s, h, prefixKt, prefixVt, p, prefixOf, middleKt, middleVt, m, groupOf, rope, output, keysOut, valuesOut, wide: false);

    /// <summary>Chunk c of the (candidate, head) pairs.</summary>
    private readonly struct Chunks256(Args8 a, int per) : IParallelBody
    {
        public void Run(int c) => Range256(a, c * per, Math.Min(a.N * a.H, (c + 1) * per));
    }

    /// <summary>(candidate, head) pairs nh0 … nh1 − 1.</summary>
    private static unsafe void Range256(in Args8 a, int nh0, int nh1)
    {
        if (nh0 >= nh1) return;
        int s = a.S, h = a.H, d = h * 8, p = a.P, m = a.M, pp = Pad(p), mp = Pad(m), sp = Pad(s), cached = p + m;
        var sc = _scratch8Avx2;
        if (sc is null || sc.Sp < sp || sc.RowLength < pp + mp + sp)
            _scratch8Avx2 = sc = new Head8Scratch(Math.Max(sp, sc?.Sp ?? 0), Math.Max(pp + mp + sp, sc?.RowLength ?? 0));
        var rope = a.Rope;
        var negInf = Vector256.Create(float.NegativeInfinity);
        var lane = Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);
        fixed (float* pq = sc.Q, pkt = sc.Kt, pvt = sc.Vt, prow = sc.Row, pqkv = a.Qkv, pout = a.Output,
               ppk = a.PrefixKt, ppv = a.PrefixVt, pmk = a.MiddleKt, pmv = a.MiddleVt,
               pcos = rope is null ? null : rope.Cos, psin = rope is null ? null : rope.Sin)
        {
            for (var nh = nh0; nh < nh1; nh++)
            {
                int c = nh / h, head = nh % h;
                Own8(a, c, head, pq, pkt, pvt, sp, pcos, psin);
                var pOff = p > 0 ? ((a.PrefixOf?[c] ?? 0) * h + head) * 8 * pp : 0;
                float* kp = ppk + pOff, vp = ppv + pOff;
                var mOff = m > 0 ? (a.GroupOf![c] * h + head) * 8 * mp : 0;
                float* km = pmk + mOff, vm = pmv + mOff;
                for (var i = 0; i < s; i++)
                {
                    var qi = pq + i * 8;
                    Vector256<float> q0 = Vector256.Create(qi[0]), q1 = Vector256.Create(qi[1]), q2 = Vector256.Create(qi[2]), q3 = Vector256.Create(qi[3]);
                    Vector256<float> q4 = Vector256.Create(qi[4]), q5 = Vector256.Create(qi[5]), q6 = Vector256.Create(qi[6]), q7 = Vector256.Create(qi[7]);
                    // Scores of the three segments into one row [prefix Pp | middle Mp | own ⌈i+1⌉₈], −∞ past each length.
                    var vmax = negInf;
                    for (var seg = 0; seg < 3; seg++)
                    {
                        float* kt = seg == 0 ? kp : seg == 1 ? km : pkt;
                        int ld = seg == 0 ? pp : seg == 1 ? mp : sp, len = seg == 0 ? p : seg == 1 ? m : i + 1;
                        int blocks = (len + 7) / 8 * 8, off = seg == 0 ? 0 : seg == 1 ? pp : pp + mp;
                        for (var j = 0; j < blocks; j += 8)
                        {
                            var kj = kt + j;
                            var sj = q0 * Vector256.Load(kj);
                            sj = Vector256.FusedMultiplyAdd(q1, Vector256.Load(kj + ld), sj);
                            sj = Vector256.FusedMultiplyAdd(q2, Vector256.Load(kj + 2 * ld), sj);
                            sj = Vector256.FusedMultiplyAdd(q3, Vector256.Load(kj + 3 * ld), sj);
                            sj = Vector256.FusedMultiplyAdd(q4, Vector256.Load(kj + 4 * ld), sj);
                            sj = Vector256.FusedMultiplyAdd(q5, Vector256.Load(kj + 5 * ld), sj);
                            sj = Vector256.FusedMultiplyAdd(q6, Vector256.Load(kj + 6 * ld), sj);
                            sj = Vector256.FusedMultiplyAdd(q7, Vector256.Load(kj + 7 * ld), sj);
                            if (j + 8 > len) sj = Vector256.ConditionalSelect(Vector256.LessThan(lane, Vector256.Create((float)(len - j))), sj, negInf);
                            sj.Store(prow + off + j);
                            vmax = Vector256.Max(vmax, sj);
                        }
                    }
                    // One pass: e = exp(s − max), l = Σ e, o = Σ e·v / l.
                    var mx = Vector256.Create(HorizontalMax256(vmax));
                    var vsum = Vector256<float>.Zero;
                    Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                    for (var seg = 0; seg < 3; seg++)
                    {
                        float* vt = seg == 0 ? vp : seg == 1 ? vm : pvt;
                        int ld = seg == 0 ? pp : seg == 1 ? mp : sp, len = seg == 0 ? p : seg == 1 ? m : i + 1;
                        int blocks = (len + 7) / 8 * 8, off = seg == 0 ? 0 : seg == 1 ? pp : pp + mp;
                        for (var j = 0; j < blocks; j += 8)
                        {
                            var e = FastMath.Exp(Vector256.Load(prow + off + j) - mx);
                            vsum += e;
                            var vj = vt + j;
                            a0 = Vector256.FusedMultiplyAdd(e, Vector256.Load(vj), a0);
                            a1 = Vector256.FusedMultiplyAdd(e, Vector256.Load(vj + ld), a1);
                            a2 = Vector256.FusedMultiplyAdd(e, Vector256.Load(vj + 2 * ld), a2);
                            a3 = Vector256.FusedMultiplyAdd(e, Vector256.Load(vj + 3 * ld), a3);
                            a4 = Vector256.FusedMultiplyAdd(e, Vector256.Load(vj + 4 * ld), a4);
                            a5 = Vector256.FusedMultiplyAdd(e, Vector256.Load(vj + 5 * ld), a5);
                            a6 = Vector256.FusedMultiplyAdd(e, Vector256.Load(vj + 6 * ld), a6);
                            a7 = Vector256.FusedMultiplyAdd(e, Vector256.Load(vj + 7 * ld), a7);
                        }
                    }
                    var o = Vector256.Create(Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3),
                        Vector256.Sum(a4), Vector256.Sum(a5), Vector256.Sum(a6), Vector256.Sum(a7)) * Vector256.Create(1f / Vector256.Sum(vsum));
                    o.Store(pout + (long)(c * s + i) * d + head * 8);
                }
            }
        }
    }

    private static float HorizontalMax256(Vector256<float> v)
    {
        var m = Vector128.Max(v.GetLower(), v.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }
}
