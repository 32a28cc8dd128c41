using Dicp.Environments.MetaWorld;
using Xunit;

namespace Dicp.Environments.Tests.MetaWorld;

/// <summary>Check values generated with NumPy 1.24.2 (Debian's python3-numpy): legacy <c>RandomState</c>.</summary>
public class NumpyRandomStateTests
{
    [Fact]
    public void RandomSample_MatchesNumpy_Seed0()
    {
        // np.random.RandomState(0).random_sample(3)
        var r = new NumpyRandomState(0);
        Assert.Equal(0.5488135039273248, r.RandomSample());
        Assert.Equal(0.7151893663724195, r.RandomSample());
        Assert.Equal(0.6027633760716439, r.RandomSample());
    }

    [Fact]
    public void RandomSample_MatchesNumpy_LargestSeed_AndAfterRegeneration()
    {
        // np.random.RandomState(4294967295).random_sample(2)
        var r = new NumpyRandomState(4294967295);
        Assert.Equal(0.0976320289940138, r.RandomSample());
        Assert.Equal(0.9123828453026218, r.RandomSample());
        // r = RandomState(7); r.random_sample(1000); r.random_sample(1) — crosses several 624-word regenerations.
        var s = new NumpyRandomState(7);
        for (var i = 0; i < 1000; i++) s.RandomSample();
        Assert.Equal(0.08378587007198324, s.RandomSample());
    }

    [Fact]
    public void Uniform_WithPerElementBounds_MatchesNumpy_Seed42()
    {
        // np.random.seed(42); np.random.uniform(low, high, size=6) with reach-v2's random reset space
        var r = new NumpyRandomState(42);
        var v = new double[6];
        r.Uniform(ReachV2.Low, ReachV2.High, v);
        double[] expected = [-0.025091976230527502, 0.6950714306409915, 0.02, 0.019731696839407314, 0.8156018640442437, 0.08899863008405066];
        Assert.Equal(expected, v);
    }

    [Fact]
    public void Seed_OutsideNumpyRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NumpyRandomState(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NumpyRandomState(1L << 32));
    }

    [Fact]
    public void Ml1Variations_MatchNumpyRejectionSampling()
    {
        // np.random.seed(seed); per variation: v = uniform(low, high, 6) until |v[:2] - v[3:5]| >= 0.15 (reach-v2);
        // seed 0 is ML1's train split (7 rejections among the 50), seed 1 its test split.
        var kind = MetaWorldTasks.Get("reach-v2");
        var train = MetaWorldTasks.SampleVariations(kind, 0);
        Assert.Equal([0.009762700785464956, 0.6715189366372419, 0.02, 0.008976636599379376, 0.8423654799338905, 0.21147352826666405], train[0]);
        Assert.Equal([-0.048115487130929016, 0.6373813137932561, 0.02, -0.0454356195151066, 0.8370852799217889, 0.09926357004640991], train[49]);
        var test = MetaWorldTasks.SampleVariations(kind, 1);
        Assert.Equal([-0.06274795772446581, 0.6345560727043047, 0.02, 0.007763346800671395, 0.8419194514403295, 0.2213048750991899], test[0]);
        Assert.Equal([-0.03512750805476271, 0.687292237640011, 0.02, 0.007688118518908743, 0.8866608274166513, 0.2874514978384066], test[49]);
        var peg = MetaWorldTasks.SampleVariations(MetaWorldTasks.Get("peg-insert-side-v2"), 1);
        Assert.Equal([0.08340440094051481, 0.6440648986884316, 0.02, -0.319766742736816, 0.4440267672451339, -0.0008153228104624044], peg[0]);
        var sweep = MetaWorldTasks.SampleVariations(MetaWorldTasks.Get("sweep-v2"), 1);
        Assert.Equal([-0.016595599059485197, 0.6720324493442158, 0.02], sweep[0]);
        Assert.Equal([0.04259779607653533, 0.6559716982054142, 0.02], sweep[49]);
    }
}
