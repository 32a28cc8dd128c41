using Dicp.Tensors;
using Xunit;

namespace Dicp.Tests.Tensors;

/// <summary><see cref="Generator"/>: reproducibility, exact state save/restore, and the distributions it samples.</summary>
public class GeneratorTests
{
    private static ulong[] Draw(Generator g, int n) => Enumerable.Range(0, n).Select(_ => g.NextUInt64()).ToArray();

    [Fact]
    public void SameSeedGivesTheSameSequenceAndDifferentSeedsDiffer()
    {
        var a = Draw(new Generator(2024), 1000);
        Assert.Equal(a, Draw(new Generator(2024), 1000));
        var b = Draw(new Generator(2025), 1000);
        Assert.NotEqual(a, b);
        Assert.Empty(a.Intersect(b));                 // 64-bit outputs of different streams do not coincide
        Assert.Equal(1000, a.Distinct().Count());
        Assert.NotEqual(Draw(new Generator(0), 4), Draw(new Generator(-1), 4));
        Assert.Equal(2024, new Generator(2024).Seed);
    }

    [Fact]
    public void DerivedStreamsAreReproducibleIndependentAndDoNotAdvanceTheParent()
    {
        var parent = new Generator(77);
        var d1 = parent.Derive(1);
        var d2 = parent.Derive(2);
        Assert.Equal(Draw(new Generator(77), 10), Draw(parent, 10)); // deriving did not consume parent draws
        Assert.Equal(Draw(new Generator(77).Derive(1), 10), Draw(d1, 10));
        Assert.NotEqual(Draw(new Generator(77).Derive(1), 10), Draw(d2, 10));
        Assert.NotEqual(Draw(new Generator(77), 10), Draw(new Generator(77).Derive(0), 10));
    }

    [Fact]
    public void GetStateSetStateResumesTheExactSequence()
    {
        var g = new Generator(5);
        for (var i = 0; i < 37; i++) g.NextUInt64();
        var state = g.GetState();
        var expectedU = Draw(g, 50);
        var expectedD = Enumerable.Range(0, 20).Select(_ => g.NextDouble()).ToArray();

        var h = new Generator(999);
        h.SetState(state);
        Assert.Equal(expectedU, Draw(h, 50));
        Assert.Equal(expectedD, Enumerable.Range(0, 20).Select(_ => h.NextDouble()).ToArray());
        Assert.Equal(g.GetState(), h.GetState());
    }

    [Fact]
    public void GetStateSetStateIncludesTheCachedSpareNormal()
    {
        var g = new Generator(8);
        var first = g.NextNormal();          // Box–Muller: the second value of the pair is now cached
        var state = g.GetState();
        Assert.Equal(6, state.Length);
        Assert.Equal(1UL, state[5]);         // flag: a spare is cached
        var expected = Enumerable.Range(0, 11).Select(_ => g.NextNormal()).ToArray();

        var h = new Generator(1);
        h.NextNormal();
        h.NextNormal();                      // h has no spare; restoring must bring g's in
        h.SetState(state);
        var actual = Enumerable.Range(0, 11).Select(_ => h.NextNormal()).ToArray();
        Assert.Equal(expected, actual);
        Assert.NotEqual(first, actual[0]);

        // A state captured without a spare must clear one that is cached.
        var k = new Generator(8);
        var noSpare = k.GetState();
        Assert.Equal(0UL, noSpare[5]);
        var h2 = new Generator(3);
        h2.NextNormal();                     // h2 caches a spare
        h2.SetState(noSpare);
        Assert.Equal(first, h2.NextNormal());
    }

    [Fact]
    public void SetStateRejectsABadLengthOrAnAllZeroState()
    {
        var g = new Generator(1);
        var e1 = Assert.Throws<ArgumentException>(() => g.SetState(new ulong[4]));
        Assert.Contains("6 words", e1.Message);
        Assert.Contains("got 4", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => g.SetState(new ulong[7]));
        Assert.Contains("got 7", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => g.SetState(new ulong[] { 0, 0, 0, 0, 5, 1 }));
        Assert.Contains("all zero", e3.Message);
        // The failed calls left the generator untouched.
        Assert.Equal(Draw(new Generator(1), 5), Draw(g, 5));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(7)]
    [InlineData(97)]
    public void NextIntStaysInRangeAndIsRoughlyUniform(int n)
    {
        var g = new Generator(31337 + n);
        const int Samples = 200_000;
        var counts = new int[n];
        for (var i = 0; i < Samples; i++)
        {
            var v = g.NextInt(n);
            Assert.InRange(v, 0, n - 1);
            counts[v]++;
        }
        double expected = (double)Samples / n, chi2 = 0;
        foreach (var c in counts) chi2 += (c - expected) * (c - expected) / expected;
        // χ² with n − 1 degrees of freedom: mean n − 1, sd √(2(n − 1)); allow 5 sd above the mean.
        var limit = (n - 1) + 5 * Math.Sqrt(2.0 * (n - 1));
        Assert.True(chi2 < limit, $"χ² = {chi2:F1} for n = {n} (limit {limit:F1}); counts [{string.Join(", ", counts)}]");
    }

    [Fact]
    public void NextIntHandlesTheExtremesAndRejectsNonPositiveBounds()
    {
        var g = new Generator(3);
        for (var i = 0; i < 100; i++) Assert.Equal(0, g.NextInt(1));
        var big = Enumerable.Range(0, 10_000).Select(_ => g.NextInt(int.MaxValue)).ToArray();
        Assert.All(big, v => Assert.InRange(v, 0, int.MaxValue - 1));
        Assert.Contains(big, v => v > int.MaxValue / 2);
        Assert.Contains(big, v => v < int.MaxValue / 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => g.NextInt(0));
        Assert.Contains("n > 0", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => g.NextInt(-5));
    }

    [Fact]
    public void NormalSamplesHaveMeanZeroAndVarianceOne()
    {
        var g = new Generator(12345);
        const int N = 100_000;
        double s1 = 0, s2 = 0, s4 = 0;
        var within1 = 0;
        for (var i = 0; i < N; i++)
        {
            var v = g.NextNormal();
            s1 += v; s2 += v * v; s4 += v * v * v * v;
            if (Math.Abs(v) < 1) within1++;
        }
        var mean = s1 / N;
        var variance = s2 / N - mean * mean;
        // Standard errors at N = 1e5: mean 0.0032, variance 0.0045, fourth moment 0.031, P(|z| < 1) 0.0015.
        Assert.InRange(mean, -0.015, 0.015);
        Assert.InRange(variance, 0.975, 1.025);
        Assert.InRange(s4 / N, 2.85, 3.15);
        Assert.InRange((double)within1 / N, 0.6827 - 0.008, 0.6827 + 0.008);
    }

    [Fact]
    public void UniformDrawsLieInTheirIntervals()
    {
        var g = new Generator(4);
        double sumD = 0, sumF = 0;
        for (var i = 0; i < 100_000; i++)
        {
            var d = g.NextDouble();
            var f = g.NextFloat();
            Assert.True(d is >= 0.0 and < 1.0, $"{d}");
            Assert.True(f is >= 0f and < 1f);
            sumD += d;
            sumF += f;
        }
        Assert.InRange(sumD / 100_000, 0.495, 0.505);
        Assert.InRange(sumF / 100_000, 0.495, 0.505);

        var buf = new float[50_000];
        g.FillUniform(buf, -3f, 5f);
        Assert.All(buf, v => Assert.True(v is >= -3f and < 5f, $"{v}"));
        Assert.InRange(buf.Average(), 0.95, 1.05);
    }
}
