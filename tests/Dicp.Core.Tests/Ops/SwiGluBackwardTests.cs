using System.Runtime.Intrinsics;
using Dicp.Kernels;
using Dicp.Tensors;
using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;

namespace Dicp.Tests.Ops;

/// <summary><see cref="SwiGluBackward"/>: its 512-bit, 256-bit and scalar bodies against a per-element reference.</summary>
public class SwiGluBackwardTests
{
    public static TheoryData<int, int, bool, bool, bool, bool> Cases()
    {
        var data = new TheoryData<int, int, bool, bool, bool, bool>();
        foreach (var lanes in new[] { 8, 16, 0 })
            foreach (var n in new[] { 0, 1, 7, 8, 9, 23, 1024, 1030 })
                foreach (var (wantA, wantB) in new[] { (true, true), (true, false), (false, true) })
                    foreach (var acc in new[] { true, false })
                        data.Add(lanes, n, wantA, wantB, acc, !acc);
        return data;
    }

    /// <summary>Each element as the vector body computes it, lane for lane (<see cref="FastMath"/>'s exp in the whole
    /// vectors, <see cref="MathF.Exp"/> in the scalar tail); fresh gradients start from NaN, so a read of them shows.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void BodiesMatchThePerLaneReference(int lanes, int n, bool wantA, bool wantB, bool accA, bool accB)
    {
        var a = Values(1, n, 4f);
        var b = Values(2, n, 1f);
        var gy = Values(3, n, 1f);
        var ga = wantA ? (accA ? Values(4, n, 1f) : Enumerable.Repeat(float.NaN, n).ToArray()) : [];
        var gb = wantB ? (accB ? Values(5, n, 1f) : Enumerable.Repeat(float.NaN, n).ToArray()) : [];
        var (ea, eb) = ((float[])ga.Clone(), (float[])gb.Clone());
        var whole = lanes == 0 ? 0 : n / lanes * lanes;
        for (var i = 0; i < n; i++)
        {
            var x = a[i];
            var e = i < whole ? FastMath.Exp(Vector256.Create(-x)).GetElement(0) : MathF.Exp(-x);
            var sg = 1f / (1f + e);
            if (wantA) ea[i] = (accA ? ea[i] : 0f) + gy[i] * b[i] * sg * (1f + x * (1f - sg));
            if (wantB) eb[i] = (accB ? eb[i] : 0f) + gy[i] * x * sg;
        }
        SwiGluBackward.Run(a, b, gy, ga, gb, accA, accB, lanes);
        Assert.Equal(ea, ga);
        Assert.Equal(eb, gb);
    }

    /// <summary>The default body agrees with the scalar one (σ through <see cref="MathF.Exp"/>) within a few ulp.</summary>
    [Fact]
    public void DefaultBodyIsCloseToTheScalarLoop()
    {
        const int n = 4099;
        var (a, b, gy) = (Values(6, n, 6f), Values(7, n, 1f), Values(8, n, 1f));
        var (ga, gb, sa, sb) = (new float[n], new float[n], new float[n], new float[n]);
        SwiGluBackward.Run(a, b, gy, ga, gb);
        SwiGluBackward.Run(a, b, gy, sa, sb, true, true, lanes: 0);
        for (var i = 0; i < n; i++)
        {
            Assert.True(Math.Abs(ga[i] - sa[i]) <= 1e-6f * (Math.Abs(sa[i]) + Math.Abs(gy[i] * b[i])), $"ga[{i}]: {ga[i]} vs {sa[i]}");
            Assert.True(Math.Abs(gb[i] - sb[i]) <= 1e-6f * (Math.Abs(sb[i]) + Math.Abs(gy[i] * a[i])), $"gb[{i}]: {gb[i]} vs {sb[i]}");
        }
    }

    /// <summary>Finite differences through Ops.SwiGlu over several 1024-element chunks and a ragged tail.</summary>
    [Fact]
    public void GradientThroughOpsSwiGlu() =>
        Check(x => Dicp.Tensors.Ops.SwiGlu(x[0], x[1]), [Randn(9, 2f, 3, 701), Randn(10, 1f, 3, 701)]);

    private static float[] Values(int seed, int n, float scale)
    {
        var v = new float[n];
        new Generator(seed).FillNormal(v, 0f, scale);
        return v;
    }
}
