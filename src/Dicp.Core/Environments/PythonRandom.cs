namespace Dicp.Environments;

/// <summary>
/// A bit-exact port of CPython's <c>random.Random</c> (MT19937) for integer seeds: <c>seed</c>, <c>random</c>,
/// <c>getrandbits</c>, <c>_randbelow</c>, <c>randrange</c>/<c>randint</c> and <c>shuffle</c> produce the same values as
/// CPython 3.x, so task splits made by Python scripts can be reproduced exactly.
/// </summary>
/// <remarks>
/// <c>random.seed(a)</c> with an integer <c>a</c> feeds the 32-bit words of <c>|a|</c> (least significant first; a
/// single zero word for 0) to MT19937's <c>init_by_array</c>. Not thread-safe.
/// </remarks>
public sealed class PythonRandom
{
    private readonly Mt19937 _mt = new();

    /// <summary>Creates a generator seeded as by <c>random.seed(seed)</c>.</summary>
    public PythonRandom(long seed) => Seed(seed);

    /// <summary>Reseeds as <c>random.seed(seed)</c> does for an integer (the sign is ignored).</summary>
    public void Seed(long seed)
    {
        var n = seed < 0 ? (ulong)(-(seed + 1)) + 1UL : (ulong)seed; // |seed|, also for long.MinValue
        var hi = (uint)(n >> 32);
        if (hi != 0) _mt.InitByArray([(uint)n, hi]);
        else _mt.InitByArray([(uint)n]);
    }

    /// <summary>The next raw 32-bit output of MT19937 (CPython's <c>genrand_uint32</c>).</summary>
    public uint NextUInt32() => _mt.NextUInt32();

    /// <summary><c>random.random()</c>: a double in [0, 1) with 53 random bits.</summary>
    public double Random() => _mt.NextDouble();

    /// <summary><c>random.getrandbits(k)</c> for <c>0 ≤ k ≤ 64</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is outside [0, 64].</exception>
    public ulong GetRandBits(int k)
    {
        if ((uint)k > 64) throw new ArgumentOutOfRangeException(nameof(k), $"getrandbits supports 0 to 64 bits here, got {k}.");
        if (k == 0) return 0;
        if (k <= 32) return NextUInt32() >> (32 - k);
        // CPython fills 32-bit words least significant first; the last word keeps its top (k mod 32) bits.
        ulong low = NextUInt32();
        ulong high = NextUInt32() >> (64 - k);
        return low | (high << 32);
    }

    /// <summary>
    /// <c>random._randbelow(n)</c>: a uniform integer in [0, n) by rejection sampling on
    /// <c>getrandbits(n.bit_length())</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not positive.</exception>
    public long RandBelow(long n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"randbelow needs n > 0, got {n}.");
        var k = 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)n);
        var r = GetRandBits(k);
        while (r >= (ulong)n) r = GetRandBits(k);
        return (long)r;
    }

    /// <summary><c>random.randrange(start, stop)</c>: a uniform integer in [start, stop).</summary>
    /// <exception cref="ArgumentException">The range is empty.</exception>
    public long RandRange(long start, long stop)
    {
        if (stop <= start) throw new ArgumentException($"Empty range for randrange({start}, {stop}).", nameof(stop));
        return start + RandBelow(stop - start);
    }

    /// <summary><c>random.randint(a, b)</c>: a uniform integer in [a, b].</summary>
    /// <exception cref="ArgumentException"><paramref name="b"/> is less than <paramref name="a"/>.</exception>
    public long RandInt(long a, long b) => RandRange(a, b + 1);

    /// <summary><c>random.shuffle(x)</c>: Fisher–Yates from the end, <c>j = _randbelow(i + 1)</c> for <c>i = len−1 … 1</c>.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = (int)RandBelow(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary><c>random.shuffle(x)</c> on a list.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = (int)RandBelow(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Python's built-in <c>round(x)</c> to an integer: round half to even.</summary>
    public static long Round(double x) => (long)Math.Round(x, MidpointRounding.ToEven);
}
