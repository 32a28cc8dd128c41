using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>A unary element-wise operator in scalar, 256-bit and 512-bit form.</summary>
internal interface IUnaryOperator
{
    static abstract float Invoke(float x);
    static abstract Vector256<float> Invoke(Vector256<float> x);
    static abstract Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>A binary element-wise operator in scalar, 256-bit and 512-bit form.</summary>
internal interface IBinaryOperator
{
    static abstract float Invoke(float x, float y);
    static abstract Vector256<float> Invoke(Vector256<float> x, Vector256<float> y);
    static abstract Vector512<float> Invoke(Vector512<float> x, Vector512<float> y);
}

/// <summary>The shared loops of element-wise kernels: 512-bit body, 256-bit body, scalar tail.</summary>
internal static class Elementwise
{
    /// <summary>y[i] = op(x[i]).</summary>
    public static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IUnaryOperator
    {
        if (x.Length != y.Length) throw new ArgumentException("Length mismatch in element-wise kernel.");
        ref var px = ref MemoryMarshal.GetReference(x);
        ref var py = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                TOp.Invoke(Vector512.LoadUnsafe(ref px, i)).StoreUnsafe(ref py, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                TOp.Invoke(Vector256.LoadUnsafe(ref px, i)).StoreUnsafe(ref py, i);
        for (; i < n; i++) Unsafe.Add(ref py, i) = TOp.Invoke(Unsafe.Add(ref px, i));
    }

    /// <summary>z[i] = op(x[i], y[i]).</summary>
    public static void Map<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z) where TOp : struct, IBinaryOperator
    {
        if (x.Length != y.Length || x.Length != z.Length) throw new ArgumentException("Length mismatch in element-wise kernel.");
        ref var px = ref MemoryMarshal.GetReference(x);
        ref var py = ref MemoryMarshal.GetReference(y);
        ref var pz = ref MemoryMarshal.GetReference(z);
        nuint n = (nuint)x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                TOp.Invoke(Vector512.LoadUnsafe(ref px, i), Vector512.LoadUnsafe(ref py, i)).StoreUnsafe(ref pz, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                TOp.Invoke(Vector256.LoadUnsafe(ref px, i), Vector256.LoadUnsafe(ref py, i)).StoreUnsafe(ref pz, i);
        for (; i < n; i++) Unsafe.Add(ref pz, i) = TOp.Invoke(Unsafe.Add(ref px, i), Unsafe.Add(ref py, i));
    }

    /// <summary>acc[i] += op(x[i], y[i]) — the shape of most backward passes.</summary>
    public static void MapAccumulate<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> acc) where TOp : struct, IBinaryOperator
    {
        if (x.Length != y.Length || x.Length != acc.Length) throw new ArgumentException("Length mismatch in element-wise kernel.");
        ref var px = ref MemoryMarshal.GetReference(x);
        ref var py = ref MemoryMarshal.GetReference(y);
        ref var pa = ref MemoryMarshal.GetReference(acc);
        nuint n = (nuint)x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                (Vector512.LoadUnsafe(ref pa, i) + TOp.Invoke(Vector512.LoadUnsafe(ref px, i), Vector512.LoadUnsafe(ref py, i))).StoreUnsafe(ref pa, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                (Vector256.LoadUnsafe(ref pa, i) + TOp.Invoke(Vector256.LoadUnsafe(ref px, i), Vector256.LoadUnsafe(ref py, i))).StoreUnsafe(ref pa, i);
        for (; i < n; i++) Unsafe.Add(ref pa, i) += TOp.Invoke(Unsafe.Add(ref px, i), Unsafe.Add(ref py, i));
    }
}

/// <summary>Fused backward of swiglu(a, b) = silu(a)·b: σ(a) is computed once per element for both gradients.</summary>
/// <remarks>
/// One vector body for both widths (<see cref="ILanes{TV, TU}"/>), with <see cref="FastMath.Exp(Vector512{float})"/>: the
/// 256-bit body computes lane for lane what the 512-bit one does. It runs on hosts without AVX-512 at numerics level 2
/// (<see cref="KernelOptions.Avx2Fused"/>); at level 1 they keep the scalar loop (<see cref="MathF.Exp"/>).
/// </remarks>
internal static class SwiGluBackward
{
    /// <summary>ga (+)= gy·b·σ(a)(1 + a(1 − σ(a))) and gb (+)= gy·a·σ(a); either may be empty (not needed). Without
    /// <paramref name="accA"/>/<paramref name="accB"/> the result overwrites (a fresh, uncleared gradient).</summary>
    public static void Run(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> gy, Span<float> ga, Span<float> gb, bool accA = true, bool accB = true) =>
        Run(a, b, gy, ga, gb, accA, accB, Vector512.IsHardwareAccelerated ? 16 : KernelOptions.Avx2Fused ? 8 : 0);

    /// <summary><see cref="Run(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, bool, bool)"/>
    /// with the vector body chosen: <paramref name="lanes"/> 16 (512-bit, in software without AVX-512), 8 (256-bit) or 0
    /// (scalar only).</summary>
    internal static void Run(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> gy, Span<float> ga, Span<float> gb, bool accA, bool accB, int lanes)
    {
        if (b.Length != a.Length || gy.Length != a.Length || (!ga.IsEmpty && ga.Length != a.Length) || (!gb.IsEmpty && gb.Length != a.Length))
            throw new ArgumentException("Length mismatch in the SwiGLU backward kernel.");
        ref var pa = ref MemoryMarshal.GetReference(a);
        ref var pb = ref MemoryMarshal.GetReference(b);
        ref var pg = ref MemoryMarshal.GetReference(gy);
        ref var qa = ref MemoryMarshal.GetReference(ga);
        ref var qb = ref MemoryMarshal.GetReference(gb);
        bool wantA = !ga.IsEmpty, wantB = !gb.IsEmpty;
        nuint n = (nuint)a.Length, i = lanes switch
        {
            16 => Body<Lanes512, Vector512<float>, Vector512<uint>>(ref pa, ref pb, ref pg, ref qa, ref qb, n, wantA, wantB, accA, accB),
            8 => Body<Lanes256, Vector256<float>, Vector256<uint>>(ref pa, ref pb, ref pg, ref qa, ref qb, n, wantA, wantB, accA, accB),
            _ => 0,
        };
        for (; i < n; i++)
        {
            float x = Unsafe.Add(ref pa, i), g = Unsafe.Add(ref pg, i), sg = 1f / (1f + MathF.Exp(-x));
            if (wantA) Unsafe.Add(ref qa, i) = (accA ? Unsafe.Add(ref qa, i) : 0f) + g * Unsafe.Add(ref pb, i) * sg * (1f + x * (1f - sg));
            if (wantB) Unsafe.Add(ref qb, i) = (accB ? Unsafe.Add(ref qb, i) : 0f) + g * x * sg;
        }
    }

    /// <summary>The whole vectors of the backward; returns the first element left for the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nuint Body<TW, TV, TU>(ref float pa, ref float pb, ref float pg, ref float qa, ref float qb, nuint n, bool wantA, bool wantB, bool accA, bool accB)
        where TW : struct, ILanes<TV, TU> where TV : unmanaged where TU : unmanaged
    {
        var keepA = accA ? TW.AllBitsSet : TW.Zero;
        var keepB = accB ? TW.AllBitsSet : TW.Zero;
        var one = TW.One;
        var step = (nuint)TW.Count;
        nuint i = 0;
        for (; i + step <= n; i += step)
        {
            var x = TW.Load(ref pa, i);
            var g = TW.Load(ref pg, i);
            var sg = TW.Divide(one, TW.Add(one, TW.Exp(TW.Negate(x))));
            // d/da silu(a) = σ(a)·(1 + a·(1 − σ(a)))
            if (wantA)
                TW.Store(TW.Add(TW.And(TW.Load(ref qa, i), keepA),
                    TW.Multiply(TW.Multiply(TW.Multiply(g, TW.Load(ref pb, i)), sg), TW.Add(one, TW.Multiply(x, TW.Subtract(one, sg))))), ref qa, i);
            if (wantB) TW.Store(TW.Add(TW.And(TW.Load(ref qb, i), keepB), TW.Multiply(TW.Multiply(g, x), sg)), ref qb, i);
        }
        return i;
    }
}

// ------------------------------------------------------------------ operators

/// <summary>silu(x) = x·σ(x).</summary>
internal readonly struct SiluOperator : IUnaryOperator
{
    public static float Invoke(float x) => x / (1f + MathF.Exp(-x));
    public static Vector256<float> Invoke(Vector256<float> x) => x / (Vector256<float>.One + FastMath.Exp(-x));
    public static Vector512<float> Invoke(Vector512<float> x) => x / (Vector512<float>.One + FastMath.Exp(-x));
}

/// <summary>(x, g) ↦ g · silu'(x), silu'(x) = σ(x)·(1 + x·(1 − σ(x))).</summary>
internal readonly struct SiluGradOperator : IBinaryOperator
{
    public static float Invoke(float x, float g)
    {
        var s = 1f / (1f + MathF.Exp(-x));
        return g * s * (1f + x * (1f - s));
    }
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> g)
    {
        var s = Vector256<float>.One / (Vector256<float>.One + FastMath.Exp(-x));
        return g * s * (Vector256<float>.One + x * (Vector256<float>.One - s));
    }
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> g)
    {
        var s = Vector512<float>.One / (Vector512<float>.One + FastMath.Exp(-x));
        return g * s * (Vector512<float>.One + x * (Vector512<float>.One - s));
    }
}

/// <summary>(y, g) ↦ g · (1 − y²), the tanh derivative written with the output y = tanh(x).</summary>
internal readonly struct TanhGradOperator : IBinaryOperator
{
    public static float Invoke(float y, float g) => g * (1f - y * y);
    public static Vector256<float> Invoke(Vector256<float> y, Vector256<float> g) => g * (Vector256<float>.One - y * y);
    public static Vector512<float> Invoke(Vector512<float> y, Vector512<float> g) => g * (Vector512<float>.One - y * y);
}

/// <summary>(x, g) ↦ g · [x &gt; 0].</summary>
internal readonly struct ReluGradOperator : IBinaryOperator
{
    public static float Invoke(float x, float g) => x > 0f ? g : 0f;
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> g) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), g, Vector256<float>.Zero);
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> g) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), g, Vector512<float>.Zero);
}

/// <summary>(a, b) ↦ a·b.</summary>
internal readonly struct MultiplyOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => x * y;
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x * y;
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x * y;
}

/// <summary>swiglu(a, b) = silu(a)·b.</summary>
internal readonly struct SwiGluOperator : IBinaryOperator
{
    public static float Invoke(float a, float b) => SiluOperator.Invoke(a) * b;
    public static Vector256<float> Invoke(Vector256<float> a, Vector256<float> b) => SiluOperator.Invoke(a) * b;
    public static Vector512<float> Invoke(Vector512<float> a, Vector512<float> b) => SiluOperator.Invoke(a) * b;
}
