using Dicp.Environments;
using Dicp.Rl;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Core.Tests.Rl;

/// <summary>
/// PPO's updates on a fixed rollout (Darkroom, discrete; a quadratic target, continuous) against the parameters the
/// earlier implementation produced (<c>Fixtures/ppo-update.safetensors</c>, written by the code that differentiated a
/// stand-in loss with a hand-derived gradient of the clipped objective): the objective written with engine ops
/// (<c>Ops.Max</c>, <c>Ops.Clamp</c>, as cleanrl writes it) gives the same update within 1e-6.
/// </summary>
public sealed class PpoUpdateFixtureTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static IReadOnlyDictionary<string, float[]> Run(string kind)
    {
        var vec = kind == "discrete"
            ? new VectorEnvironment(_ => new DarkroomTasks().Create(38), 8)
            : new VectorEnvironment(_ => new QuadraticTarget(), 8);
        // Clip range 0.1 and 4 epochs so that some samples leave the clip range; 2 updates.
        var ppo = new Ppo(vec[0].ObservationSpace, vec[0].ActionSpace, 8,
            new PpoOptions(NSteps: 16, MinibatchSize: 32, Epochs: 4, LearningRate: 3e-3f, ClipRange: 0.1f, EntropyCoef: 0.01f), seed: 3);
        LockstepRunner.Run(ppo, vec, 32, seed: 0);
        var result = new Dictionary<string, float[]>();
        var i = 0;
        foreach (var p in ppo.Policy.Parameters()) result[$"{kind}.p{i++}"] = p.ToArray();
        return result;
    }

    [Theory]
    [InlineData("discrete")]
    [InlineData("continuous")]
    public void UpdatesMatchTheEarlierImplementation(string kind)
    {
        var fixture = Fixtures.Load("ppo-update.safetensors");
        var now = Run(kind);
        Assert.Equal(fixture.Names.Where(n => n.StartsWith(kind + ".", StringComparison.Ordinal)).Order(), now.Keys.Order());
        var worst = 0.0;
        foreach (var (name, values) in now)
        {
            var expected = fixture.GetTensor(name).Data;
            Assert.Equal(expected.Length, values.Length);
            for (var j = 0; j < values.Length; j++) worst = Math.Max(worst, Math.Abs(expected[j] - values[j]));
        }
        output.WriteLine($"{kind}: largest parameter difference {worst:E2}");
        Assert.True(worst <= 1e-6, $"{kind}: largest parameter difference {worst:E2}");
    }
}
