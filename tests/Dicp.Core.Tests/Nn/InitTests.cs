using System.Runtime.InteropServices;
using Dicp.Nn;
using Dicp.Tensors;
using Xunit;

namespace Dicp.Tests.Nn;

/// <summary>Initialisers: the distribution of <see cref="Init.LinearDefault"/>, orthogonality of <see cref="Init.Orthogonal"/>,
/// and seed reproducibility of <see cref="Linear"/>.</summary>
public class InitTests
{
    private static int[] Bits(Tensor t) => MemoryMarshal.Cast<float, int>(t.Span).ToArray();

    [Theory]
    [InlineData(256, 1_000_000)]
    [InlineData(3, 200_000)]
    [InlineData(1000, 500_000)]
    public void LinearDefaultIsUniformWithinOneOverSqrtFanIn(int fanIn, int n)
    {
        var t = Tensor.Zeros(n);
        Init.LinearDefault(t, fanIn, new Generator(42));
        var bound = 1.0 / Math.Sqrt(fanIn);

        double sum = 0, sq = 0, min = double.MaxValue, max = double.MinValue;
        foreach (var v in t.Span)
        {
            sum += v;
            sq += (double)v * v;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        var mean = sum / n;
        var variance = sq / n - mean * mean;

        Assert.True(min >= -bound * (1 + 1e-6) && max <= bound * (1 + 1e-6), $"range [{min}, {max}] exceeds ±{bound}");
        // The whole interval is used (a narrower bound would fail here).
        Assert.True(min < -0.99 * bound && max > 0.99 * bound, $"range [{min}, {max}] does not reach ±{bound}");
        // Var U(−a, a) = a²/3; the sampling error at these n is < 0.3 %.
        Assert.InRange(variance / (bound * bound / 3), 0.98, 1.02);
        Assert.InRange(mean / bound, -0.01, 0.01);
    }

    [Fact]
    public void LinearLayerWeightsAndBiasUseTheInputFanIn()
    {
        var layer = new Linear(64, 300, bias: true, new Generator(7));
        var bound = 1f / 8f;
        Assert.All(layer.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(layer.Bias!.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.True(layer.Weight.ToArray().Max() > 0.95f * bound);
        Assert.True(layer.Bias.ToArray().Min() < -0.9f * bound);
    }

    [Theory]
    [InlineData(64, 64, 1f)]
    [InlineData(64, 10, 1f)]
    [InlineData(5, 64, 1f)]
    [InlineData(64, 64, 2f)]
    [InlineData(64, 10, 0.5f)]
    [InlineData(5, 64, 1.4142135f)]
    [InlineData(1, 7, 1f)]
    [InlineData(7, 1, 1f)]
    public void OrthogonalGivesOrthonormalColumnsOrRowsTimesGain(int rows, int cols, float gain)
    {
        var w = Tensor.Zeros(rows, cols);
        Init.Orthogonal(w, new Generator(rows * 1000 + cols), gain);
        var g2 = (double)gain * gain;

        // cols ≤ rows: WᵀW = gain²·I (cols × cols); rows < cols: WWᵀ = gain²·I (rows × rows).
        var byColumns = cols <= rows;
        var n = byColumns ? cols : rows;
        var len = byColumns ? rows : cols;
        double At(int vec, int i) => byColumns ? w[i * cols + vec] : w[vec * cols + i];
        var worst = 0.0;
        for (var a = 0; a < n; a++)
            for (var b = 0; b < n; b++)
            {
                double s = 0;
                for (var i = 0; i < len; i++) s += At(a, i) * At(b, i);
                worst = Math.Max(worst, Math.Abs(s - (a == b ? g2 : 0)));
            }
        Assert.True(worst <= 1e-5 * Math.Max(1, g2), $"max |{(byColumns ? "WᵀW" : "WWᵀ")} − gain²I| = {worst}");

        // Not a trivial answer (identity-like or sparse): almost every entry is non-zero.
        Assert.True(w.ToArray().Count(v => v != 0f) >= 0.99 * w.Size);
    }

    [Fact]
    public void OrthogonalDependsOnTheSeedAndIsReproducible()
    {
        var a = Tensor.Zeros(16, 16);
        var b = Tensor.Zeros(16, 16);
        var c = Tensor.Zeros(16, 16);
        Init.Orthogonal(a, new Generator(1));
        Init.Orthogonal(b, new Generator(1));
        Init.Orthogonal(c, new Generator(2));
        Assert.Equal(Bits(a), Bits(b));
        Assert.NotEqual(Bits(a), Bits(c));
    }

    [Fact]
    public void OrthogonalRejectsNonMatrices()
    {
        var e = Assert.Throws<ArgumentException>(() => Init.Orthogonal(Tensor.Zeros(2, 3, 4), new Generator(1)));
        Assert.Contains("rank-2", e.Message);
    }

    [Fact]
    public void LinearWithTheSameSeedIsBitIdenticalAndDifferentSeedsDiffer()
    {
        var a = new Linear(24, 40, bias: true, new Generator(123));
        var b = new Linear(24, 40, bias: true, new Generator(123));
        var c = new Linear(24, 40, bias: true, new Generator(124));
        Assert.Equal(Bits(a.Weight), Bits(b.Weight));
        Assert.Equal(Bits(a.Bias!), Bits(b.Bias!));
        Assert.NotEqual(Bits(a.Weight), Bits(c.Weight));
        Assert.NotEqual(Bits(a.Bias!), Bits(c.Bias!));
        // Weight and bias are separate draws, not the same numbers.
        Assert.NotEqual(a.Weight.ToArray()[..40], a.Bias!.ToArray());
    }

    [Fact]
    public void NormalAndConstantFillAsAsked()
    {
        var t = Tensor.Zeros(200_000);
        Init.Normal(t, new Generator(9), mean: 3f, std: 0.5f);
        double sum = 0, sq = 0;
        foreach (var v in t.Span) { sum += v; sq += (double)v * v; }
        var mean = sum / t.Size;
        Assert.InRange(mean, 2.99, 3.01);
        Assert.InRange(Math.Sqrt(sq / t.Size - mean * mean), 0.49, 0.51);

        Init.Constant(t, -1.25f);
        Assert.All(t.ToArray(), v => Assert.Equal(-1.25f, v));
    }
}
