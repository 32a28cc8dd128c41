using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>
/// Counter-based dropout masks: element i of a mask with key k is kept iff <c>hash(k, i) ≥ p·2³²</c>, so a mask is
/// never stored — the backward pass regenerates it from the key. The hash is a MurmurHash3-style finaliser with the two
/// halves of k mixed in before each multiply (three 32-bit multiplies per element), vectorised over 16 (or 8) lanes.
/// </summary>
internal static class DropoutMask
{
    /// <summary>The threshold for drop probability <paramref name="p"/>.</summary>
    public static uint Threshold(float p) => p >= 1f ? uint.MaxValue : (uint)Math.Min(uint.MaxValue, (double)p * 4294967296.0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ulong key, uint i)
    {
        var h = (i ^ (uint)key) * 0x9E3779B1u;
        h ^= h >> 16;
        h = (h ^ (uint)(key >> 32)) * 0x85EBCA6Bu;
        h ^= h >> 13;
        return h * 0xC2B2AE35u;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Hash(Vector512<uint> idx, Vector512<uint> k0, Vector512<uint> k1)
    {
        var h = (idx ^ k0) * 0x9E3779B1u;
        h ^= Vector512.ShiftRightLogical(h, 16);
        h = (h ^ k1) * 0x85EBCA6Bu;
        h ^= Vector512.ShiftRightLogical(h, 13);
        return h * 0xC2B2AE35u;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Hash(Vector256<uint> idx, Vector256<uint> k0, Vector256<uint> k1)
    {
        var h = (idx ^ k0) * 0x9E3779B1u;
        h ^= Vector256.ShiftRightLogical(h, 16);
        h = (h ^ k1) * 0x85EBCA6Bu;
        h ^= Vector256.ShiftRightLogical(h, 13);
        return h * 0xC2B2AE35u;
    }

    /// <summary>All bits set in the lanes whose counters <paramref name="idx"/> are kept (k0, k1: the key's halves broadcast; th: <see cref="Threshold"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Keep(Vector512<uint> idx, Vector512<uint> k0, Vector512<uint> k1, Vector512<uint> th) =>
        Vector512.GreaterThanOrEqual(Hash(idx, k0, k1), th).AsSingle();

    /// <summary>The 256-bit form of <see cref="Keep(Vector512{uint}, Vector512{uint}, Vector512{uint}, Vector512{uint})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Keep(Vector256<uint> idx, Vector256<uint> k0, Vector256<uint> k1, Vector256<uint> th) =>
        Vector256.GreaterThanOrEqual(Hash(idx, k0, k1), th).AsSingle();

    /// <summary>dst[i] = src[i]·scale where element (start + i) of the mask is kept, else 0. Also used for backward.</summary>
    public static void Apply(ulong key, uint start, float threshold01, float scale, ReadOnlySpan<float> src, Span<float> dst, bool accumulate)
    {
        var th = Threshold(threshold01);
        var n = src.Length;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var k0 = Vector512.Create((uint)key);
            var k1 = Vector512.Create((uint)(key >> 32));
            var lane = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            var vth = Vector512.Create(th);
            var vs = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16)
            {
                var idx = Vector512.Create(start + (uint)i) + lane;
                var h = Hash(idx, k0, k1);
                var keep = Vector512.GreaterThanOrEqual(h, vth).AsSingle();
                var v = Vector512.ConditionalSelect(keep, Vector512.LoadUnsafe(ref Unsafe.AsRef(in src[i])) * vs, Vector512<float>.Zero);
                if (accumulate) v += Vector512.LoadUnsafe(ref dst[i]);
                v.StoreUnsafe(ref dst[i]);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var k0 = Vector256.Create((uint)key);
            var k1 = Vector256.Create((uint)(key >> 32));
            var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
            var vth = Vector256.Create(th);
            var vs = Vector256.Create(scale);
            for (; i + 8 <= n; i += 8)
            {
                var idx = Vector256.Create(start + (uint)i) + lane;
                var h = Hash(idx, k0, k1);
                var keep = Vector256.GreaterThanOrEqual(h, vth).AsSingle();
                var v = Vector256.ConditionalSelect(keep, Vector256.LoadUnsafe(ref Unsafe.AsRef(in src[i])) * vs, Vector256<float>.Zero);
                if (accumulate) v += Vector256.LoadUnsafe(ref dst[i]);
                v.StoreUnsafe(ref dst[i]);
            }
        }
        for (; i < n; i++)
        {
            var v = Hash(key, start + (uint)i) >= th ? src[i] * scale : 0f;
            dst[i] = accumulate ? dst[i] + v : v;
        }
    }
}
