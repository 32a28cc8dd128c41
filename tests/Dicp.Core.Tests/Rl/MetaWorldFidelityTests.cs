using Dicp.Autograd;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.Rl;
using Dicp.Tensors;
using Xunit;

namespace Dicp.Core.Tests.Rl;

/// <summary>A 1-d task with a narrow action box [−0.1, 0.1] and a 3-step horizon; it records the actions it receives.</summary>
internal sealed class NarrowBoxTask : IEnvironment
{
    private int _t;
    public List<float> Received { get; } = [];
    public Space ObservationSpace { get; } = new BoxSpace([-10f], [10f]);
    public Space ActionSpace { get; } = new BoxSpace([-0.1f], [0.1f]);
    public int MaxEpisodeSteps => 3;

    public void Reset(int seed, Span<float> observation) => (observation[0], _t) = (0f, 0);

    public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
    {
        Received.Add(action[0]);
        _t++;
        nextObservation[0] = _t;
        return new StepResult(1f, false, _t == MaxEpisodeSteps, false);
    }
}

/// <summary>The Meta-World fidelity points of the source algorithms and the success metric (reference.md §7).</summary>
public class MetaWorldFidelityTests
{
    [Fact]
    public void PpoRecordsTheUnclippedSampleAndTheEnvironmentReceivesTheClippedOne()
    {
        foreach (var record in new[] { true, false })
        {
            var env = new NarrowBoxTask();
            var vec = new VectorEnvironment([env]);
            var ppo = new Ppo(env.ObservationSpace, env.ActionSpace, 1, new PpoOptions(NSteps: 10, MinibatchSize: 10, Epochs: 1, RecordSampledActions: record), seed: 3);
            var recorded = new List<float>();
            LockstepRunner.Run(ppo, vec, 30, 0, (in Transition tr) => recorded.Add(tr.Actions[0]));
            Assert.Equal(30, recorded.Count);
            Assert.All(env.Received, a => Assert.InRange(a, -0.1f, 0.1f)); // the environment always gets the clipped action
            // log-std 0: most samples lie outside ±0.1.
            var outside = recorded.Count(a => MathF.Abs(a) > 0.1f);
            if (record)
            {
                Assert.True(outside > 15, $"{outside} of 30 recorded samples outside the box");
                for (var i = 0; i < 30; i++) Assert.Equal(Math.Clamp(recorded[i], -0.1f, 0.1f), env.Received[i]);
            }
            else
            {
                Assert.Equal(0, outside);
                Assert.Equal(env.Received, recorded);
            }
        }
        Assert.True(PpoOptions.ForEnvironment("metaworld-ml1-reach").RecordSampledActions);
        Assert.False(PpoOptions.ForEnvironment("darkroom").RecordSampledActions);
    }

    [Fact]
    public void PpoBootstrapsATimeOutFromTheValueOfTheFinalObservation()
    {
        var env = new NarrowBoxTask();
        foreach (var bootstrap in new[] { true, false })
            foreach (var truncated in new[] { true, false })
            {
                var ppo = new Ppo(env.ObservationSpace, env.ActionSpace, 2, new PpoOptions(NSteps: 4, MinibatchSize: 8, Epochs: 1, BootstrapTruncation: bootstrap), seed: 1);
                var actions = new float[2];
                ppo.Act([0f, 0f], actions);
                // Stream 0's episode ends here (a time-out or a termination), stream 1's goes on.
                ppo.Observe([1f, 1f], [true, false], [0f, 1f], [truncated, false], [0.7f, 1f]);
                float v;
                using (GradMode.NoGrad())
                    v = ppo.Policy.Value.Forward(new Tensor([0.7f], [1, 1])).Span[0];
                Assert.NotEqual(0f, v);
                var expected = bootstrap && truncated ? 1f + 0.99f * v : 1f; // SB3: r += γ·V(terminal observation)
                Assert.Equal(expected, ppo.RolloutRewards[0], 6);
                Assert.Equal(1f, ppo.RolloutRewards[1]);
            }
        Assert.True(PpoOptions.ForEnvironment("metaworld-ml1-push").BootstrapTruncation);
        Assert.False(PpoOptions.ForEnvironment("darkroom").BootstrapTruncation);
    }

    [Fact]
    public void SacDoesNotTreatATimeOutAsTerminalAndStoresTheFinalObservation()
    {
        var env = new NarrowBoxTask();
        foreach (var truncated in new[] { true, false })
        {
            var sac = new Sac(env.ObservationSpace, env.ActionSpace, 1, new SacOptions(HiddenSize: 8), seed: 0, maxTransitions: 10);
            var actions = new float[1];
            sac.Act([2f], actions);
            sac.Observe([1f], [true], [0f], [truncated], [3f]); // auto-reset observation 0, true final observation 3
            float[] o = new float[1], a = new float[1], r = new float[1], next = new float[1], notDone = new float[1];
            sac.Buffer.Sample(new Generator(0), o, a, r, next, notDone);
            Assert.Equal(2f, o[0]);
            Assert.Equal(3f, next[0]);
            Assert.Equal(truncated ? 1f : 0f, notDone[0]); // time-out: bootstrap; termination: terminal
        }
    }

    [Fact]
    public void SacLogStdIsClampedToMinus20And2AsStableBaselines3()
    {
        var o = new SacOptions();
        Assert.Equal((-20f, 2f, false), (o.LogStdMin, o.LogStdMax, o.SquashLogStd));
        var x = new Tensor([-30f, -20f, 0.5f, 2f, 7f], [5]) { RequiresGrad = true };
        var y = Ops.Clamp(x, -20f, 2f);
        Assert.Equal([-20f, -20f, 0.5f, 2f, 2f], y.Span.ToArray());
        Ops.Sum(y).Backward();
        Assert.Equal([0f, 1f, 1f, 1f, 0f], x.Grad!.AsSpan(0, 5).ToArray()); // no gradient where clamped (bounds pass it, as torch)

        foreach (var squash in new[] { false, true })
        {
            var actor = new SacActor(1, 1, new SacOptions(HiddenSize: 4, SquashLogStd: squash, LogStdMin: squash ? -5f : -20f), new Generator(0));
            var bias = actor.StateDict()["log_std.bias"];
            foreach (var (b, clamped) in new[] { (100f, 2f), (-100f, squash ? -5f : -20f) })
            {
                bias.Span[0] = b;
                using (GradMode.NoGrad())
                    Assert.Equal(clamped, actor.Distribution(new Tensor([0.3f], [1, 1])).LogStd.Span[0], 4);
            }
        }
    }

    [Fact]
    public void CumulativeSuccessIsTheRunningMaxOverEpisodesAveragedOverTasks()
    {
        bool[][] s =
        [
            [false, true, false, false],
            [false, false, false, true],
            [false, false, false, false],
            [true, false, false, false],
        ];
        Assert.Equal([0.25, 0.5, 0.5, 0.75], EvaluationResult.CumulativeSuccessRate(s));
        var r = new EvaluationResult("ad", "none", new Dictionary<string, object>(), s.Select(t => new float[4]).ToArray(), s, 400, new EvaluationOptions(4, 0, true));
        Assert.Equal([0.25, 0.25, 0.0, 0.25], r.SuccessRatePerEpisode!); // per episode
        Assert.Equal([0.25, 0.5, 0.5, 0.75], r.CumulativeSuccessRatePerEpisode!);
        Assert.Contains("\"cumulative_success_rate_per_episode\"", r.ToJson());
    }
}
