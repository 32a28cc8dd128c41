namespace Dicp.Environments.MetaWorld;

/// <summary>
/// A bit-exact port of NumPy's legacy <c>numpy.random.RandomState</c> (MT19937) for integer seeds:
/// <c>seed</c>, <c>random_sample</c> and <c>uniform(low, high, size)</c>, so that Meta-World's task sampling
/// (<c>np.random.seed(seed)</c> then <c>np.random.uniform(low, high, size)</c>) can be reproduced exactly.
/// </summary>
/// <remarks>
/// <para><c>RandomState(seed)</c>/<c>np.random.seed(seed)</c> with an integer in [0, 2³²) uses MT19937's
/// <c>init_genrand(seed)</c> (not <c>init_by_array</c>, unlike CPython's <c>random</c>).
/// <c>random_sample</c> draws two 32-bit words <c>a</c>, <c>b</c> and returns
/// <c>((a &gt;&gt; 5)·2²⁶ + (b &gt;&gt; 6)) / 2⁵³</c>. <c>uniform(low, high)</c> returns
/// <c>low + (high − low)·random_sample()</c> element by element in order.</para>
/// <para>Not thread-safe.</para>
/// </remarks>
public sealed class NumpyRandomState
{
    private readonly Mt19937 _mt = new();

    /// <summary>Creates a generator seeded as <c>numpy.random.RandomState(seed)</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="seed"/> is outside [0, 2³²).</exception>
    public NumpyRandomState(long seed) => Seed(seed);

    /// <summary>Reseeds as <c>np.random.seed(seed)</c> does for an integer.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="seed"/> is outside [0, 2³²) (NumPy raises ValueError).</exception>
    public void Seed(long seed)
    {
        if (seed < 0 || seed > uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(seed), $"NumPy seeds must be between 0 and 2**32 - 1, got {seed}.");
        _mt.InitGenRand((uint)seed);
    }

    /// <summary>The next raw 32-bit MT19937 output.</summary>
    public uint NextUInt32() => _mt.NextUInt32();

    /// <summary><c>random_sample()</c>: a double in [0, 1) with 53 random bits.</summary>
    public double RandomSample() => _mt.NextDouble();

    /// <summary><c>uniform(low, high)</c> for scalars: <c>low + (high − low)·random_sample()</c>.</summary>
    public double Uniform(double low, double high) => low + (high - low) * RandomSample();

    /// <summary><c>uniform(low, high, size=len(low))</c> with per-element bounds, written into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The three spans differ in length.</exception>
    public void Uniform(ReadOnlySpan<double> low, ReadOnlySpan<double> high, Span<double> destination)
    {
        if (low.Length != high.Length || low.Length != destination.Length)
            throw new ArgumentException($"uniform bounds and destination differ in length: low {low.Length}, high {high.Length}, destination {destination.Length}.");
        for (var i = 0; i < low.Length; i++) destination[i] = low[i] + (high[i] - low[i]) * RandomSample();
    }
}
