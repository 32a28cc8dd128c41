using Xunit;

namespace Dicp.Environments.Tests;

/// <summary>Check values generated with CPython 3.11's <c>random</c> module.</summary>
public class PythonRandomTests
{
    [Fact]
    public void GetRandBits32_MatchesCPython_Seed42()
    {
        // random.seed(42); [random.getrandbits(32) for _ in range(5)]
        var r = new PythonRandom(42);
        ulong[] expected = [2746317213, 478163327, 107420369, 3184935163, 1181241943];
        Assert.Equal(expected, Enumerable.Range(0, 5).Select(_ => r.GetRandBits(32)).ToArray());
    }

    [Fact]
    public void Random_MatchesCPython_Seed42()
    {
        // random.seed(42); [random.random() for _ in range(3)]
        var r = new PythonRandom(42);
        Assert.Equal(0.6394267984578837, r.Random());
        Assert.Equal(0.025010755222666936, r.Random());
        Assert.Equal(0.27502931836911926, r.Random());
    }

    [Fact]
    public void GetRandBits_VariousWidths_MatchCPython_Seed0()
    {
        // random.seed(0); [random.getrandbits(k) for k in (1, 7, 31, 32, 33, 53, 64)]
        var r = new PythonRandom(0);
        ulong[] expected = [1, 49, 1627694678, 3823568514, 1806341205, 8696133065399866, 8963783824838420066];
        int[] widths = [1, 7, 31, 32, 33, 53, 64];
        Assert.Equal(expected, widths.Select(r.GetRandBits).ToArray());
        Assert.Equal(0UL, r.GetRandBits(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => r.GetRandBits(65));
        Assert.Throws<ArgumentOutOfRangeException>(() => r.GetRandBits(-1));
    }

    [Fact]
    public void Seed_UsesAllWordsOfLargeSeeds_AndIgnoresSign()
    {
        // random.seed(2**40 + 5); random.seed(-7)
        var big = new PythonRandom((1L << 40) + 5);
        Assert.Equal(new[] { 2166296868UL, 2220160828UL, 1153647273UL }, new[] { big.GetRandBits(32), big.GetRandBits(32), big.GetRandBits(32) });
        var neg = new PythonRandom(-7);
        Assert.Equal(new[] { 1390851128UL, 4071050724UL, 647892279UL }, new[] { neg.GetRandBits(32), neg.GetRandBits(32), neg.GetRandBits(32) });
        var pos = new PythonRandom(7);
        var neg2 = new PythonRandom(-7);
        for (var i = 0; i < 10; i++) Assert.Equal(pos.NextUInt32(), neg2.NextUInt32());
    }

    [Fact]
    public void StateRegeneration_MatchesCPython_After700Draws()
    {
        // random.seed(1); [random.getrandbits(32) for _ in range(700)][-3:]  (crosses the 624-word refill)
        var r = new PythonRandom(1);
        var draws = Enumerable.Range(0, 700).Select(_ => r.GetRandBits(32)).ToArray();
        Assert.Equal([3103665995UL, 136407909UL, 3348972608UL], draws[^3..]);
    }

    [Fact]
    public void RandBelow_MatchesCPython_Seed123()
    {
        // r = random.Random(123); [r._randbelow(n) for n in (1, 2, 3, 10, 100, 1000, 6561, 2**31 - 1)]
        var r = new PythonRandom(123);
        long[] n = [1, 2, 3, 10, 100, 1000, 6561, int.MaxValue];
        long[] expected = [0, 1, 0, 6, 34, 110, 312, 814163306];
        Assert.Equal(expected, n.Select(r.RandBelow).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => r.RandBelow(0));
    }

    [Fact]
    public void RandInt_MatchesCPython_Seed9()
    {
        // random.seed(9); [random.randint(0, 100) for _ in range(5)]
        var r = new PythonRandom(9);
        Assert.Equal([59L, 78L, 47L, 34L, 17L], Enumerable.Range(0, 5).Select(_ => r.RandInt(0, 100)).ToArray());
    }

    [Fact]
    public void Shuffle_MatchesCPython_Seed5()
    {
        // random.seed(5); x = list(range(20)); random.shuffle(x)
        var span = Enumerable.Range(0, 20).ToArray();
        new PythonRandom(5).Shuffle(span.AsSpan());
        int[] expected = [4, 9, 6, 5, 14, 17, 18, 1, 2, 15, 10, 3, 12, 7, 13, 0, 16, 11, 8, 19];
        Assert.Equal(expected, span);
        var list = Enumerable.Range(0, 20).ToList();
        new PythonRandom(5).Shuffle(list);
        Assert.Equal(expected, list);
    }

    [Fact]
    public void Round_IsBankers()
    {
        Assert.Equal(2, PythonRandom.Round(2.5));
        Assert.Equal(4, PythonRandom.Round(3.5));
        Assert.Equal(-2, PythonRandom.Round(-2.5));
        Assert.Equal(73, PythonRandom.Round(81 * 0.9));
        Assert.Equal(6233, PythonRandom.Round(6561 * 0.95));
    }
}
