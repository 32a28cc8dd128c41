using System.Numerics;
using System.Runtime.CompilerServices;

namespace Dicp.Tensors;

/// <summary>
/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64): the one source of randomness that
/// Dicp threads through initialisation, dropout, sampling and data order. Never shared across threads.
/// </summary>
/// <remarks>Its whole state is four 64-bit words (<see cref="GetState"/>/<see cref="SetState"/>), so checkpoints can
/// store and restore it exactly.</remarks>
public sealed class Generator
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spareNormal;

    /// <summary>Creates a generator from a seed.</summary>
    public Generator(long seed)
    {
        Seed = seed;
        var sm = (ulong)seed;
        _s0 = SplitMix64(ref sm); _s1 = SplitMix64(ref sm); _s2 = SplitMix64(ref sm); _s3 = SplitMix64(ref sm);
    }

    /// <summary>The seed this generator was created with.</summary>
    public long Seed { get; }

    /// <summary>A new generator whose stream is derived from this one's seed and <paramref name="stream"/> (this one is not advanced).</summary>
    public Generator Derive(long stream) => new(unchecked(Seed * 0x5851F42D4C957F2DL + stream * 0x14057B7EF767814FL + 0x2545F4914F6CDD1DL));

    /// <summary>The next 64 uniformly random bits.</summary>
    public ulong NextUInt64()
    {
        var result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public float Uniform(float low, float high) => low + (high - low) * NextFloat();

    /// <summary>Uniform integer in [0, <paramref name="n"/>) without modulo bias.</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"NextInt needs n > 0, got {n}.");
        var threshold = (0UL - (ulong)n) % (ulong)n; // Lemire's rejection
        while (true)
        {
            var r = NextUInt64();
            var m = Math.BigMul(r, (ulong)n, out var low);
            if (low >= threshold) return (int)m;
        }
    }

    /// <summary>Standard normal sample (Box–Muller, the spare value cached).</summary>
    public double NextNormal()
    {
        if (_spareNormal is { } s) { _spareNormal = null; return s; }
        double u1;
        do u1 = NextDouble(); while (u1 <= double.Epsilon);
        var u2 = NextDouble();
        var r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Fills <paramref name="dst"/> with N(<paramref name="mean"/>, <paramref name="std"/>²) samples.</summary>
    public void FillNormal(Span<float> dst, float mean = 0f, float std = 1f)
    {
        for (var i = 0; i < dst.Length; i++) dst[i] = (float)(mean + std * NextNormal());
    }

    /// <summary>Fills <paramref name="dst"/> with U[<paramref name="low"/>, <paramref name="high"/>) samples.</summary>
    public void FillUniform(Span<float> dst, float low, float high)
    {
        for (var i = 0; i < dst.Length; i++) dst[i] = Uniform(low, high);
    }

    /// <summary>The complete state (for checkpoints).</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3, _spareNormal is { } s ? (ulong)BitConverter.DoubleToInt64Bits(s) : 0UL, _spareNormal.HasValue ? 1UL : 0UL];

    /// <summary>Restores a state captured by <see cref="GetState"/>.</summary>
    /// <exception cref="ArgumentException">The state does not have six words or is all zero.</exception>
    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 6) throw new ArgumentException($"Generator state must have 6 words, got {state.Length}.", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0) throw new ArgumentException("Generator state is all zero (invalid for xoshiro256**).", nameof(state));
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
        _spareNormal = state[5] != 0 ? BitConverter.Int64BitsToDouble((long)state[4]) : null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SplitMix64(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
