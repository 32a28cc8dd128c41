using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Dicp.Tensors;

namespace Dicp.Kernels;

/// <summary>
/// The head-size-8 path of <see cref="CachedAttention"/> (the reference grid-world and Meta-World models: d 32, 4 heads):
/// whole <see cref="Vector512{T}"/> blocks of 16 keys, <see cref="FastMath.Exp(Vector512{float})"/>, and <see cref="ParallelLoop"/>.
/// </summary>
/// <remarks>
/// Keys and values of every segment are read as (8, Lp) with Lp = L rounded up to 16: the prefix (Gp, H, 8, Pp) and the
/// middle (G, H, 8, Mp) are the caller's arrays when P (M) is already a multiple of 16, else padded copies made once per
/// call (zeros past L); the new tokens' rotated keys and values go to a per-thread (8, Sp) scratch. A row i of candidate
/// n and one head: q (rotated, pre-scaled by 1/√8) against each segment's blocks (8 FMAs per 16 keys, lanes past the
/// segment's length or past i set to −∞), then one pass e = exp(s − max), l = Σ e, o ∝ Σ e·v with one accumulator per
/// head dimension, o = (Σ e·v)/l. Same sums as the generic path but in another order and with another exp: outputs agree
/// within 1e-5 (tested), not bit for bit; the written keys and values are identical. The split over (candidate, head)
/// pairs is fixed; results do not depend on the thread count.
/// </remarks>
internal static partial class CachedAttention
{
    private const int W = 16;

    [ThreadStatic] private static Head8Scratch? _scratch8;

    /// <summary>Whether <see cref="Forward"/> takes the head-size-8 path: hs = 8 and AVX-512 (as <c>CausalAttention.UsesHead8</c>).</summary>
    public static bool UsesHead8(int hs) => hs == 8 && Vector512.IsHardwareAccelerated && Avx.IsSupported;

    /// <summary>The head-size-8 kernel (same arguments and layouts as <see cref="Forward"/>, hs = 8); needs <see cref="UsesHead8"/>.</summary>
    public static void Forward8(float[] qkv, int n, int s, int h,
        float[]? prefixKt, float[]? prefixVt, int p, int[]? prefixOf,
        float[]? middleKt, float[]? middleVt, int m, int[]? groupOf,
        RotaryCache? rope, float[] output, float[]? keysOut, float[]? valuesOut)
        => Run8(qkv, n, s, h, prefixKt, prefixVt, p, prefixOf, middleKt, middleVt, m, groupOf, rope, output, keysOut, valuesOut, wide: true);

    /// <summary>The head-size-8 kernels' common part: pad the cached segments to whole 16-key blocks, split the (candidate, head) pairs, run the 512-bit (<paramref name="wide"/>) or 256-bit body.</summary>
    private static void Run8(float[] qkv, int n, int s, int h,
        float[]? prefixKt, float[]? prefixVt, int p, int[]? prefixOf,
        float[]? middleKt, float[]? middleVt, int m, int[]? groupOf,
        RotaryCache? rope, float[] output, float[]? keysOut, float[]? valuesOut, bool wide)
    {
        int pp = Pad(p), mp = Pad(m);
        int groups = 0, prefixRows = 1;
        if (m > 0) for (var c = 0; c < n; c++) groups = Math.Max(groups, groupOf![c] + 1);
        if (p > 0 && prefixOf is not null) for (var c = 0; c < n; c++) prefixRows = Math.Max(prefixRows, prefixOf[c] + 1);
        var pk = Padded(prefixKt, prefixRows * h * 8, p, pp);
        var pv = Padded(prefixVt, prefixRows * h * 8, p, pp);
        var mk = Padded(middleKt, groups * h * 8, m, mp);
        var mv = Padded(middleVt, groups * h * 8, m, mp);
        try
        {
            var a = new Args8(qkv, n, s, h, pk, pv, p, prefixOf, mk, mv, m, groupOf, rope, output, keysOut, valuesOut);
            var nh = n * h;
            var work = (long)nh * s * (pp + mp + s) * 8;
            var chunks = Math.Min(nh, Environment.ProcessorCount * 8);
            if (work < 1 << 16 || chunks <= 1) { if (wide) Range(a, 0, nh); else Range256(a, 0, nh); }
            else if (wide) ParallelLoop.For(0, chunks, new Chunks8(a, (nh + chunks - 1) / chunks));
            else ParallelLoop.For(0, chunks, new Chunks256(a, (nh + chunks - 1) / chunks));
        }
        finally
        {
            Return(pk, prefixKt); Return(pv, prefixVt); Return(mk, middleKt); Return(mv, middleVt);
        }
    }

    private static int Pad(int length) => (length + W - 1) / W * W;

    /// <summary>rows × L (stride L) as rows × Lp (stride Lp, zeros past L): the array itself when L = Lp, else a rented copy.</summary>
    private static float[]? Padded(float[]? src, int rows, int len, int lenP)
    {
        if (len == 0 || src is null) return null;
        if (len == lenP) return src;
        var dst = ArrayPool<float>.Shared.Rent(rows * lenP);
        for (var r = 0; r < rows; r++)
        {
            src.AsSpan(r * len, len).CopyTo(dst.AsSpan(r * lenP));
            dst.AsSpan(r * lenP + len, lenP - len).Clear();
        }
        return dst;
    }

    private static void Return(float[]? padded, float[]? src)
    {
        if (padded is not null && !ReferenceEquals(padded, src)) ArrayPool<float>.Shared.Return(padded);
    }

    /// <summary>The arguments of one call, the cached segments already padded to whole blocks.</summary>
    private readonly record struct Args8(float[] Qkv, int N, int S, int H, float[]? PrefixKt, float[]? PrefixVt, int P, int[]? PrefixOf,
        float[]? MiddleKt, float[]? MiddleVt, int M, int[]? GroupOf, RotaryCache? Rope, float[] Output, float[]? KeysOut, float[]? ValuesOut);

    /// <summary>Chunk c of the (candidate, head) pairs.</summary>
    private readonly struct Chunks8(Args8 a, int per) : IParallelBody
    {
        public void Run(int c) => Range(a, c * per, Math.Min(a.N * a.H, (c + 1) * per));
    }

    /// <summary>(candidate, head) pairs nh0 … nh1 − 1.</summary>
    private static unsafe void Range(in Args8 a, int nh0, int nh1)
    {
        if (nh0 >= nh1) return;
        int s = a.S, h = a.H, d = h * 8, p = a.P, m = a.M, pp = Pad(p), mp = Pad(m), sp = Pad(s), cached = p + m;
        var sc = _scratch8;
        if (sc is null || sc.Sp < sp || sc.RowLength < pp + mp + sp)
            _scratch8 = sc = new Head8Scratch(Math.Max(sp, sc?.Sp ?? 0), Math.Max(pp + mp + sp, sc?.RowLength ?? 0));
        var rope = a.Rope;
        var negInf = Vector512.Create(float.NegativeInfinity);
        var lane = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
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
                    var own = Pad(i + 1);
                    // Scores of the three segments into one row [prefix Pp | middle Mp | own ⌈i+1⌉₁₆], −∞ past each length.
                    var vmax = negInf;
                    for (var seg = 0; seg < 3; seg++)
                    {
                        float* kt = seg == 0 ? kp : seg == 1 ? km : pkt;
                        int ld = seg == 0 ? pp : seg == 1 ? mp : sp, len = seg == 0 ? p : seg == 1 ? m : i + 1;
                        int lenP = seg == 2 ? own : ld, off = seg == 0 ? 0 : seg == 1 ? pp : pp + mp;
                        for (var j = 0; j < lenP; j += W)
                        {
                            var sj = CausalAttention.Scores8(qi, kt + j, ld);
                            if (j + W > len) sj = Vector512.ConditionalSelect(Vector512.LessThan(lane, Vector512.Create((float)(len - j))), sj, negInf);
                            sj.Store(prow + off + j);
                            vmax = Vector512.Max(vmax, sj);
                        }
                    }
                    // One pass: e = exp(s − max), l = Σ e, o = Σ e·v / l.
                    var mx = Vector512.Create(CausalAttention.HorizontalMax(vmax));
                    var vsum = Vector512<float>.Zero;
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                    for (var seg = 0; seg < 3; seg++)
                    {
                        float* vt = seg == 0 ? vp : seg == 1 ? vm : pvt;
                        int ld = seg == 0 ? pp : seg == 1 ? mp : sp, lenP = seg == 2 ? own : ld, off = seg == 0 ? 0 : seg == 1 ? pp : pp + mp;
                        for (var j = 0; j < lenP; j += W)
                        {
                            var e = FastMath.Exp(Vector512.Load(prow + off + j) - mx);
                            vsum += e;
                            var vj = vt + j;
                            a0 = Vector512.FusedMultiplyAdd(e, Vector512.Load(vj), a0);
                            a1 = Vector512.FusedMultiplyAdd(e, Vector512.Load(vj + ld), a1);
                            a2 = Vector512.FusedMultiplyAdd(e, Vector512.Load(vj + 2 * ld), a2);
                            a3 = Vector512.FusedMultiplyAdd(e, Vector512.Load(vj + 3 * ld), a3);
                            a4 = Vector512.FusedMultiplyAdd(e, Vector512.Load(vj + 4 * ld), a4);
                            a5 = Vector512.FusedMultiplyAdd(e, Vector512.Load(vj + 5 * ld), a5);
                            a6 = Vector512.FusedMultiplyAdd(e, Vector512.Load(vj + 6 * ld), a6);
                            a7 = Vector512.FusedMultiplyAdd(e, Vector512.Load(vj + 7 * ld), a7);
                        }
                    }
                    var o = CausalAttention.Reduce8(a0, a1, a2, a3, a4, a5, a6, a7) * Vector256.Create(1f / Vector512.Sum(vsum));
                    o.Store(pout + (long)(c * s + i) * d + head * 8);
                }
            }
        }
    }

    /// <summary>
    /// Candidate c, head <paramref name="head"/>: its new tokens' q (S, 8) rotated and pre-scaled by 1/√8 into
    /// <paramref name="pq"/>, k (rotated) and v transposed (8, Sp) into <paramref name="pkt"/>/<paramref name="pvt"/>,
    /// zero past S, and written to the fill arrays when given (shared by the 512- and 256-bit paths).
    /// </summary>
    private static unsafe void Own8(in Args8 a, int c, int head, float* pq, float* pkt, float* pvt, int sp, float* pcos, float* psin)
    {
        int s = a.S, h = a.H, d = h * 8, cached = a.P + a.M;
        var sign = Vector256.Create(-1f, -1f, -1f, -1f, 1f, 1f, 1f, 1f);
        var qScale = Vector256.Create(1f / MathF.Sqrt(8f));
        fixed (float* pqkv = a.Qkv)
        {
            // q (S, 8) rotated and pre-scaled; k, v transposed (8, Sp), zero past S.
            for (var t = 0; t < s; t++)
            {
                var src = pqkv + (long)(c * s + t) * 3 * d + head * 24;
                var q = Vector256.Load(src);
                var k = Vector256.Load(src + 8);
                if (pcos is not null)
                {
                    var cs = Vector256.Load(pcos + (cached + t) * 8);
                    var sn = Vector256.Load(psin + (cached + t) * 8) * sign;
                    q = q * cs + Avx.Permute2x128(q, q, 1) * sn;
                    k = k * cs + Avx.Permute2x128(k, k, 1) * sn;
                }
                (q * qScale).Store(pq + t * 8);
                for (var e = 0; e < 8; e++)
                {
                    pkt[e * sp + t] = k.GetElement(e);
                    pvt[e * sp + t] = src[16 + e];
                }
            }
            for (var e = 0; e < 8; e++)
                for (var t = s; t < sp; t++) pkt[e * sp + t] = pvt[e * sp + t] = 0f;
            if (a.KeysOut is not null)
                for (var e = 0; e < 8; e++)
                {
                    new ReadOnlySpan<float>(pkt + e * sp, s).CopyTo(a.KeysOut.AsSpan(((c * h + head) * 8 + e) * s, s));
                    new ReadOnlySpan<float>(pvt + e * sp, s).CopyTo(a.ValuesOut!.AsSpan(((c * h + head) * 8 + e) * s, s));
                }
        }
    }

    /// <summary>Per-thread scratch: q (Sp, 8), the new tokens' Kᵀ and Vᵀ (8, Sp), one score row.</summary>
    private sealed class Head8Scratch(int sp, int rowLength)
    {
        public readonly int Sp = sp, RowLength = rowLength;
        public readonly float[] Q = new float[sp * 8], Kt = new float[8 * sp], Vt = new float[8 * sp];
        public readonly float[] Row = new float[rowLength];
    }
}
