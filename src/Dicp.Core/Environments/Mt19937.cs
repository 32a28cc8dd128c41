namespace Dicp.Environments;

/// <summary>
/// The MT19937 Mersenne Twister as in Matsumoto and Nishimura's reference code, the generator behind CPython's
/// <c>random</c> (<see cref="PythonRandom"/>) and NumPy's legacy <c>RandomState</c>; the two differ only in how an
/// integer seed is fed in (<see cref="InitByArray"/> vs <see cref="InitGenRand"/>).
/// </summary>
/// <remarks>Not thread-safe. A new instance is seeded with <c>InitGenRand(5489)</c>, the reference default.</remarks>
public sealed class Mt19937
{
    private const int N = 624;
    private const int M = 397;
    private const uint MatrixA = 0x9908b0dfU;
    private const uint UpperMask = 0x80000000U;
    private const uint LowerMask = 0x7fffffffU;

    private readonly uint[] _mt = new uint[N];
    private int _index;

    /// <summary>Creates a generator seeded with the reference default <c>init_genrand(5489)</c>.</summary>
    public Mt19937() => InitGenRand(5489U);

    /// <summary><c>init_genrand(s)</c>: seeds from one 32-bit word (NumPy's <c>RandomState(seed)</c>).</summary>
    public void InitGenRand(uint s)
    {
        _mt[0] = s;
        for (var i = 1; i < N; i++) _mt[i] = unchecked(1812433253U * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i);
        _index = N;
    }

    /// <summary><c>init_by_array(key)</c>: seeds from 32-bit words (CPython's <c>random.seed(int)</c>).</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is empty.</exception>
    public void InitByArray(ReadOnlySpan<uint> key)
    {
        if (key.IsEmpty) throw new ArgumentException("init_by_array needs at least one key word.", nameof(key));
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

    /// <summary>The next tempered 32-bit output (<c>genrand_int32</c>).</summary>
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

    /// <summary>
    /// <c>genrand_res53</c>: a double in [0, 1) with 53 random bits, <c>((a &gt;&gt; 5)·2²⁶ + (b &gt;&gt; 6)) / 2⁵³</c>
    /// from two outputs — CPython's <c>random()</c> and NumPy's <c>random_sample()</c>.
    /// </summary>
    public double NextDouble()
    {
        var a = NextUInt32() >> 5;
        var b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }

    /// <summary>Regenerates the 624 words of state.</summary>
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
