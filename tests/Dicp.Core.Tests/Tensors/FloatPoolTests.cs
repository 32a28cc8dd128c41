using Dicp.Kernels;
using Xunit;

namespace Dicp.Tests.Tensors;

/// <summary>The array pool's bound: what it keeps, what it evicts (least recently used sizes first), and that it reuses arrays.</summary>
public class FloatPoolTests
{
    [Fact]
    public void AReturnedArrayIsRentedAgainAndCountedWhileHeld()
    {
        var pool = new FloatPool(1000);
        var a = pool.Rent(300, clear: false);
        pool.Return(a);
        Assert.Equal(300, pool.RetainedFloats);
        Assert.Same(a, pool.Rent(300, clear: false));
        Assert.Equal(0, pool.RetainedFloats);
        a[7] = 5f;
        pool.Return(a);
        Assert.Equal(0f, pool.Rent(300, clear: true)[7]);
    }

    [Fact]
    public void PastTheLimitTheLeastRecentlyUsedSizeIsEvictedAndTheNewestKept()
    {
        var pool = new FloatPool(1000);
        float[] a1 = new float[300], a2 = new float[300], b = new float[400], c = new float[500];
        pool.Return(a1);
        pool.Return(a2); // size 300: 600 floats
        pool.Return(b);  // 1000: at the limit
        Assert.Equal(1000, pool.RetainedFloats);
        pool.Rent(400, clear: false); // size 400 is now the most recently used; b is out
        pool.Return(b);
        pool.Return(c); // 1500 > 1000: size 300 (least recently used) goes, 400 + 500 stay
        Assert.Equal(900, pool.RetainedFloats);
        Assert.Same(c, pool.Rent(500, clear: false));
        Assert.Same(b, pool.Rent(400, clear: false));
        Assert.NotSame(a1, pool.Rent(300, clear: false));
        Assert.Equal(0, pool.RetainedFloats);
    }

    [Fact]
    public void AGrowingContextStaysWithinTheLimitAndItsSteadySizeIsReused()
    {
        // An evaluation whose window grows: every step a new size (1 … 200 transitions), then the same size forever.
        const long limit = 128 * 1024; // four arrays of the steady size (4 × 25 600 floats) fit, all 200 sizes would not
        var pool = new FloatPool(limit);
        for (var len = 1; len <= 200; len++)
        {
            var held = Enumerable.Range(0, 4).Select(_ => pool.Rent(len * 128, clear: false)).ToArray();
            foreach (var x in held) pool.Return(x);
            Assert.True(pool.RetainedFloats <= limit, $"{pool.RetainedFloats} floats kept at length {len}");
        }
        var steady = Enumerable.Range(0, 4).Select(_ => pool.Rent(200 * 128, clear: false)).ToArray();
        foreach (var x in steady) pool.Return(x);
        var again = Enumerable.Range(0, 4).Select(_ => pool.Rent(200 * 128, clear: false)).ToArray();
        Assert.All(steady, x => Assert.Contains(again, y => ReferenceEquals(x, y)));
        Assert.True(pool.Sizes < 200, $"{pool.Sizes} sizes held");
    }

    [Fact]
    public void AnArrayLargerThanTheLimitAndTheSixtyFifthOfASizeAreNotKept()
    {
        var pool = new FloatPool(100);
        pool.Return(new float[101]);
        Assert.Equal(0, pool.RetainedFloats);
        var big = new FloatPool(1000);
        for (var i = 0; i < 70; i++) big.Return(new float[1]);
        Assert.Equal(64, big.RetainedFloats);
    }

    [Fact]
    public void TheSharedPoolsLimitIsAQuarterOfTheAvailableMemoryAndAtLeast256MiB()
    {
        var expected = Math.Max(64L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 16);
        Assert.Equal(expected, BufferPool.Shared.LimitFloats);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FloatPool(0));
    }
}
