using Dicp.Tensors;
using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;

namespace Dicp.Tests.Ops;

/// <summary>The vectorised RMSNorm (widths that are multiples of 16) and its fused input dropout.</summary>
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
        var y1 = Dicp.Tensors.Ops.RmsNorm(Dicp.Tensors.Ops.Dropout(x1, 0.1f, g1), w1);
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

    private static void AssertClose(float[] a, float[] b, double rtol)
    {
        Assert.Equal(a.Length, b.Length);
        for (var i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6 + rtol * Math.Abs(a[i]), $"[{i}]: {a[i]} vs {b[i]}");
    }
}
