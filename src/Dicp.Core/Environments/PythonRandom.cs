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
    private const int N = 624;
    private const int M = 397;
    private const uint MatrixA = 0x9908b0dfU;
    private const uint UpperMask = 0x80000000U;
    private const uint LowerMask = 0x7fffffffU;

    private readonly uint[] _mt = new uint[N];
    private int _index;

    /// <summary>Creates a generator seeded as by <c>random.seed(seed)</c>.</summary>
    public PythonRandom(long seed) => Seed(seed);

    /// <summary>Reseeds as <c>random.seed(seed)</c> does for an integer (the sign is ignored).</summary>
    public void Seed(long seed)
    {
        var n = seed < 0 ? (ulong)(-(seed + 1)) + 1UL : (ulong)seed; // |seed|, also for long.MinValue
        var hi = (uint)(n >> 32);
        if (hi != 0) InitByArray([(uint)n, hi]);
        else InitByArray([(uint)n]);
    }

    /// <summary>The next raw 32-bit output of MT19937 (CPython's <c>genrand_uint32</c>).</summary>
    public uint NextUInt32()
    {
        if (_index >= N) Generate();
        var y = _mt[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680U;
        y ^= (y << 15) & 0xefc60000U;
        y ^= y >> 18;
        return y;
    }

    /// <summary><c>random.random()</c>: a double in [0, 1) with 53 random bits.</summary>
    public double Random()
    {
        var a = NextUInt32() >> 5;
        var b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }

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

    private void InitGenRand(uint s)
    {
        _mt[0] = s;
        for (var i = 1; i < N; i++) _mt[i] = unchecked(1812433253U * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i);
        _index = N;
    }

    private void InitByArray(ReadOnlySpan<uint> key)
    {
        unchecked
        {
            InitGenRand(19650218U);
            int i = 1, j = 0;
            for (var k = Math.Max(N, key.Length); k > 0; k--)
            {
                _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1664525U)) + key[j] + (uint)j;
                i++; j++;
                if (i >= N) { _mt[0] = _mt[N - 1]; i = 1; }
                if (j >= key.Length) j = 0;
            }
            for (var k = N - 1; k > 0; k--)
            {
                _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1566083941U)) - (uint)i;
                i++;
                if (i >= N) { _mt[0] = _mt[N - 1]; i = 1; }
            }
            _mt[0] = 0x80000000U;
        }
    }

    private void Generate()
    {
        int kk;
        uint y;
        for (kk = 0; kk < N - M; kk++)
        {
            y = (_mt[kk] & UpperMask) | (_mt[kk + 1] & LowerMask);
            _mt[kk] = _mt[kk + M] ^ (y >> 1) ^ ((y & 1U) * MatrixA);
        }
        for (; kk < N - 1; kk++)
        {
            y = (_mt[kk] & UpperMask) | (_mt[kk + 1] & LowerMask);
            _mt[kk] = _mt[kk + (M - N)] ^ (y >> 1) ^ ((y & 1U) * MatrixA);
        }
        y = (_mt[N - 1] & UpperMask) | (_mt[0] & LowerMask);
        _mt[N - 1] = _mt[M - 1] ^ (y >> 1) ^ ((y & 1U) * MatrixA);
        _index = 0;
    }
}
