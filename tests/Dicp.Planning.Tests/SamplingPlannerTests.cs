using Xunit;

namespace Dicp.Planning.Tests;

public class SamplingPlannerTests
{
    private static readonly float[] Target = [0.5f, -0.2f];

    /// <summary>Reward −‖a − target‖² (the state plays no part).</summary>
    private static float Quadratic(float[] s, float[] a, float[] next) => -((a[0] - Target[0]) * (a[0] - Target[0]) + (a[1] - Target[1]) * (a[1] - Target[1]));

    private static PlanRequest Request(int envs, int episodeStep = 60) =>
        new(new float[envs * 2], Enumerable.Repeat(episodeStep, envs).ToArray(), Enumerable.Repeat(40, envs).ToArray());

    [Fact]
    public void PicksTheCandidateWithTheHighestPredictedReward()
    {
        var model = FakeModel.Point(2, Quadratic, [0f, 0f], [0f, 0f]);
        var session = ((FakeSession)model.CreateSession(3)).Full();
        var planner = new SamplingPlanner(new SamplingOptions(Seed: 2));
        var actions = new float[6];
        var trace = new PlanTrace();
        planner.Plan(session, Request(3), actions, trace);
        var samplesWon = 0;

        Assert.Equal(3, session.Calls.Count);                          // one Predict per environment
        for (var e = 0; e < 3; e++)
        {
            var call = session.Calls[e];
            Assert.Equal((e, 10, 0), (call.Environment, call.Count, call.Depth));
            Assert.Equal(new float[] { 0, 0 }, call.QueryActions[..2]);  // candidate 0 is the policy mean
            var rewards = Enumerable.Range(0, 10).Select(c => Quadratic([], call.QueryActions[(2 * c)..(2 * c + 2)], [])).ToArray();
            var best = Array.IndexOf(rewards, rewards.Max());
            Assert.Equal(call.QueryActions[(2 * best)..(2 * best + 2)], actions[(2 * e)..(2 * e + 2)]);
            Assert.Equal(rewards.Max(), trace.PredictedRewards[e][0]);
            if (best != 0) samplesWon++;
        }
        Assert.True(samplesWon > 0);                                    // not merely the mean every time
    }

    [Fact]
    public void CandidatesAreClippedToTheBox()
    {
        var model = FakeModel.Point(2, (_, a, _) => a[0] - a[1], [3f, -3f], [-2f, -2f]);
        var session = ((FakeSession)model.CreateSession(1)).Full();   // the fake rejects actions outside [−1, 1]²
        var actions = new float[2];
        new SamplingPlanner(new SamplingOptions(Candidates: 5)).Plan(session, Request(1), actions);
        Assert.Equal(new float[] { 1, -1 }, session.Calls[0].QueryActions[..2]);
        Assert.Equal(new float[] { 1, -1 }, actions);
    }

    [Fact]
    public void ActsFromThePolicyBeforeTheStartStepOrAFullWindow()
    {
        var model = FakeModel.Point(2, Quadratic, [0f, 2f], [-1f, -1f]);
        var session = ((FakeSession)model.CreateSession(2)).Full();
        var actions = new float[4];
        var planner = new SamplingPlanner(new SamplingOptions(Deterministic: true));
        planner.Plan(session, Request(2, episodeStep: 50), actions);     // the reference plans when step % 100 > 50
        Assert.Empty(session.Calls);
        Assert.Equal(new float[] { 0, 1, 0, 1 }, actions);               // the mean, clipped

        planner.Plan(session, Request(2, episodeStep: 51), actions);
        Assert.Equal(2, session.Calls.Count);

        session.Calls.Clear();
        session.SetLength(1, 1);
        planner.Plan(session, Request(2, episodeStep: 80), actions);
        Assert.Equal(new[] { 0 }, session.Calls.Select(c => c.Environment));
        new SamplingPlanner(new SamplingOptions(Start: PlanningStart.FirstStep)).Plan(session, Request(2, episodeStep: 80), actions);
        Assert.Equal(3, session.Calls.Count);

        // Stochastic fallback: samples around the mean, inside the box.
        var stochastic = new SamplingPlanner(new SamplingOptions(StartStep: 1000, Seed: 4));
        var xs = new List<float>();
        for (var i = 0; i < 200; i++) { stochastic.Plan(session, Request(2), actions); xs.Add(actions[0]); xs.Add(actions[2]); }
        Assert.InRange(xs.Average(), -0.1, 0.1);                        // std exp(−½) ≈ 0.61, 400 samples: s.e. 0.03
        Assert.InRange(xs.Select(x => x * x).Average(), 0.25, 0.40);   // clipped at ±1: a little under 0.61² = 0.37
        Assert.True(xs.Distinct().Count() > 300);
    }

    [Fact]
    public void SameSeedSameActions()
    {
        float[] Run(int seed)
        {
            var session = ((FakeSession)FakeModel.Point(2, Quadratic, [0f, 0f], [0f, 0f]).CreateSession(2)).Full();
            var planner = new SamplingPlanner(new SamplingOptions(Seed: seed));
            var all = new List<float>();
            var actions = new float[4];
            for (var i = 0; i < 5; i++) { planner.Plan(session, Request(2), actions); all.AddRange(actions); }
            return [.. all];
        }
        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2));
    }

    [Fact]
    public void BadInputsThrowClearExceptions()
    {
        var grid = FakeModel.Grid((_, _) => 0f, [0f, 0f, 0f, 0f, 0f]);
        var e1 = Assert.Throws<InvalidOperationException>(() => new SamplingPlanner().Plan(((FakeSession)grid.CreateSession(1)).Full(), new PlanRequest([4, 4], [60], [5]), new float[1]));
        Assert.Contains("box", e1.Message);
        var point = FakeModel.Point(2, Quadratic, [0f, 0f], [0f, 0f]);
        var e2 = Assert.Throws<ArgumentException>(() => new SamplingPlanner().Plan(((FakeSession)point.CreateSession(1)).Full(), Request(1), new float[1]));
        Assert.Contains("actions", e2.Message);
        Assert.Contains("Candidates", Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingPlanner(new SamplingOptions(Candidates: 0))).Message);
        Assert.Contains("StartStep", Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingPlanner(new SamplingOptions(StartStep: -1))).Message);
    }
}
