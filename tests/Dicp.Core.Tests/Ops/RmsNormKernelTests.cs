using Dicp.Kernels;
using Dicp.Tensors;
using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;

namespace Dicp.Tests.Ops;

/// <summary>The vectorised RMSNorm (<see cref="RmsNormKernel"/>, 512- and 256-bit) and its fused input dropout.</summary>
public class RmsNormKernelTests
{
    [Fact]
    public void GradientOfTheVectorisedPath() =>
        Check(x => Dicp.Tensors.Ops.RmsNorm(x[0], x[1]), [Randn(1, 1f, 3, 5, 32), Randn(2, 1f, 32)]);

    [Fact]
    public void GradientOfTheFusedDropout() =>
        Check(x => Dicp.Tensors.Ops.DropoutRmsNorm(x[0], 0.3f, new Generator(4), x[1], 1e-5f), [Randn(3, 1f, 2, 3, 48), Randn(4, 1f, 48)]);

    [Fact]
    public void FusedDropoutEqualsDropoutThenRmsNormWithTheSameGenerator()
    {
        // 600 rows: more than two row blocks, so the parallel split and the block-ordered weight gradient are exercised.
        var x1 = Randn(5, 1f, 600, 32); x1.RequiresGrad = true;
        var w1 = Randn(6, 1f, 32); w1.RequiresGrad = true;
        var x2 = x1.Clone(); var w2 = w1.Clone();
        var seed = Randn(7, 1f, 600, 32).ToArray();

        var g1 = new Generator(11);
        var y1 = Dicp.Tensors.Ops.RmsNormRowwise(Dicp.Tensors.Ops.Dropout(x1, 0.1f, g1), w1, 1e-5f, 600, 32);
        y1.Backward(seed);
        var g2 = new Generator(11);
        var y2 = Dicp.Tensors.Ops.DropoutRmsNorm(x2, 0.1f, g2, w2, 1e-5f);
        y2.Backward(seed);

        Assert.Equal(g1.NextUInt64(), g2.NextUInt64()); // one key drawn by both
        AssertClose(y1.ToArray(), y2.ToArray(), 1e-6);
        AssertClose(x1.Grad!.AsSpan(0, x1.Size).ToArray(), x2.Grad!.AsSpan(0, x2.Size).ToArray(), 1e-5);
        AssertClose(w1.Grad!.AsSpan(0, 32).ToArray(), w2.Grad!.AsSpan(0, 32).ToArray(), 1e-4);
        Assert.Contains(y2.ToArray(), v => v == 0f); // some inputs were dropped
    }

    public static TheoryData<int, int, float> Shapes()
    {
        var data = new TheoryData<int, int, float>();
        foreach (var rows in new[] { 1, 255, 256, 257, 1000 })
            foreach (var d in new[] { 8, 16, 32, 64 })
                foreach (var p in new[] { 0f, 0.1f })
                    data.Add(rows, d, p);
        return data;
    }

    /// <summary>The 256-bit kernel (forced, whatever the host and numerics level) against Ops.Dropout then the row-wise
    /// Ops.RmsNorm: outputs and both gradients, gradients accumulated onto non-zero ones.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void Kernel256MatchesDropoutThenRowwiseRmsNorm(int rows, int d, float p)
    {
        var (x, w, gy) = (Randn(rows + d, 1f, rows, d), Randn(d, 1f, d), Randn(rows * 3 + d, 1f, rows, d).ToArray());
        x.RequiresGrad = true; w.RequiresGrad = true;
        var key = new Generator(17).NextUInt64();
        var yRef = Dicp.Tensors.Ops.RmsNormRowwise(Dicp.Tensors.Ops.Dropout(x, p, new Generator(17)), w, 1e-5f, rows, d);
        yRef.Backward(gy);

        var (gx, gw) = (Enumerable.Repeat(0.5f, rows * d).ToArray(), Enumerable.Repeat(-0.25f, d).ToArray());
        var (y, rstd) = Run(new RmsNormKernel { Rows = rows, D = d, Eps = 1e-5f, DropoutP = p, DropoutKey = p > 0f ? key : 0UL, Lanes = 8 },
            x.ToArray(), w.ToArray(), gy, gx, gw);

        AssertClose(yRef.ToArray(), y, 1e-6);
        AssertRowsClose(x.Grad!.AsSpan(0, rows * d).ToArray(), gx, 0.5f, d, 1e-6);
        AssertRowsClose(w.Grad!.AsSpan(0, d).ToArray(), gw, -0.25f, d, 1e-5);
        if (p > 0f && rows * d >= 256) Assert.Contains(y, v => v == 0f);
        Assert.All(rstd.AsSpan(0, rows).ToArray(), r => Assert.True(r > 0f));
    }

    /// <summary>For d a multiple of 16 the 256-bit kernel gives the 512-bit kernel's bits (the latter in software here
    /// when AVX-512 is missing): same lane operations, row sums in Vector512.Sum's order.</summary>
    [Theory]
    [InlineData(1, 16, 0f)]
    [InlineData(257, 16, 0.1f)]
    [InlineData(300, 32, 0.1f)]
    [InlineData(300, 32, 0f)]
    [InlineData(513, 64, 0.1f)]
    [InlineData(40, 1024, 0.3f)]
    public void Widths256And512GiveTheSameBits(int rows, int d, float p)
    {
        var (x, w, gy) = (Randn(1, 2f, rows, d).ToArray(), Randn(2, 1f, d).ToArray(), Randn(3, 1f, rows, d).ToArray());
        var results = new List<float[]>();
        foreach (var lanes in new[] { 16, 8 })
        {
            var (gx, gw) = (new float[rows * d], new float[d]);
            var (y, rstd) = Run(new RmsNormKernel { Rows = rows, D = d, Eps = 1e-5f, DropoutP = p, DropoutKey = 0x1234_5678_9ABC_DEF0UL, Lanes = lanes }, x, w, gy, gx, gw);
            results.AddRange([y, rstd.AsSpan(0, rows).ToArray(), gx, gw]);
        }
        for (var k = 0; k < 4; k++) Assert.Equal(results[k], results[k + 4]);
    }

    /// <summary>The weight gradient's fixed row blocks: the same bits whether the blocks run on the workers or serially
    /// (inside another parallel loop's body).</summary>
    [Fact]
    public void WeightGradientDoesNotDependOnTheThreads()
    {
        const int rows = 1000, d = 32;
        var (x, w, gy) = (Randn(4, 1f, rows, d).ToArray(), Randn(5, 1f, d).ToArray(), Randn(6, 1f, rows, d).ToArray());
        var kernel = new RmsNormKernel { Rows = rows, D = d, Eps = 1e-5f, DropoutP = 0.1f, DropoutKey = 99UL, Lanes = 8 };
        var (gx1, gw1, gx2, gw2) = (new float[rows * d], new float[d], new float[rows * d], new float[d]);
        Run(kernel, x, w, gy, gx1, gw1);
        ParallelLoop.For(0, 2, i => { if (i == 1) Run(kernel, x, w, gy, gx2, gw2); });
        Assert.Equal(gw1, gw2);
        Assert.Equal(gx1, gx2);
    }

    [Fact]
    public void KernelRefusesAWidthThatIsNotWholeVectors() =>
        Assert.Throws<ArgumentException>(() => Run(new RmsNormKernel { Rows = 2, D = 24, Eps = 1e-5f, DropoutP = 0f, DropoutKey = 0UL, Lanes = 16 },
            new float[48], new float[24], new float[48], new float[48], new float[24]));

    /// <summary>Forward then backward through the kernel; returns y and the saved 1/rms.</summary>
    private static (float[] Y, float[] Rstd) Run(RmsNormKernel kernel, float[] x, float[] w, float[] gy, float[] gx, float[] gw)
    {
        var (y, rstd) = (new float[x.Length], new float[kernel.Rows]);
        kernel.Forward(x, w, y, rstd);
        kernel.Backward(x, w, rstd, gy, gx, gw);
        return (y, rstd);
    }

    /// <summary>Gradients accumulated onto <paramref name="initial"/> against the reference's fresh ones, per row of d
    /// within <paramref name="rtol"/> of the row's largest magnitude (the backward subtracts nearly equal terms).</summary>
    private static void AssertRowsClose(float[] fresh, float[] accumulated, float initial, int d, double rtol)
    {
        Assert.Equal(fresh.Length, accumulated.Length);
        for (var r = 0; r < fresh.Length / d; r++)
        {
            var scale = 0.0;
            for (var i = r * d; i < (r + 1) * d; i++) scale = Math.Max(scale, Math.Abs(fresh[i]));
            for (var i = r * d; i < (r + 1) * d; i++)
                Assert.True(Math.Abs(fresh[i] + initial - accumulated[i]) <= rtol * scale + 1e-6, $"[{i}]: {fresh[i]} + {initial} vs {accumulated[i]}");
        }
    }

    private static void AssertClose(float[] a, float[] b, double rtol)
    {
        Assert.Equal(a.Length, b.Length);
        for (var i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6 + rtol * Math.Abs(a[i]), $"[{i}]: {a[i]} vs {b[i]}");
    }
}
