using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>
/// The generic kernel's row helpers on hosts without AVX-512: each 16-lane <see cref="Vector512{T}"/> step as two
/// <see cref="Vector256{T}"/> halves, which is what the runtime's software <see cref="Vector512{T}"/> does there
/// (lane-wise operations on the halves; <c>Vector512.Sum(v)</c> = <c>Vector256.Sum(lower) + Vector256.Sum(upper)</c>),
/// without its per-operation calls. The results are the same bit for bit (tested against the portable helpers).
/// </summary>
internal readonly partial struct CausalAttention
{
    /// <summary>Whether the row helpers run as 256-bit pairs: no AVX-512, AVX2 present, portable kernels not asked for.</summary>
    private bool Pairs => !ForcePortable && !KernelOptions.Portable && !Vector512.IsHardwareAccelerated && Vector256.IsHardwareAccelerated;

    /// <summary>row[j] = (q · k_j)·scale for j &lt; n (n a multiple of 16).</summary>
    private static void ScoresPairs(ReadOnlySpan<float> q, float[] kt, int tp, int n, Span<float> row, float scale)
    {
        ref var r0 = ref row[0];
        for (var j = 0; j < n; j += W)
        {
            Vector256<float> lo = Vector256<float>.Zero, hi = Vector256<float>.Zero;
            for (var d = 0; d < q.Length; d++)
            {
                var qd = Vector256.Create(q[d]);
                ref var k = ref kt[d * tp + j];
                lo = Vector256.FusedMultiplyAdd(qd, Vector256.LoadUnsafe(ref k), lo);
                hi = Vector256.FusedMultiplyAdd(qd, Vector256.LoadUnsafe(ref k, 8), hi);
            }
            (lo * scale).StoreUnsafe(ref r0, (nuint)j);
            (hi * scale).StoreUnsafe(ref r0, (nuint)j + 8);
        }
    }

    /// <summary>Softmax over a row whose length is a multiple of 16 (masked lanes hold −∞).</summary>
    private static void SoftmaxPairs(Span<float> row)
    {
        ref var r = ref row[0];
        var lo = Vector256.Create(float.NegativeInfinity);
        var hi = lo;
        for (var j = 0; j < row.Length; j += W)
        {
            lo = Vector256.Max(lo, Vector256.LoadUnsafe(ref r, (nuint)j));
            hi = Vector256.Max(hi, Vector256.LoadUnsafe(ref r, (nuint)j + 8));
        }
        var max = Vector256.Create(HorizontalMax(lo, hi));
        Vector256<float> slo = Vector256<float>.Zero, shi = Vector256<float>.Zero;
        for (var j = 0; j < row.Length; j += W)
        {
            var elo = FastMath.Exp(Vector256.LoadUnsafe(ref r, (nuint)j) - max);
            var ehi = FastMath.Exp(Vector256.LoadUnsafe(ref r, (nuint)j + 8) - max);
            elo.StoreUnsafe(ref r, (nuint)j);
            ehi.StoreUnsafe(ref r, (nuint)j + 8);
            slo += elo;
            shi += ehi;
        }
        var inv = Vector256.Create(1f / (Vector256.Sum(slo) + Vector256.Sum(shi)));
        for (var j = 0; j < row.Length; j += 8) (Vector256.LoadUnsafe(ref r, (nuint)j) * inv).StoreUnsafe(ref r, (nuint)j);
    }

    /// <summary>The largest lane of the 16-lane vector with halves <paramref name="lo"/>, <paramref name="hi"/> (the 256-bit pairs and <see cref="HorizontalMax(Vector512{float})"/> both reduce through it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector256<float> lo, Vector256<float> hi)
    {
        var m = Vector256.Max(lo, hi);
        var m4 = Vector128.Max(m.GetLower(), m.GetUpper());
        var m2 = Vector128.Max(m4, Vector128.Shuffle(m4, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(m2[0], m2[1]);
    }

    /// <summary>dp ← p ⊙ (dp − dot) · scale.</summary>
    private static void SoftmaxBackwardPairs(ReadOnlySpan<float> p, Span<float> dp, float dot, float scale)
    {
        ref var rp = ref Unsafe.AsRef(in p[0]);
        ref var rd = ref dp[0];
        var vdot = Vector256.Create(dot);
        for (var j = 0; j < dp.Length; j += 8)
            (Vector256.LoadUnsafe(ref rp, (nuint)j) * (Vector256.LoadUnsafe(ref rd, (nuint)j) - vdot) * scale).StoreUnsafe(ref rd, (nuint)j);
    }

    /// <summary>Σ a ⊙ b over a length that is a multiple of 16, summed as <c>Vector512.Sum</c> of the 16-lane accumulator.</summary>
    private static float DotPairs(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        ref var ra = ref Unsafe.AsRef(in a[0]);
        ref var rb = ref Unsafe.AsRef(in b[0]);
        Vector256<float> lo = Vector256<float>.Zero, hi = Vector256<float>.Zero;
        for (var j = 0; j < a.Length; j += W)
        {
            lo = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)j), Vector256.LoadUnsafe(ref rb, (nuint)j), lo);
            hi = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)j + 8), Vector256.LoadUnsafe(ref rb, (nuint)j + 8), hi);
        }
        return Vector256.Sum(lo) + Vector256.Sum(hi);
    }

    /// <summary>y += α·x over a length that is a multiple of 8.</summary>
    private static void AxpyPairs(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        ref var rx = ref Unsafe.AsRef(in x[0]);
        ref var ry = ref y[0];
        var va = Vector256.Create(alpha);
        for (var j = 0; j < y.Length; j += 8)
            Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref rx, (nuint)j), Vector256.LoadUnsafe(ref ry, (nuint)j)).StoreUnsafe(ref ry, (nuint)j);
    }

    /// <summary>
    /// out[e] = Σ_j p[j]·v[e·tp + j] for e &lt; <paramref name="hs"/>, j &lt; n: four <see cref="DotPairs"/> at a time, each
    /// with its own accumulators and reduction (so each equals its <see cref="DotPairs"/>), one load of p per four.
    /// </summary>
    private static void DotsPairs(ReadOnlySpan<float> p, float[] v, int tp, int n, int hs, Span<float> output)
    {
        ref var rp = ref Unsafe.AsRef(in p[0]);
        var e = 0;
        for (; e + 4 <= hs; e += 4)
        {
            ref var v0 = ref v[e * tp];
            ref var v1 = ref v[(e + 1) * tp];
            ref var v2 = ref v[(e + 2) * tp];
            ref var v3 = ref v[(e + 3) * tp];
            Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            for (nuint j = 0; j < (nuint)n; j += W)
            {
                var plo = Vector256.LoadUnsafe(ref rp, j);
                var phi = Vector256.LoadUnsafe(ref rp, j + 8);
                a0 = Vector256.FusedMultiplyAdd(plo, Vector256.LoadUnsafe(ref v0, j), a0); b0 = Vector256.FusedMultiplyAdd(phi, Vector256.LoadUnsafe(ref v0, j + 8), b0);
                a1 = Vector256.FusedMultiplyAdd(plo, Vector256.LoadUnsafe(ref v1, j), a1); b1 = Vector256.FusedMultiplyAdd(phi, Vector256.LoadUnsafe(ref v1, j + 8), b1);
                a2 = Vector256.FusedMultiplyAdd(plo, Vector256.LoadUnsafe(ref v2, j), a2); b2 = Vector256.FusedMultiplyAdd(phi, Vector256.LoadUnsafe(ref v2, j + 8), b2);
                a3 = Vector256.FusedMultiplyAdd(plo, Vector256.LoadUnsafe(ref v3, j), a3); b3 = Vector256.FusedMultiplyAdd(phi, Vector256.LoadUnsafe(ref v3, j + 8), b3);
            }
            output[e] = Vector256.Sum(a0) + Vector256.Sum(b0);
            output[e + 1] = Vector256.Sum(a1) + Vector256.Sum(b1);
            output[e + 2] = Vector256.Sum(a2) + Vector256.Sum(b2);
            output[e + 3] = Vector256.Sum(a3) + Vector256.Sum(b3);
        }
        for (; e < hs; e++) output[e] = DotPairs(p, v.AsSpan(e * tp, n));
    }

    /// <summary>
    /// The first half of a backward row, 8 lanes at a time: dvᵀ[e, j] += g[e]·p̃[j] and dp[j] = Σ_e g[e]·vᵀ[e, j] with
    /// e in order from dp = 0 (the <see cref="AxpyPairs"/> calls of the portable loop, fused over e).
    /// </summary>
    private static void ValueGradPairs(ReadOnlySpan<float> g, ReadOnlySpan<float> pd, float[] vt, float[] dvt, int tp, Span<float> dp)
    {
        ref var rp = ref Unsafe.AsRef(in pd[0]);
        ref var rd = ref dp[0];
        ref var rv = ref vt[0];
        ref var rdv = ref dvt[0];
        for (nuint j = 0; j < (nuint)dp.Length; j += 8)
        {
            var pj = Vector256.LoadUnsafe(ref rp, j);
            var acc = Vector256<float>.Zero;
            nuint row = j;
            for (var e = 0; e < g.Length; e++, row += (nuint)tp)
            {
                var ge = Vector256.Create(g[e]);
                Vector256.FusedMultiplyAdd(ge, pj, Vector256.LoadUnsafe(ref rdv, row)).StoreUnsafe(ref rdv, row);
                acc = Vector256.FusedMultiplyAdd(ge, Vector256.LoadUnsafe(ref rv, row), acc);
            }
            acc.StoreUnsafe(ref rd, j);
        }
    }

    /// <summary>dkᵀ[e, j] += q[e]·ds[j] for all e, 8 lanes at a time (the portable loop's <see cref="AxpyPairs"/> calls, fused over e).</summary>
    private static void KeyGradPairs(ReadOnlySpan<float> q, ReadOnlySpan<float> ds, float[] dkt, int tp)
    {
        ref var rs = ref Unsafe.AsRef(in ds[0]);
        ref var rdk = ref dkt[0];
        for (nuint j = 0; j < (nuint)ds.Length; j += 8)
        {
            var sj = Vector256.LoadUnsafe(ref rs, j);
            nuint row = j;
            for (var e = 0; e < q.Length; e++, row += (nuint)tp)
                Vector256.FusedMultiplyAdd(Vector256.Create(q[e]), sj, Vector256.LoadUnsafe(ref rdk, row)).StoreUnsafe(ref rdk, row);
        }
    }
}
