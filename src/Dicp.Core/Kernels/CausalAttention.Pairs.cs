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

    /// <summary><see cref="HorizontalMax(Vector512{float})"/> of the vector with halves <paramref name="lo"/>, <paramref name="hi"/>.</summary>
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
}
