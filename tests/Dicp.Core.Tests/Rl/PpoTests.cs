using System.Diagnostics;
using Dicp.Environments;
using Dicp.Rl;
using Xunit;
using Xunit.Abstractions;

namespace Dicp.Core.Tests.Rl;

public sealed class PpoTests(ITestOutputHelper output)
{
    private static VectorEnvironment Vec(Func<IEnvironment> make, int n) => new(_ => make(), n);

    [Fact]
    public void LearnsTwoArmedBandit()
    {
        var vec = Vec(() => new TwoArmedBandit(), 8);
        var ppo = new Ppo(vec[0].ObservationSpace, vec[0].ActionSpace, 8, new PpoOptions(NSteps: 16, MinibatchSize: 32, Epochs: 4, LearningRate: 3e-3f), seed: 1);
        var run = LockstepRunner.Run(ppo, vec, 400, seed: 0);
        var first = Mean(run, 0, 20);
        var last = run.MeanReturnOfLastEpisodes(50);
        output.WriteLine($"bandit: first {first:F3}, last {last:F3}");
        Assert.InRange(first, 0.3, 0.7);
        Assert.True(last > 0.95, $"mean return of the last 50 episodes is {last:F3}");
    }

    [Fact]
    public void LearnsContinuousTarget()
    {
        var vec = Vec(() => new QuadraticTarget(), 8);
        var ppo = new Ppo(vec[0].ObservationSpace, vec[0].ActionSpace, 8, new PpoOptions(NSteps: 16, MinibatchSize: 32, Epochs: 4, LearningRate: 3e-3f), seed: 2);
        var run = LockstepRunner.Run(ppo, vec, 1500, seed: 0);
        var first = Mean(run, 0, 20);
        var last = run.MeanReturnOfLastEpisodes(100);
        output.WriteLine($"quadratic: first {first:F3}, last {last:F3}, log-std {ppo.Policy.LogStd![0]:F3}");
        Assert.True(first < -0.2, $"initial mean return {first:F3}");
        Assert.True(last > -0.1, $"mean return of the last 100 episodes is {last:F3}");
        Assert.True(ppo.Policy.LogStd![0] < -0.3f, "the policy should become more certain");
    }

    [Fact]
    public void SameSeedGivesIdenticalActionsAndParameters()
    {
        (List<float> Actions, float[] Params) RunOnce(int seed)
        {
            var tasks = new DarkroomTasks();
            var vec = new VectorEnvironment(_ => tasks.Create(38), 8);
            var ppo = new Ppo(vec[0].ObservationSpace, vec[0].ActionSpace, 8, new PpoOptions(), seed);
            var actions = new List<float>();
            LockstepRunner.Run(ppo, vec, 60, seed: 0, onTransition: (in Transition t) => actions.AddRange(t.Actions.ToArray()));
            var ps = ppo.Policy.Parameters().SelectMany(p => p.ToArray()).ToArray();
            return (actions, ps);
        }
        var a = RunOnce(5);
        var b = RunOnce(5);
        var c = RunOnce(6);
        Assert.Equal(a.Actions, b.Actions);
        Assert.Equal(a.Params, b.Params);
        Assert.NotEqual(a.Params, c.Params);
    }

    [Fact]
    public void InitialisationFollowsTheSpecification()
    {
        var ppo = new Ppo(new BoxSpace([0f, 0f], [8f, 8f]), new DiscreteSpace(5), 4, seed: 0);
        var names = ppo.Policy.NamedParameters().Select(kv => kv.Key).ToArray();
        Assert.Equal(["policy.0.weight", "policy.0.bias", "policy.1.weight", "policy.1.bias", "policy.2.weight", "policy.2.bias",
            "value.0.weight", "value.0.bias", "value.1.weight", "value.1.bias", "value.2.weight", "value.2.bias"], names);
        foreach (var (name, p) in ppo.Policy.NamedParameters())
            if (name.EndsWith("bias", StringComparison.Ordinal)) Assert.All(p.ToArray(), v => Assert.Equal(0f, v));
        // Orthogonal rows of the policy head (5 × 64) have norm = gain 0.01.
        var head = ppo.Policy.Policy.NamedParameters().First(kv => kv.Key == "2.weight").Value.ToArray();
        for (var r = 0; r < 5; r++)
        {
            double s = 0;
            for (var c = 0; c < 64; c++) s += head[r * 64 + c] * head[r * 64 + c];
            Assert.Equal(0.01, Math.Sqrt(s), 4);
        }
        var cont = new Ppo(new BoxSpace([0f], [1f]), new BoxSpace([-1f, -1f], [1f, 1f]), 2, seed: 0);
        Assert.Equal([0f, 0f], cont.Policy.LogStd!.ToArray());
    }

    [Fact]
    public void ProtocolViolationsThrow()
    {
        var ppo = new Ppo(new BoxSpace([0f], [1f]), new DiscreteSpace(2), 2, new PpoOptions(NSteps: 1), seed: 0);
        var obs = new float[2];
        var act = new float[2];
        Assert.Throws<InvalidOperationException>(() => ppo.Observe(new float[2], new bool[2], obs));
        ppo.Act(obs, act);
        Assert.Throws<InvalidOperationException>(() => ppo.Act(obs, act));
        ppo.Observe(new float[2], new bool[2], obs);
        Assert.True(ppo.IsUpdateDue);
        Assert.Throws<InvalidOperationException>(() => ppo.Act(obs, act));
        Assert.Throws<ArgumentException>(() => ppo.Act(new float[3], act));
        ppo.Update();
        Assert.False(ppo.IsUpdateDue);
        Assert.Throws<InvalidOperationException>(() => ppo.Update());
    }

    /// <summary>The specification's Darkroom setting: 100 streams × 1000 steps per goal.</summary>
    [Fact]
    public void LearnsDarkroomGoals()
    {
        var tasks = new DarkroomTasks();
        int[] goals = [38, 51, 62, 5]; // (4,2) (5,6) (6,8) (0,5): test goals of the seed-0 split
        var results = new (double Last, float Max)[goals.Length];
        var sw = Stopwatch.StartNew();
        Parallel.For(0, goals.Length, g =>
        {
            var vec = new VectorEnvironment(_ => tasks.Create(goals[g]), 100);
            var ppo = new Ppo(vec[0].ObservationSpace, vec[0].ActionSpace, 100, PpoOptions.ForEnvironment("darkroom"), seed: goals[g]);
            var run = LockstepRunner.Run(ppo, vec, 1000, seed: goals[g]);
            results[g] = (run.MeanReturnOfLastEpisodes(5), tasks.Create(goals[g]).MaxReturn);
        });
        for (var g = 0; g < goals.Length; g++)
            output.WriteLine($"goal {tasks.Goal(goals[g])}: last-5-episode mean return {results[g].Last:F2} of max {results[g].Max}");
        output.WriteLine($"elapsed {sw.Elapsed.TotalSeconds:F1} s");
        var reached = results.Count(r => r.Last >= 0.8 * r.Max);
        Assert.True(reached >= 3, $"only {reached} of {goals.Length} goals reached 80 % of the max return");
    }

    private static double Mean(RunSummary run, int from, int count)
    {
        double s = 0;
        var n = 0;
        foreach (var r in run.EpisodeReturns)
            for (var i = from; i < Math.Min(r.Length, from + count); i++) { s += r[i]; n++; }
        return s / n;
    }
}
