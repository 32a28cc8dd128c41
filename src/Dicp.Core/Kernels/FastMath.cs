using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>
/// A vectorised single-precision exp, ≈ 15× faster here than <c>Vector512.Exp</c> (which computes in double) and
/// within 2 ulp of <c>MathF.Exp</c> over the range that matters.
/// </summary>
/// <remarks>
/// exp(x) = 2ⁿ·exp(r), n = round(x·log₂e), r = x − n·ln2 (Cody–Waite: ln2 split into a high part exact in float and a
/// low part), |r| ≤ ln2/2, exp(r) by its degree-7 Taylor polynomial (truncation &lt; 2e-9 relative). Inputs below
/// −87.3 give 0 (−∞ included), above 88.37 give +∞ (the largest finite results are lost); NaN stays NaN.
/// </remarks>
internal static class FastMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float Lo = -87.3f, Hi = 88.37f;

    /// <summary>exp of each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var xc = Vector512.Min(Vector512.Max(x, Vector512.Create(Lo)), Vector512.Create(Hi));
        var n = Vector512.Round(xc * Log2E);
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), xc);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.Create(1f / 5040f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        var y = p * scale;
        y = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(Lo)), Vector512<float>.Zero, y);
        y = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(Hi)), Vector512.Create(float.PositiveInfinity), y);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), y, x); // NaN passes through
    }

    /// <summary>exp of each lane (256-bit form).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var xc = Vector256.Min(Vector256.Max(x, Vector256.Create(Lo)), Vector256.Create(Hi));
        var p = Reduced(xc, out var n);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        var y = p * scale;
        y = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(Lo)), Vector256<float>.Zero, y);
        y = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(Hi)), Vector256.Create(float.PositiveInfinity), y);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), y, x);
    }

    /// <summary>
    /// exp of each lane for inputs that never exceed 88.37 (e.g. x = s − max s ≤ 0): the same bits as
    /// <see cref="Exp(Vector256{float})"/> for every such input (−∞ included), with the clamp to the top of the range and
    /// the +∞ and NaN cases left out and the lower clamp and the rounding to int done by the plain instructions
    /// (<see cref="Vector256.Max{T}"/> and <see cref="Vector256.ConvertToInt32(Vector256{float})"/> add fix-ups for NaN
    /// and −0 on AVX2): about 19 instructions instead of 43. A NaN input gives NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpNonPositive(Vector256<float> x)
    {
        var xc = Vector256.MaxNative(Vector256.Create(Lo), x); // NaN (the second operand) passes through
        var p = Reduced(xc, out var n);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle(); // n is a whole number in [−126, 128]
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(Lo)), Vector256<float>.Zero, p * scale);
    }

    /// <summary>The shared core of the 256-bit exps: n = round(x·log₂e) and exp(r) for r = x − n·ln2 (Cody–Waite), by the
    /// degree-7 polynomial; the caller scales by 2ⁿ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Reduced(Vector256<float> xc, out Vector256<float> n)
    {
        n = Vector256.Round(xc * Log2E);
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), xc);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.Create(1f / 5040f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 720f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 120f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 24f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 6f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        return Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
    }
}
