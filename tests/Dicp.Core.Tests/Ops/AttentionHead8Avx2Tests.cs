using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Dicp.Kernels;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;

namespace Dicp.Tests.Ops;

/// <summary>
/// The 256-bit head-size-8 training attention (<see cref="CausalAttention.Forward8Avx2"/>/<see cref="CausalAttention.Backward8Avx2"/>):
/// bit for bit the AVX-512 head-8 kernel (run through the software <see cref="Vector512{T}"/> where the host has no
/// AVX-512), within rounding of the generic kernel, against finite differences, independent of the thread count, and
/// allocation-free when warm.
/// </summary>
public class AttentionHead8Avx2Tests
{
    private static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    private static CausalAttention Kernel(int b, int t, int h, bool rope, float p) => new()
    {
        B = b, T = t, H = h, Hs = 8, Rope = rope ? new RotaryCache(96, 8) : null, DropoutP = p, DropoutKey = 0x9E37_79B9_7F4A_7C15UL,
    };

    private enum Path { Avx512, Avx2Hashed, Avx2SavedBits }

    /// <summary>Forward (output and lse) and backward (into a gradient that already holds values: the kernels add) of one kernel.</summary>
    private static (float[] Y, float[] Lse, float[] G) Run(CausalAttention k, float[] qkv, float[] gout, Path path)
    {
        var y = new float[k.B * k.T * k.H * 8];
        var lse = new float[k.LseLength];
        var g = Randn(77, 0.5f, k.B, k.T, 3 * k.H * 8).ToArray();
        var keep = path == Path.Avx2SavedBits ? new float[k.KeepBitsLength] : null;
        if (path == Path.Avx512) { k.Forward8(qkv, y, lse); k.Backward8(qkv, y, lse, gout, g); }
        else { k.Forward8Avx2(qkv, y, lse, keep); k.Backward8Avx2(qkv, y, lse, keep, gout, g); }
        return (y, lse, g);
    }

    public static TheoryData<int, float, bool, int, int> Shapes()
    {
        var data = new TheoryData<int, float, bool, int, int>();
        foreach (var t in new[] { 1, 5, 16, 17, 33, 40, 81 })
            foreach (var p in new[] { 0f, 0.25f })
                foreach (var rope in new[] { true, false })
                    data.Add(t, p, rope, t % 2 == 0 ? 2 : 3, t <= 17 ? 3 : 2); // (B, H) = (2 or 3, 2 or 3)
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EqualsTheAvx512KernelBitForBit(int t, float p, bool rope, int b, int h)
    {
        if (!Supported) return;
        var k = Kernel(b, t, h, rope, p);
        var qkv = Randn(t * 31 + b, 1.5f, b, t, 3 * h * 8).ToArray();
        var gout = Randn(t * 37 + h, 1f, b, t, h * 8).ToArray();
        var (y0, l0, g0) = Run(k, qkv, gout, Path.Avx512);
        foreach (var path in new[] { Path.Avx2Hashed, Path.Avx2SavedBits })
        {
            var (y1, l1, g1) = Run(k, qkv, gout, path);
            AssertBits(y0, y1, $"{path} y");
            AssertBits(l0, l1, $"{path} lse");
            AssertBits(g0, g1, $"{path} g");
        }
        if (p > 0f) Assert.Contains(y0, v => v == 0f); // some probabilities were dropped
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void AgreesWithTheGenericKernel(int t, float p, bool rope, int b, int h)
    {
        if (!Supported) return;
        var k = Kernel(b, t, h, rope, p);
        var qkv = Randn(t * 41 + b, 1.5f, b, t, 3 * h * 8).ToArray();
        var gout = Randn(t * 43 + h, 1f, b, t, h * 8).ToArray();
        var y0 = new float[b * t * h * 8];
        var g0 = new float[b * t * 3 * h * 8];
        var probs = new float[k.ProbsLength];
        k.Forward(qkv, y0, probs);
        k.Backward(qkv, probs, gout, g0);
        var y1 = new float[y0.Length];
        var g1 = new float[g0.Length];
        var lse = new float[k.LseLength];
        var keep = new float[k.KeepBitsLength];
        k.Forward8Avx2(qkv, y1, lse, keep);
        k.Backward8Avx2(qkv, y1, lse, keep, gout, g1);
        for (var i = 0; i < y0.Length; i++) Assert.True(Math.Abs(y0[i] - y1[i]) <= 1e-5 + 1e-5 * Math.Abs(y0[i]), $"y[{i}]: {y0[i]} vs {y1[i]}");
        var gmax = g0.Max(Math.Abs);
        for (var i = 0; i < g0.Length; i++) Assert.True(Math.Abs(g0[i] - g1[i]) <= 1e-6 * gmax + 1e-4 * Math.Abs(g0[i]), $"g[{i}]: {g0[i]} vs {g1[i]}");
    }

    [Fact]
    public void TheShortExpEqualsTheFullOneUpToItsLimit()
    {
        var xs = new List<float> { float.NegativeInfinity, float.MinValue, -1e30f, -87.3f, -87.29999f, -87.30001f, -0f, 0f, 1e-30f, -1e-30f, 88.37f };
        for (var x = -120f; x <= 88.3f; x += 0.00731f) xs.Add(x);
        while (xs.Count % 8 != 0) xs.Add(-1f);
        var a = xs.ToArray();
        for (var i = 0; i < a.Length; i += 8)
        {
            var v = Vector256.Create(a, i);
            Assert.Equal(FastMath.Exp(v).AsInt32(), FastMath.ExpNonPositive(v).AsInt32());
        }
        Assert.True(float.IsNaN(FastMath.ExpNonPositive(Vector256.Create(float.NaN))[0]));
    }

    [Fact]
    public void TheOpTakesThePathWhereTheNumericsLevelAllowsIt()
    {
        var k = Kernel(1, 5, 1, true, 0f);
        Assert.Equal(Supported && KernelOptions.Avx2Fused, k.UsesHead8Avx2);
        Assert.False(k.UsesHead8 && k.UsesHead8Avx2);
        Assert.False(new CausalAttention { B = 1, T = 5, H = 1, Hs = 16, Rope = null, DropoutP = 0f, DropoutKey = 0 }.UsesHead8Avx2);
    }

    [Fact]
    public void TheOpGivesTheSameBitsWithAndWithoutRoomForTheMaskBits()
    {
        // Budget 0: the op keeps no mask bits and backward hashes the mask again; the default budget keeps them.
        if (!Kernel(1, 1, 1, false, 0.2f).UsesHead8Avx2) return; // elsewhere the budget picks between kernels that round differently
        (float[] Y, float[] G) Op(long budget)
        {
            var x = Randn(21, 1f, 3, 33, 48);
            x.RequiresGrad = true;
            var y = Dicp.Tensors.Ops.CausalSelfAttentionWithBudget(x, 2, new RotaryCache(64, 8), 0.2f, new Generator(4), budget);
            Dicp.Tensors.Ops.Sum(Dicp.Tensors.Ops.Mul(y, Randn(22, 1f, 3, 33, 16))).Backward();
            return (y.ToArray(), x.Grad!.ToArray());
        }
        var (y0, g0) = Op(0);
        var (y1, g1) = Op(1L << 30);
        AssertBits(y0, y1, "y");
        AssertBits(g0, g1, "g");
    }

    [Fact]
    public void GradientWithRopeAndDropoutOverSeveralBlocks() =>
        // T = 35 (odd: the last row runs alone), rows ending in all three 16-key blocks and in both halves of them.
        Check(x => Dicp.Tensors.Ops.CausalSelfAttention(x[0], 2, new RotaryCache(64, 8), 0.3f, new Generator(9)), [Randn(3, 1f, 1, 35, 48)]);

    [Fact]
    public void GradientWithoutRopeOrDropout() =>
        Check(x => Dicp.Tensors.Ops.CausalSelfAttention(x[0], 1, null), [Randn(4, 1f, 2, 18, 24)]);

    [Theory]
    [InlineData(0f)]
    [InlineData(0.1f)]
    public void ResultsDoNotDependOnTheThreadCount(float p)
    {
        if (!Supported) return;
        const int B = 16, T = 81, H = 4; // B·H·T ≥ 4096: the public calls take the parallel path
        var k = Kernel(B, T, H, true, p);
        var qkv = Randn(5, 1f, B, T, 3 * H * 8).ToArray();
        var gout = Randn(6, 1f, B, T, H * 8).ToArray();
        var (y0, l0, g0) = Run(k, qkv, gout, Path.Avx2SavedBits);
        var y1 = new float[y0.Length];
        var l1 = new float[l0.Length];
        var g1 = Randn(77, 0.5f, B, T, 3 * H * 8).ToArray();
        var keep = new float[k.KeepBitsLength];
        k.ForwardRange256(0, B * H, qkv, y1, l1, keep); // all (batch, head) pairs on this thread
        k.BackwardRange256(0, B * H, qkv, y1, l1, keep, gout, g1);
        AssertBits(y0, y1, "y");
        AssertBits(l0, l1, "lse");
        AssertBits(g0, g1, "g");
    }

    private static void AssertBits(float[] expected, float[] actual, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{name}[{i}]: {expected[i]:R} vs {actual[i]:R}");
    }
}

/// <summary>A warm call of the 256-bit head-8 attention allocates nothing (it runs alone: a busy parallel loop would fall back to Parallel.For).</summary>
[Collection(SerialCollection.Name)]
public class AttentionHead8Avx2AllocationTests
{
    [Fact]
    public void AWarmForwardAndBackwardAllocateNothing()
    {
        if (!(Avx2.IsSupported && Fma.IsSupported)) return;
        const int B = 16, T = 81, H = 4;
        var k = new CausalAttention { B = B, T = T, H = H, Hs = 8, Rope = new RotaryCache(96, 8), DropoutP = 0.1f, DropoutKey = 42 };
        var qkv = Randn(5, 1f, B, T, 3 * H * 8).ToArray();
        var gout = Randn(6, 1f, B, T, H * 8).ToArray();
        var y = new float[B * T * H * 8];
        var lse = new float[k.LseLength];
        var g = new float[qkv.Length];
        var keep = new float[k.KeepBitsLength];
        for (var i = 0; i < 3; i++) { k.Forward8Avx2(qkv, y, lse, keep); k.Backward8Avx2(qkv, y, lse, keep, gout, g); }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 3; i++) { k.Forward8Avx2(qkv, y, lse, keep); k.Backward8Avx2(qkv, y, lse, keep, gout, g); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
