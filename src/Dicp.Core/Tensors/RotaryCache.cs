using System.Runtime.Intrinsics;

namespace Dicp.Tensors;

/// <summary>
/// Cosine and sine tables of rotary position embedding (rotate-half form over the whole head).
/// </summary>
/// <remarks>
/// inv_freq[i] = base^(−2i/hs) for i &lt; hs/2; θ[t, i] = θ[t, i + hs/2] = t·inv_freq[i];
/// <c>rope(x)[t] = x[t]·cos θ[t] + rotate_half(x[t])·sin θ[t]</c> with rotate_half(x) = [−x₂, x₁].
/// Tables are computed in double and stored as float, shape (maxSeqLen, headSize).
/// </remarks>
public sealed class RotaryCache
{
    /// <summary>Builds tables for positions 0 … <paramref name="maxSeqLen"/> − 1.</summary>
    /// <exception cref="ArgumentException">The head size is not positive and even.</exception>
    public RotaryCache(int maxSeqLen, int headSize, double @base = 10000.0)
    {
        if (headSize <= 0 || headSize % 2 != 0) throw new ArgumentException($"Rotary embedding needs an even, positive head size, got {headSize}.", nameof(headSize));
        if (maxSeqLen <= 0) throw new ArgumentException($"Rotary embedding needs a positive length, got {maxSeqLen}.", nameof(maxSeqLen));
        MaxSeqLen = maxSeqLen;
        HeadSize = headSize;
        Base = @base;
        Cos = new float[maxSeqLen * headSize];
        Sin = new float[maxSeqLen * headSize];
        var half = headSize / 2;
        for (var t = 0; t < maxSeqLen; t++)
            for (var i = 0; i < half; i++)
            {
                var theta = t * Math.Pow(@base, -2.0 * i / headSize);
                Cos[t * headSize + i] = Cos[t * headSize + i + half] = (float)Math.Cos(theta);
                Sin[t * headSize + i] = Sin[t * headSize + i + half] = (float)Math.Sin(theta);
            }
    }

    /// <summary>Number of positions covered.</summary>
    public int MaxSeqLen { get; }

    /// <summary>Head size hs.</summary>
    public int HeadSize { get; }

    /// <summary>The frequency base (10000 in the reference).</summary>
    public double Base { get; }

    internal float[] Cos { get; }
    internal float[] Sin { get; }

    /// <summary>dst = rope(src) at position t (forward rotation).</summary>
    internal void Rotate(ReadOnlySpan<float> src, Span<float> dst, int t)
    {
        var hs = HeadSize;
        var half = hs / 2;
        var c = Cos.AsSpan(t * hs, hs);
        var s = Sin.AsSpan(t * hs, hs);
        var i = 0;
        if (Vector128.IsHardwareAccelerated && src.Length >= hs && dst.Length >= hs && !src.Overlaps(dst)) // in place: the scalar loop
            for (; i + 4 <= half; i += 4)
            {
                // The scalar loop's products and sums, four lanes at a time (no FMA: the same roundings).
                Vector128<float> x1 = Vector128.Create(src.Slice(i, 4)), x2 = Vector128.Create(src.Slice(i + half, 4));
                (x1 * Vector128.Create(c.Slice(i, 4)) - x2 * Vector128.Create(s.Slice(i, 4))).CopyTo(dst.Slice(i, 4));
                (x2 * Vector128.Create(c.Slice(i + half, 4)) + x1 * Vector128.Create(s.Slice(i + half, 4))).CopyTo(dst.Slice(i + half, 4));
            }
        for (; i < half; i++)
        {
            dst[i] = src[i] * c[i] - src[i + half] * s[i];
            dst[i + half] = src[i + half] * c[i + half] + src[i] * s[i + half];
        }
    }

    /// <summary>acc += ropeᵀ(g) at position t: the gradient of <see cref="Rotate"/> (the inverse rotation).</summary>
    internal void RotateBackAccumulate(ReadOnlySpan<float> g, Span<float> acc, int t)
    {
        var hs = HeadSize;
        var half = hs / 2;
        var c = Cos.AsSpan(t * hs, hs);
        var s = Sin.AsSpan(t * hs, hs);
        var i = 0;
        if (Vector128.IsHardwareAccelerated && g.Length >= hs && acc.Length >= hs && !g.Overlaps(acc))
            for (; i + 4 <= half; i += 4)
            {
                Vector128<float> g1 = Vector128.Create(g.Slice(i, 4)), g2 = Vector128.Create(g.Slice(i + half, 4));
                var a1 = acc.Slice(i, 4);
                var a2 = acc.Slice(i + half, 4);
                (Vector128.Create(a1) + (g1 * Vector128.Create(c.Slice(i, 4)) + g2 * Vector128.Create(s.Slice(i + half, 4)))).CopyTo(a1);
                (Vector128.Create(a2) + (g2 * Vector128.Create(c.Slice(i + half, 4)) - g1 * Vector128.Create(s.Slice(i, 4)))).CopyTo(a2);
            }
        for (; i < half; i++)
        {
            acc[i] += g[i] * c[i] + g[i + half] * s[i + half];
            acc[i + half] += g[i + half] * c[i + half] - g[i] * s[i];
        }
    }
}
