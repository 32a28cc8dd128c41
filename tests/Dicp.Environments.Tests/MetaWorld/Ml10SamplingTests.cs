using Dicp.Environments.MetaWorld;
using Xunit;

namespace Dicp.Environments.Tests.MetaWorld;

/// <summary>Check values from NumPy 1.24.2: one <c>np.random.seed</c> per split, tasks in ML10's order, 50 each with rejection.</summary>
public class Ml10SamplingTests
{
    [Fact]
    public void TrainAndTestVariations_MatchNumpy()
    {
        var train = Ml10Sampling.Sample(0).ToDictionary(t => t.Task, t => t.Variations);
        Assert.Equal(Ml10Sampling.TrainTasks, Ml10Sampling.Sample(0).Select(t => t.Task));
        Assert.All(train.Values, v => Assert.Equal(50, v.Length));
        Assert.Equal([0.09391609090873704, 0.9006312224023388, 0.15], train["door-open-v2"][0]);
        Assert.Equal([0.0816364305519856, 0.9052581332510504, 0.15], train["door-open-v2"][49]);
        Assert.Equal([-0.07688773727993721, 0.7434557944675663, 0.16], train["window-open-v2"][0]);
        Assert.Equal([0.04210106572603972, 0.6505113438617738, 0.02999575452736354, -0.05121183622662171, 0.8861076105000818, 0.0], train["basketball-v2"][49]);
        // ML10's reach variations are the first 50 draws after seeding, as in ML1 with the same seed.
        Assert.Equal(MetaWorldTasks.SampleVariations(MetaWorldTasks.Get("reach-v2"), 0), train["reach-v2"]);

        var test = Ml10Sampling.Sample(0, test: true).ToDictionary(t => t.Task, t => t.Variations);
        Assert.Equal([0.06237173954410796, 0.5874961644955898, 0.020376826504771888, 0.013898882549075148, 0.8160971436815609, 0.2999337600455266], test["shelf-place-v2"][0]);
        Assert.Equal([-0.004597401119547359, 0.7448878836706766, 0.0], test["lever-pull-v2"][0]);
        Assert.Equal([0.07939701390151652, 0.7203380832824051, 0.0], test["lever-pull-v2"][49]);
    }
}
