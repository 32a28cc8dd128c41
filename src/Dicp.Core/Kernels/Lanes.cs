using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>
/// The vector operations that kernels written once for both widths use (TensorPrimitives style): <typeparamref name="TV"/>
/// holds <see cref="Count"/> floats, <typeparamref name="TU"/> as many uint lanes (dropout counters). The implementations,
/// <see cref="Lanes512"/> and <see cref="Lanes256"/>, are structs, so the JIT compiles a kernel once per width with every
/// call inlined, as if it had been written with that width's vectors.
/// </summary>
internal interface ILanes<TV, TU> where TV : unmanaged where TU : unmanaged
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    /// <summary>All lanes 0.</summary>
    static abstract TV Zero { get; }

    /// <summary>All lanes 1.</summary>
    static abstract TV One { get; }

    /// <summary>All bits of all lanes set.</summary>
    static abstract TV AllBitsSet { get; }

    /// <summary>The uint lanes 0, 1, …, Count − 1.</summary>
    static abstract TU Indices { get; }

    /// <summary>x in every lane.</summary>
    static abstract TV Splat(float x);

    /// <summary>x in every uint lane.</summary>
    static abstract TU Splat(uint x);

    /// <summary>The vector at element <paramref name="i"/> from <paramref name="p"/> (no bounds check).</summary>
    static abstract TV Load(ref float p, nuint i);

    /// <summary>Stores <paramref name="v"/> at element <paramref name="i"/> from <paramref name="p"/> (no bounds check).</summary>
    static abstract void Store(TV v, ref float p, nuint i);

    /// <summary>a + b.</summary>
    static abstract TV Add(TV a, TV b);

    /// <summary>a − b.</summary>
    static abstract TV Subtract(TV a, TV b);

    /// <summary>a·b.</summary>
    static abstract TV Multiply(TV a, TV b);

    /// <summary>a / b.</summary>
    static abstract TV Divide(TV a, TV b);

    /// <summary>−a.</summary>
    static abstract TV Negate(TV a);

    /// <summary>The bitwise and of a and b.</summary>
    static abstract TV And(TV a, TV b);

    /// <summary>a·b + c, rounded once.</summary>
    static abstract TV FusedMultiplyAdd(TV a, TV b, TV c);

    /// <summary>The sum of the lanes, in the order of the width's <c>Sum</c> (halves summed separately, then added).</summary>
    static abstract float Sum(TV v);

    /// <summary><see cref="FastMath.Exp(Vector512{float})"/> of each lane.</summary>
    static abstract TV Exp(TV x);

    /// <summary>The <see cref="DropoutMask"/> keep mask of counters start + lane (k0, k1: the key's halves; th: the threshold).</summary>
    static abstract TV Keep(uint start, TU indices, TU k0, TU k1, TU th);
}

/// <summary><see cref="ILanes{TV, TU}"/> in <see cref="Vector512{T}"/> (in software where AVX-512 is missing).</summary>
internal readonly struct Lanes512 : ILanes<Vector512<float>, Vector512<uint>>
{
    public static int Count => 16;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    public static Vector512<float> One => Vector512<float>.One;
    public static Vector512<float> AllBitsSet => Vector512<float>.AllBitsSet;
    public static Vector512<uint> Indices => Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<uint> Splat(uint x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref float p, nuint i) => Vector512.LoadUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Negate(Vector512<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> FusedMultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exp(Vector512<float> x) => FastMath.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Keep(uint start, Vector512<uint> indices, Vector512<uint> k0, Vector512<uint> k1, Vector512<uint> th) =>
        DropoutMask.Keep(Vector512.Create(start) + indices, k0, k1, th);
}

/// <summary><see cref="ILanes{TV, TU}"/> in <see cref="Vector256{T}"/> (AVX2 + FMA hosts).</summary>
internal readonly struct Lanes256 : ILanes<Vector256<float>, Vector256<uint>>
{
    public static int Count => 8;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    public static Vector256<float> One => Vector256<float>.One;
    public static Vector256<float> AllBitsSet => Vector256<float>.AllBitsSet;
    public static Vector256<uint> Indices => Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<uint> Splat(uint x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(ref float p, nuint i) => Vector256.LoadUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Negate(Vector256<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> FusedMultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector256.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Exp(Vector256<float> x) => FastMath.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Keep(uint start, Vector256<uint> indices, Vector256<uint> k0, Vector256<uint> k1, Vector256<uint> th) =>
        DropoutMask.Keep(Vector256.Create(start) + indices, k0, k1, th);
}
