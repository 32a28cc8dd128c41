using Xunit;

namespace Dicp.Planning.Tests;

public class CemPlannerTests
{
    private static PlanRequest Request(int envs, int stepsLeft = 40) =>
        new(new float[envs * 2], new int[envs], Enumerable.Repeat(stepsLeft, envs).ToArray());

    [Fact]
    public void ConvergesOnTheOptimumOfAQuadraticReward()
    {
        float[] target = [0.6f, -0.3f];
        var model = FakeModel.Point(2, (_, a, _) => -((a[0] - target[0]) * (a[0] - target[0]) + (a[1] - target[1]) * (a[1] - target[1])), [0f, 0f], [0f, 0f]);
        var session = ((FakeSession)model.CreateSession(2)).Full();
        var actions = new float[4];
        var trace = new PlanTrace();
        new CemPlanner(new CemOptions(Horizon: 1, Iterations: 8, Population: 64, Elites: 8, Seed: 1)).Plan(session, Request(2), actions, trace);
        for (var e = 0; e < 2; e++)
        {
            Assert.InRange(actions[2 * e], target[0] - 0.03f, target[0] + 0.03f);
            Assert.InRange(actions[2 * e + 1], target[1] - 0.03f, target[1] + 0.03f);
            Assert.True(trace.PredictedRewards[e][0] > -2e-3f);
        }
        // One iteration of the same search is far less precise.
        var one = new float[4];
        var trace1 = new PlanTrace();
        new CemPlanner(new CemOptions(Horizon: 1, Iterations: 1, Population: 64, Elites: 8, Seed: 1)).Plan(session, Request(2), one, trace1);
        Assert.True(trace1.PredictedRewards[0][0] < trace.PredictedRewards[0][0]);
    }

    [Fact]
    public void PlansSequencesThroughTheImaginedDynamics()
    {
        // A point at the origin, reward −‖s' − goal‖² each step, actions in [−1, 1]²: full speed toward the goal first.
        float[] goal = [2.5f, -2.5f];
        var model = FakeModel.Point(2, (_, _, n) => -((n[0] - goal[0]) * (n[0] - goal[0]) + (n[1] - goal[1]) * (n[1] - goal[1])), [0f, 0f], [0f, 0f]);
        var session = ((FakeSession)model.CreateSession(1)).Full();  // the fake checks every imagined path is a rollout
        var actions = new float[2];
        var trace = new PlanTrace();
        new CemPlanner(new CemOptions(Horizon: 3, Iterations: 8, Population: 64, Elites: 8, Seed: 3)).Plan(session, Request(1), actions, trace);
        Assert.InRange(actions[0], 0.9f, 1f);
        Assert.InRange(actions[1], -1f, -0.9f);
        Assert.Equal(6, trace.Actions[0].Length);
        Assert.InRange(trace.PredictedRewards[0].Sum(), -5.6f, -5f);   // optimum: −(2·1.5² + 2·0.5² + 0) = −5
    }

    [Fact]
    public void ALongerHorizonSeesADelayedReward()
    {
        // 1-d point at 0: moving right pays 0.1·a now; reaching x ≤ −1.5 (two steps left) pays 10.
        var model = FakeModel.Point(1, (_, a, n) => n[0] <= -1.5f ? 10f : 0.1f * a[0], [0f], [0f]);
        var session = ((FakeSession)model.CreateSession(1)).Full();
        var actions = new float[1];
        new CemPlanner(new CemOptions(Horizon: 1, Iterations: 4, Population: 32, Elites: 4, Seed: 2)).Plan(session, Request1(), actions);
        Assert.InRange(actions[0], 0.8f, 1f);                          // one step: go right
        var trace = new PlanTrace();
        new CemPlanner(new CemOptions(Horizon: 2, Iterations: 4, Population: 32, Elites: 4, Seed: 2)).Plan(session, Request1(), actions, trace);
        Assert.InRange(actions[0], -1f, -0.5f);                        // two steps: go left for the delayed 10
        Assert.Equal(10f, trace.PredictedRewards[0][1]);

        static PlanRequest Request1() => new([0f], [0], [40]);
    }

    [Fact]
    public void BatchesThePopulationPerDepthAndRespectsTheEpisodesEnd()
    {
        var model = FakeModel.Point(2, (_, a, _) => -a[0] * a[0], [0f, 0f], [0f, 0f]);
        var session = ((FakeSession)model.CreateSession(2)).Full();
        session.SetLength(1, 0);
        var actions = new float[4];
        new CemPlanner(new CemOptions(Horizon: 4, Iterations: 3, Population: 16, Elites: 2, Deterministic: true)).Plan(session, Request(2, stepsLeft: 2), actions);
        Assert.Equal(new[] { 0, 1, 0, 1, 0, 1 }, session.Calls.Select(c => c.Depth));
        Assert.All(session.Calls, c => Assert.Equal((0, 16), (c.Environment, c.Count)));
        Assert.Equal(new float[] { 0, 0 }, actions[2..]);               // environment 1: the policy mean (window empty)
    }

    [Fact]
    public void SameSeedSameActions()
    {
        float[] Run(int seed)
        {
            var session = ((FakeSession)FakeModel.Point(2, (_, a, _) => -a[0] * a[0] - a[1], [0f, 0f], [0f, 0f]).CreateSession(2)).Full();
            var planner = new CemPlanner(new CemOptions(Iterations: 2, Population: 8, Elites: 2, Horizon: 2, Seed: seed));
            var actions = new float[4];
            planner.Plan(session, Request(2), actions);
            return actions;
        }
        Assert.Equal(Run(5), Run(5));
        Assert.NotEqual(Run(5), Run(6));
    }

    [Fact]
    public void BadOptionsThrowClearExceptions()
    {
        Assert.Contains("Elites", Assert.Throws<ArgumentOutOfRangeException>(() => new CemPlanner(new CemOptions(Population: 4, Elites: 5))).Message);
        Assert.Contains("Momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new CemPlanner(new CemOptions(Momentum: 1f))).Message);
        Assert.Contains("Population", Assert.Throws<ArgumentOutOfRangeException>(() => new CemPlanner(new CemOptions(Population: 1, Elites: 1))).Message);
        Assert.Contains("MinStd", Assert.Throws<ArgumentOutOfRangeException>(() => new CemPlanner(new CemOptions(MinStd: float.NaN))).Message);
        var grid = FakeModel.Grid((_, _) => 0f, [0f, 0f, 0f, 0f, 0f]);
        Assert.Throws<InvalidOperationException>(() => new CemPlanner().Plan(((FakeSession)grid.CreateSession(1)).Full(), new PlanRequest([4, 4], [0], [5]), new float[1]));
    }
}
