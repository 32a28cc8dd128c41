using System.Runtime.Intrinsics;
using Dicp.Kernels;
using Dicp.Tensors;
using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;

namespace Dicp.Tests.Ops;

/// <summary>
/// The generic attention kernel's 256-bit row helpers (hosts without AVX-512) against its <see cref="Vector512{T}"/>
/// helpers (<c>DICP_KERNELS=portable</c>), bit for bit: forward outputs, saved probabilities and gradients, with and
/// without RoPE and dropout, over sequence lengths that end inside, at and just past a 16-key block.
/// </summary>
public class AttentionPairsTests
{
    [Fact]
    public void Vector512SumIsTheSumOfItsHalves()
    {
        // The identity the pair helpers rely on for their reductions (true of the software Vector512 and of AVX-512).
        var g = new Generator(5);
        var v = new float[16];
        for (var t = 0; t < 10_000; t++)
        {
            for (var i = 0; i < 16; i++) v[i] = (float)(g.NextNormal() * Math.Pow(10, g.NextInt(7) - 3));
            var x = Vector512.Create(v);
            Assert.Equal(BitConverter.SingleToInt32Bits(Vector512.Sum(x)), BitConverter.SingleToInt32Bits(Vector256.Sum(x.GetLower()) + Vector256.Sum(x.GetUpper())));
        }
    }

    [Theory]
    [InlineData(1, 8, true, 0f)]
    [InlineData(5, 8, true, 0.1f)]
    [InlineData(16, 8, false, 0.3f)]
    [InlineData(17, 16, true, 0f)]
    [InlineData(33, 4, true, 0.25f)]
    [InlineData(81, 8, true, 0.1f)]   // the DICP-AD Darkroom shape (T 81, hs 8)
    [InlineData(40, 12, false, 0f)]
    public void PairsAreBitIdenticalToVector512Helpers(int t, int hs, bool rope, float p)
    {
        const int B = 3, H = 2;
        var d = H * hs;
        var cache = rope ? new RotaryCache(96, hs) : null;
        var qkv = Randn(t * 31 + hs, 1.5f, B, t, 3 * d).ToArray();
        var gout = Randn(t * 37 + hs, 1f, B, t, d).ToArray();
        var fast = new CausalAttention { B = B, T = t, H = H, Hs = hs, Rope = cache, DropoutP = p, DropoutKey = 0x0F1E_2D3C_4B5A_6978UL };
        var portable = fast with { ForcePortable = true };

        var (y0, p0, g0) = Run(portable, qkv, gout);
        var (y1, p1, g1) = Run(fast, qkv, gout);
        AssertBits(y0, y1, "output");
        AssertBits(p0, p1, "probabilities");
        AssertBits(g0, g1, "gradient");
    }

    private static (float[] Y, float[] Probs, float[] G) Run(CausalAttention k, float[] qkv, float[] gout)
    {
        var y = new float[gout.Length];
        var probs = new float[k.ProbsLength];
        var g = new float[qkv.Length];
        k.Forward(qkv, y, probs);
        k.Backward(qkv, probs, gout, g);
        return (y, probs, g);
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        for (var i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}[{i}]: {actual[i]:R}, portable {expected[i]:R}");
    }
}

/// <summary>The rotary embedding's four-lane loops against the scalar formula, bit for bit.</summary>
public class RotaryVectorTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(12)]
    [InlineData(16)]
    public void RotationsMatchTheScalarLoop(int hs)
    {
        var rope = new RotaryCache(20, hs);
        var g = new Generator(hs);
        var x = new float[hs];
        var acc = new float[hs];
        for (var t = 0; t < 20; t++)
        {
            g.FillNormal(x); g.FillNormal(acc);
            var y = new float[hs];
            rope.Rotate(x, y, t);
            var back = (float[])acc.Clone();
            rope.RotateBackAccumulate(x, back, t);
            int half = hs / 2, o = t * hs;
            for (var i = 0; i < half; i++)
            {
                Assert.Equal(x[i] * rope.Cos[o + i] - x[i + half] * rope.Sin[o + i], y[i]);
                Assert.Equal(x[i + half] * rope.Cos[o + i + half] + x[i] * rope.Sin[o + i + half], y[i + half]);
                Assert.Equal(acc[i] + (x[i] * rope.Cos[o + i] + x[i + half] * rope.Sin[o + i + half]), back[i]);
                Assert.Equal(acc[i + half] + (x[i + half] * rope.Cos[o + i + half] - x[i] * rope.Sin[o + i]), back[i + half]);
            }
        }
    }
}
