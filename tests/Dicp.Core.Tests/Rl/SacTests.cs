using Dicp.Environments;
using Dicp.Rl;
using Dicp.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace Dicp.Core.Tests.Rl;

public sealed class SacTests(ITestOutputHelper output)
{
    private static readonly BoxSpace Obs2 = new([-10f, -10f], [10f, 10f]);
    private static readonly BoxSpace Act2 = new([-1f, -1f], [1f, 1f]);

    [Fact]
    public void SoftQTargetMatchesHandComputation()
    {
        // y = r + γ(1 − d)(min(q1', q2') − α log π'): 1 + 0.9·(2 − 0.2·(−1)) = 2.98; the terminal row is just r.
        var y = new float[3];
        Sac.SoftQTarget([1f, -0.5f, 0f], [1f, 0f, 1f], [2f, 5f, -1f], [3f, 1f, -4f], [-1f, 4f, 0.5f], alpha: 0.2f, gamma: 0.9f, y);
        Assert.Equal(2.98f, y[0], 5);
        Assert.Equal(-0.5f, y[1], 6);
        Assert.Equal(0.9f * (-4f - 0.1f), y[2], 5);
    }

    [Fact]
    public void EntropyCoefficientGradientMatchesHandComputation()
    {
        // L = −log α · mean(log π + H̄); dL/dlog α = −mean(−1 − 2, −3 − 2) = 4: entropy 2 exceeds the target −2, α must fall.
        Assert.Equal(4f, Sac.EntropyCoefficientGradient([-1f, -3f], targetEntropy: -2f), 6);
        Assert.Equal(-0.5f, Sac.EntropyCoefficientGradient([1f, 0f], targetEntropy: 0f), 6);
    }

    [Fact]
    public void SquashedGaussianLogProbIncludesTheTanhCorrection()
    {
        var actor = new SacActor(2, 2, new SacOptions(HiddenSize: 8), new Generator(3));
        var s = Tensor.FromArray([0.3f, -0.7f, 1.5f, 0.2f, -2f, 0.9f], 3, 2);
        var eps = Tensor.FromArray([0.5f, -1.2f, 0f, 2f, -0.3f, 0.8f], 3, 2);
        var (mean, logStd) = actor.Distribution(s);
        var (a, logp) = actor.Sample(s, eps);
        for (var r = 0; r < 3; r++)
        {
            double expected = 0;
            for (var j = 0; j < 2; j++)
            {
                int k = r * 2 + j;
                double ls = logStd[k], e = eps[k];
                Assert.InRange(ls, -5.0, 2.0);
                var u = mean[k] + Math.Exp(ls) * e;
                var act = Math.Tanh(u);
                Assert.Equal(act, a[k], 1e-5);
                expected += -0.5 * e * e - ls - 0.5 * Math.Log(2 * Math.PI) - Math.Log(1 - act * act + 1e-6);
            }
            Assert.Equal(expected, logp[r], 1e-4);
        }
    }

    [Fact]
    public void OneGradientStepMovesAlphaAndTargetsAsSpecified()
    {
        var o = new SacOptions(HiddenSize: 16, LearningStarts: 8, BatchSize: 8, GradientSteps: 1, Tau: 0.1f);
        var sac = new Sac(Obs2, Act2, 4, o, seed: 11);
        var obs = new float[8];
        var act = new float[8];
        for (var t = 0; t < 2; t++)
        {
            for (var k = 0; k < obs.Length; k++) obs[k] = 0.1f * (k + t);
            sac.Act(obs, act);
            foreach (var v in act) Assert.InRange(v, -1f, 1f);
            sac.Observe([0f, 1f, -1f, 0.5f], [false, false, true, false], obs);
        }
        Assert.True(sac.IsUpdateDue);
        Assert.Equal(8, sac.BufferCount);
        var oldTarget = sac.CriticTarget.Parameters().SelectMany(p => p.ToArray()).ToArray();
        var stats = sac.Update();
        Assert.Equal(1, stats.GradientSteps);
        Assert.Equal(1f, stats.EntropyCoefficient); // α before its first step
        // Adam's first step moves log α by lr · sign(gradient), gradient = entropy − H̄ with H̄ = −2.
        var expectedLogAlpha = -o.LearningRate * MathF.Sign(stats.Entropy - sac.TargetEntropy);
        Assert.Equal(-2f, sac.TargetEntropy);
        Assert.Equal(expectedLogAlpha, MathF.Log(sac.EntropyCoefficient), 6);
        // Polyak: θ' = 0.9 θ'_old + 0.1 θ (θ after its step).
        var online = sac.Critic.Parameters().SelectMany(p => p.ToArray()).ToArray();
        var target = sac.CriticTarget.Parameters().SelectMany(p => p.ToArray()).ToArray();
        for (var i = 0; i < target.Length; i++) Assert.Equal(0.9f * oldTarget[i] + 0.1f * online[i], target[i], 5);
        Assert.Contains(Enumerable.Range(0, online.Length), i => online[i] != oldTarget[i]); // the critics moved
        Assert.True(float.IsFinite(stats.PolicyLoss) && float.IsFinite(stats.ValueLoss));
    }

    [Fact]
    public void SameSeedGivesIdenticalActionsAndParameters()
    {
        (List<float> Actions, float[] Params) RunOnce(int seed)
        {
            var tasks = new PointRobotTasks();
            var vec = new VectorEnvironment(_ => tasks.Create(7), 3);
            var sac = new Sac(vec[0].ObservationSpace, vec[0].ActionSpace, 3, new SacOptions(HiddenSize: 32, LearningStarts: 12, BatchSize: 16, GradientSteps: 2), seed);
            var actions = new List<float>();
            LockstepRunner.Run(sac, vec, 30, seed: 0, onTransition: (in Transition t) => actions.AddRange(t.Actions.ToArray()));
            return (actions, [.. sac.Actor.Parameters().SelectMany(p => p.ToArray()), .. sac.Critic.Parameters().SelectMany(p => p.ToArray())]);
        }
        var a = RunOnce(5);
        var b = RunOnce(5);
        var c = RunOnce(6);
        Assert.Equal(a.Actions, b.Actions);
        Assert.Equal(a.Params, b.Params);
        Assert.NotEqual(a.Actions, c.Actions);
    }

    [Fact]
    public void LearnsPointRobot()
    {
        // A goal on the unit circle, 20-step episodes; random actions return about −20, reaching the goal about −5.
        var tasks = new PointRobotTasks();
        var vec = new VectorEnvironment(_ => tasks.Create(30), 4);
        var o = new SacOptions(HiddenSize: 64, LearningRate: 1e-3f, BatchSize: 64, GradientSteps: 2);
        var sac = new Sac(vec[0].ObservationSpace, vec[0].ActionSpace, 4, o, seed: 1);
        var run = LockstepRunner.Run(sac, vec, 1600, seed: 0);
        var first = run.EpisodeReturns.Average(r => r.Take(3).Average());
        var last = run.MeanReturnOfLastEpisodes(5);
        output.WriteLine($"point robot: first {first:F2}, last {last:F2}, alpha {sac.EntropyCoefficient:F4}, updates {sac.Updates}");
        Assert.True(first < -12, $"initial mean return {first:F2}");
        Assert.True(last > -7, $"mean return of the last 5 episodes per stream is {last:F2}");
    }

    [Fact]
    public void RejectsDiscreteAndUnboundedActionsAndProtocolViolations()
    {
        Assert.Throws<ArgumentException>(() => new Sac(Obs2, new DiscreteSpace(4), 1));
        Assert.Throws<ArgumentException>(() => new Sac(Obs2, new BoxSpace([float.NegativeInfinity], [1f]), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sac(Obs2, Act2, 1, new SacOptions(BatchSize: 0)));
        var sac = new Sac(Obs2, Act2, 1, new SacOptions(HiddenSize: 8));
        var act = new float[2];
        Assert.Throws<InvalidOperationException>(() => sac.Observe([0f], [false], [0f, 0f]));
        sac.Act([0f, 0f], act);
        Assert.Throws<InvalidOperationException>(() => sac.Act([0f, 0f], act));
        Assert.Throws<ArgumentException>(() => sac.Observe([0f, 1f], [false], [0f, 0f]));
        Assert.Throws<InvalidOperationException>(() => sac.Update());
    }
}
