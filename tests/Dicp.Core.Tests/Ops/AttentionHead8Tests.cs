using Dicp.Kernels;
using Dicp.Tensors;
using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;

namespace Dicp.Tests.Ops;

/// <summary>
/// The head-size-8 attention path (recomputed scores, no stored probabilities) against finite differences and against
/// the generic kernel, with the dropout mask active and rows spanning several 16-lane blocks.
/// </summary>
public class AttentionHead8Tests
{
    [Fact]
    public void GradientWithRopeAndDropoutOverSeveralBlocks()
    {
        // hs = 8 (D = 16, 2 heads), T = 35: rows end in the first, second and third block of 16 keys.
        Check(x => Dicp.Tensors.Ops.CausalSelfAttention(x[0], 2, new RotaryCache(64, 8), 0.3f, new Generator(9)), [Randn(3, 1f, 1, 35, 48)]);
    }

    [Fact]
    public void GradientWithoutRope() =>
        Check(x => Dicp.Tensors.Ops.CausalSelfAttention(x[0], 1, null), [Randn(4, 1f, 2, 17, 24)]);

    [Theory]
    [InlineData(0f)]
    [InlineData(0.25f)]
    public void MatchesTheGenericKernel(float p)
    {
        const int B = 3, T = 40, H = 2, Hs = 8, D = H * Hs;
        var rope = new RotaryCache(64, Hs);
        var qkv = Randn(11, 1f, B, T, 3 * D).ToArray();
        var gout = Randn(12, 1f, B, T, D).ToArray();
        var k = new CausalAttention { B = B, T = T, H = H, Hs = Hs, Rope = rope, DropoutP = p, DropoutKey = 0x1234_5678_9ABC_DEF0UL };
        Assert.True(k.UsesHead8 || !System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated);
        if (!k.UsesHead8) return;

        var y0 = new float[B * T * D]; var g0 = new float[B * T * 3 * D];
        var probs = new float[k.ProbsLength];
        k.Forward(qkv, y0, probs);
        k.Backward(qkv, probs, gout, g0);

        var y1 = new float[B * T * D]; var g1 = new float[B * T * 3 * D];
        var lse = new float[k.LseLength];
        k.Forward8(qkv, y1, lse);
        k.Backward8(qkv, y1, lse, gout, g1);

        for (var i = 0; i < y0.Length; i++) Assert.True(Math.Abs(y0[i] - y1[i]) <= 1e-5 + 1e-5 * Math.Abs(y0[i]), $"y[{i}]: {y0[i]} vs {y1[i]}");
        for (var i = 0; i < g0.Length; i++) Assert.True(Math.Abs(g0[i] - g1[i]) <= 1e-5 + 1e-4 * Math.Abs(g0[i]), $"g[{i}]: {g0[i]} vs {g1[i]}");
        if (p > 0f) Assert.Contains(y1, v => v != 0f);
    }

    [Fact]
    public void DropoutKeepsAboutOneMinusPOfTheElements()
    {
        var x = Tensor.Full(1f, 1 << 16);
        var y = Dicp.Tensors.Ops.Dropout(x, 0.1f, new Generator(3));
        var kept = y.ToArray().Count(v => v != 0f) / (double)y.Size;
        Assert.InRange(kept, 0.895, 0.905); // binomial sd ≈ 0.0012
        Assert.All(y.ToArray(), v => Assert.True(v == 0f || Math.Abs(v - 1f / 0.9f) < 1e-6));
    }
}

/// <summary>The vectorised exp used by attention and SiLU against <see cref="Math.Exp(double)"/>.</summary>
public class FastMathTests
{
    [Fact]
    public void ExpIsWithinFourUlpOfDoublePrecisionAndHandlesTheEdges()
    {
        var xs = new List<float>();
        for (var x = -87f; x <= 88f; x += 0.0137f) xs.Add(x);
        xs.AddRange([0f, -0f, 1e-8f, -1e-8f, 0.34657f, -0.34657f]);
        while (xs.Count % 16 != 0) xs.Add(0.5f);
        for (var i = 0; i < xs.Count; i += 16)
        {
            var v = Dicp.Kernels.FastMath.Exp(System.Runtime.Intrinsics.Vector512.Create(xs.ToArray(), i));
            var w = Dicp.Kernels.FastMath.Exp(System.Runtime.Intrinsics.Vector256.Create(xs.ToArray(), i));
            for (var l = 0; l < 16; l++)
            {
                var exact = Math.Exp(xs[i + l]);
                Assert.True(Math.Abs(v[l] - exact) <= 4 * 6e-8 * exact, $"exp({xs[i + l]}) = {v[l]}, exact {exact}");
                if (l < 8) Assert.Equal(v[l], w[l]);
            }
        }
        var edges = Dicp.Kernels.FastMath.Exp(System.Runtime.Intrinsics.Vector512.Create(
            float.NegativeInfinity, -200f, float.PositiveInfinity, 200f, float.NaN, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f));
        Assert.Equal(0f, edges[0]);
        Assert.Equal(0f, edges[1]);
        Assert.Equal(float.PositiveInfinity, edges[2]);
        Assert.Equal(float.PositiveInfinity, edges[3]);
        Assert.True(float.IsNaN(edges[4]));
        Assert.Equal(1f, edges[5]);
    }
}
