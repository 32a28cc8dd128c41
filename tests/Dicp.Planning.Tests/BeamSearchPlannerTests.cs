using Dicp.Environments;
using Xunit;

namespace Dicp.Planning.Tests;

public class BeamSearchPlannerTests
{
    private static readonly float[] Uniform = [0f, 0f, 0f, 0f, 0f];

    /// <summary>Reward 1 on (6,4), two steps right of the start (4,4); a trap worth 0.3 per step on (3,4), one step left.</summary>
    private static float TrapOrGoal(int x, int y) => (x, y) switch { (6, 4) => 1f, (3, 4) => 0.3f, _ => 0f };

    private static PlanRequest At(int envs, float x, float y, int stepsLeft = 20, int episodeStep = 0) =>
        new([.. Enumerable.Range(0, envs).SelectMany(_ => new[] { x, y })], Enumerable.Repeat(episodeStep, envs).ToArray(),
            Enumerable.Repeat(stepsLeft, envs).ToArray());

    /// <summary>The best sum of rewards over every action sequence of the given length (exhaustive, 5^depth sequences).</summary>
    private static float BruteForceBest(FakeModel m, float[] start, int depth)
    {
        if (depth == 0) return 0f;
        var best = float.NegativeInfinity;
        for (var a = 0; a < 5; a++)
        {
            var (r, next) = m.Step(start, [a]);
            best = Math.Max(best, r + BruteForceBest(m, next, depth - 1));
        }
        return best;
    }

    [Fact]
    public void FindsTheBestPathWhereGreedyFallsIntoTheTrap()
    {
        var model = FakeModel.Grid(TrapOrGoal, Uniform);
        var session = (FakeSession)model.CreateSession(1);
        ((FakeSession)session).Full();
        var planner = new BeamSearchPlanner(new BeamSearchOptions(Horizon: 4, Seed: 3));
        var actions = new float[1];
        var trace = new PlanTrace();
        planner.Plan(session, At(1, 4, 4), actions, trace);

        Assert.Equal(0f, actions[0]);                                   // right, toward the goal, not left into the trap
        Assert.True(trace.Planned[0]);
        Assert.Equal(BruteForceBest(model, [4, 4], 4), trace.PredictedRewards[0].Sum(), 6);
        Assert.Equal(3f, trace.PredictedRewards[0].Sum(), 6);         // 0 + 1 + 1 + 1, against 4 · 0.3 in the trap
        Assert.Equal(new float[] { 0, 0, 4, 4 }, trace.Actions[0]);
        Assert.Equal(new float[] { 0, 1, 1, 1 }, trace.PredictedRewards[0]);
    }

    [Fact]
    public void TheEpisodesEndLimitsTheDepthAndChangesTheDecision()
    {
        var model = FakeModel.Grid(TrapOrGoal, Uniform);
        var session = ((FakeSession)model.CreateSession(1)).Full();
        var planner = new BeamSearchPlanner(new BeamSearchOptions(Horizon: 8, Seed: 1));
        var actions = new float[1];
        var trace = new PlanTrace();

        planner.Plan(session, At(1, 4, 4, stepsLeft: 1), actions, trace);
        Assert.Equal(1f, actions[0]);                                   // one step left: the trap's 0.3 is the best
        Assert.Single(session.Calls);
        Assert.Equal([0.3f], trace.PredictedRewards[0]);

        session.Calls.Clear();
        planner.Plan(session, At(1, 4, 4, stepsLeft: 3), actions, trace);
        Assert.Equal(0f, actions[0]);                                   // three steps: 0 + 1 + 1 = 2 > 0.9
        Assert.Equal(new[] { 0, 1, 2 }, session.Calls.Select(c => c.Depth));
        Assert.Equal(3, trace.Actions[0].Length);
    }

    [Fact]
    public void BatchesOnePredictPerDepthWithTheKAndLLimits()
    {
        var model = FakeModel.Grid(TrapOrGoal, [0f, 1f, 2f, 3f, 4f]);
        var session = ((FakeSession)model.CreateSession(3)).Full();
        session.SetLength(1, 2);                                        // environment 1 is not full yet: no planning
        var planner = new BeamSearchPlanner(new BeamSearchOptions(BeamWidth: 3, FirstActions: 2, Horizon: 4, Deterministic: true));
        var actions = new float[3];
        planner.Plan(session, At(3, 4, 4), actions);

        Assert.Equal(1, session.PolicyCalls);                            // one policy call for all environments
        Assert.DoesNotContain(session.Calls, c => c.Environment == 1);
        foreach (var e in new[] { 0, 2 })
        {
            var calls = session.Calls.Where(c => c.Environment == e).ToList();
            Assert.Equal(new[] { 0, 1, 2, 3 }, calls.Select(c => c.Depth));     // one call per depth, Horizon deep
            Assert.Equal(new[] { 2, 2 * 5, 3 * 5, 3 * 5 }, calls.Select(c => c.Count)); // L, then min(K, kept)·N
            Assert.Equal(new float[] { 4, 3 }, calls[0].QueryActions);           // the L most probable, policy order
        }
        Assert.Equal(4f, actions[1]);                                   // the policy's argmax (deterministic fallback)
    }

    [Fact]
    public void FirstActionsAreCappedAtTheActionCountAndSampledWithoutReplacement()
    {
        var model = FakeModel.Grid((_, _) => 0f, [0f, 0f, 0f, -100f, -100f]);
        var session = ((FakeSession)model.CreateSession(1)).Full();
        var planner = new BeamSearchPlanner(new BeamSearchOptions(FirstActions: 3, Horizon: 1, Seed: 11));
        var actions = new float[1];
        for (var i = 0; i < 20; i++)
        {
            planner.Plan(session, At(1, 4, 4), actions);
            var first = session.Calls[^1].QueryActions;
            Assert.Equal(3, first.Length);
            Assert.Equal(new float[] { 0, 1, 2 }, first.Order().ToArray());       // distinct, never the (almost) impossible 3 and 4
        }
        Assert.True(session.Calls.Select(c => c.QueryActions[0]).Distinct().Count() > 1); // the order is random

        var all = new BeamSearchPlanner(new BeamSearchOptions(FirstActions: 7, Horizon: 1));
        all.Plan(session, At(1, 4, 4), actions);
        Assert.Equal(5, session.Calls[^1].Count);
    }

    [Fact]
    public void TiesKeepThePolicysOrder()
    {
        // No reward anywhere: every path ties, so the best is the policy's first action, then action 0 at every depth.
        var model = FakeModel.Grid((_, _) => 0f, [1f, 3f, 2f, 5f, 4f]);
        var session = ((FakeSession)model.CreateSession(1)).Full();
        var planner = new BeamSearchPlanner(new BeamSearchOptions(Horizon: 3, Deterministic: true));
        var actions = new float[1];
        var trace = new PlanTrace();
        planner.Plan(session, At(1, 4, 4), actions, trace);
        Assert.Equal(new float[] { 3, 4, 1, 2, 0 }, session.Calls[0].QueryActions);
        Assert.Equal(new float[] { 3, 0, 0 }, trace.Actions[0]);

        // Actions 0 and 1 both reach a reward of 1: the one the policy ranks first wins, whichever it is.
        var twin = FakeModel.Grid((x, y) => x != 4 ? 1f : 0f, [1f, 2f, 0f, 0f, 0f]);
        var s2 = ((FakeSession)twin.CreateSession(1)).Full();
        new BeamSearchPlanner(new BeamSearchOptions(Horizon: 1, Deterministic: true)).Plan(s2, At(1, 4, 4), actions);
        Assert.Equal(1f, actions[0]);
        var twin2 = FakeModel.Grid((x, y) => x != 4 ? 1f : 0f, [2f, 1f, 0f, 0f, 0f]);
        var s3 = ((FakeSession)twin2.CreateSession(1)).Full();
        new BeamSearchPlanner(new BeamSearchOptions(Horizon: 1, Deterministic: true)).Plan(s3, At(1, 4, 4), actions);
        Assert.Equal(0f, actions[0]);
    }

    [Fact]
    public void BeamWidthOneIsGreedyAndMissesTheGoal()
    {
        var model = FakeModel.Grid(TrapOrGoal, Uniform);
        var session = ((FakeSession)model.CreateSession(1)).Full();
        var planner = new BeamSearchPlanner(new BeamSearchOptions(BeamWidth: 1, Horizon: 4));
        var actions = new float[1];
        var trace = new PlanTrace();
        planner.Plan(session, At(1, 4, 4), actions, trace);
        Assert.Equal(1f, actions[0]);                                   // K = 1 keeps only the trap after depth 0
        Assert.Equal(1.2f, trace.PredictedRewards[0].Sum(), 5);
        Assert.All(session.Calls.Skip(1), c => Assert.Equal(5, c.Count));
    }

    [Fact]
    public void ReturnToGoAtTheLeavesRanksTheFinalPaths()
    {
        var model = new FakeModel(new DiscreteSpace(5), 2, 4, FakeModel.Grid((_, _) => 0f, Uniform).Step, _ => [.. Uniform])
        {
            ReturnToGo = (_, a) => a[0] == 2 ? 5f : 0f,
        };
        var session = ((FakeSession)model.CreateSession(1)).Full();
        var actions = new float[1];
        new BeamSearchPlanner(new BeamSearchOptions(Horizon: 1, Deterministic: true)).Plan(session, At(1, 4, 4), actions);
        Assert.Equal(0f, actions[0]);                                   // rewards tie: policy order
        new BeamSearchPlanner(new BeamSearchOptions(Horizon: 1, Deterministic: true, ReturnToGoAtLeaves: true)).Plan(session, At(1, 4, 4), actions);
        Assert.Equal(2f, actions[0]);                                   // the return-to-go decides
        var trace = new PlanTrace();
        new BeamSearchPlanner(new BeamSearchOptions(Horizon: 3, Deterministic: true, ReturnToGoAtLeaves: true)).Plan(session, At(1, 4, 4), actions, trace);
        Assert.Equal(new float[] { 0, 0, 2 }, trace.Actions[0]);        // only the leaf step uses it
    }

    [Fact]
    public void ActsFromThePolicyBeforeTheWindowIsFull()
    {
        var model = FakeModel.Grid(TrapOrGoal, [0f, 0f, 10f, 0f, 0f]);
        var session = (FakeSession)model.CreateSession(2);
        session.SetLength(0, 3);
        var trace = new PlanTrace();
        var actions = new float[2];
        new BeamSearchPlanner(new BeamSearchOptions(Seed: 5)).Plan(session, At(2, 4, 4), actions, trace);
        Assert.Empty(session.Calls);
        Assert.Equal(new float[] { 2, 2 }, actions);                   // sampled from a policy with p(2) ≈ 0.9998
        Assert.Equal(new[] { false, false }, trace.Planned);

        new BeamSearchPlanner(new BeamSearchOptions(Start: PlanningStart.FirstStep, Horizon: 4)).Plan(session, At(2, 4, 4), actions, trace);
        Assert.Equal(new float[] { 0, 0 }, actions);
        Assert.Equal(new[] { true, true }, trace.Planned);
    }

    /// <summary>
    /// The reference plans from step n_transit (n_transit transitions seen: the window of n_transit − 1 has slid once);
    /// <see cref="PlanningStart.WindowFull"/> one step earlier, when the window fills.
    /// </summary>
    [Fact]
    public void PlanningStartsAtStepNTransitAsTheReferenceOrWhenTheWindowFills()
    {
        var model = FakeModel.Grid(TrapOrGoal, Uniform);
        var w = model.WindowTransitions;
        bool[] Planned(PlanningStart start, int seen)
        {
            var session = (FakeSession)model.CreateSession(2);
            session.SetLength(0, seen);
            session.SetLength(1, seen + 1);
            var trace = new PlanTrace();
            new BeamSearchPlanner(new BeamSearchOptions(Horizon: 2, Start: start)).Plan(session, At(2, 4, 4), new float[2], trace);
            Assert.Equal(session.IsWindowFull(0), seen >= w);
            return [.. trace.Planned];
        }
        Assert.Equal(new[] { false, false }, Planned(PlanningStart.NTransit, w - 1));
        Assert.Equal(new[] { false, true }, Planned(PlanningStart.NTransit, w));      // step n_transit − 1: window full, not yet
        Assert.Equal(new[] { true, true }, Planned(PlanningStart.NTransit, w + 1));   // step n_transit
        Assert.Equal(new[] { false, true }, Planned(PlanningStart.WindowFull, w - 1));
        Assert.Equal(new[] { true, true }, Planned(PlanningStart.WindowFull, w));
        Assert.Equal(new[] { true, true }, Planned(PlanningStart.FirstStep, 0));
        Assert.Equal("n_transit window_full first_step", string.Join(' ', Enum.GetValues<PlanningStart>().Select(s => s.Name())));
        Assert.True(PlanningStartNames.TryParse("window_full", out var parsed) && parsed == PlanningStart.WindowFull);
        Assert.False(PlanningStartNames.TryParse("full", out _));
    }

    [Fact]
    public void SameSeedSameActionsDifferentSeedDifferentActions()
    {
        float[] Run(int seed)
        {
            var model = FakeModel.Grid((_, _) => 0f, Uniform);           // all ties: the first sampled action wins
            var session = ((FakeSession)model.CreateSession(4)).Full();
            var planner = new BeamSearchPlanner(new BeamSearchOptions(Horizon: 2, Seed: seed));
            var all = new List<float>();
            var actions = new float[4];
            for (var i = 0; i < 10; i++) { planner.Plan(session, At(4, 4, 4), actions); all.AddRange(actions); }
            return [.. all];
        }
        var a = Run(7);
        Assert.Equal(a, Run(7));
        Assert.NotEqual(a, Run(8));
        Assert.True(a.Distinct().Count() >= 4);
    }

    [Fact]
    public void BadInputsThrowClearExceptions()
    {
        var model = FakeModel.Grid(TrapOrGoal, Uniform);
        var session = ((FakeSession)model.CreateSession(2)).Full();
        var planner = new BeamSearchPlanner();
        var ok = At(2, 4, 4);

        var e1 = Assert.Throws<ArgumentException>(() => planner.Plan(session, new PlanRequest([4, 4], [0, 0], [5, 5]), new float[2]));
        Assert.Contains("Observations", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => planner.Plan(session, ok, new float[3]));
        Assert.Contains("actions", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => planner.Plan(session, new PlanRequest(ok.Observations, [0, 0], [5, 0]), new float[2]));
        Assert.Contains("StepsLeft[1]", e3.Message);
        Assert.Throws<ArgumentException>(() => planner.Plan(session, new PlanRequest(ok.Observations, [0], [5, 5]), new float[2]));
        Assert.Throws<ArgumentNullException>(() => planner.Plan(null!, ok, new float[2]));

        var blind = new FakeModel(new DiscreteSpace(5), 2, 4, model.Step, model.PolicyOf) { Name = "ad", HasDynamics = false };
        var e4 = Assert.Throws<InvalidOperationException>(() => planner.Plan(((FakeSession)blind.CreateSession(2)).Full(), ok, new float[2]));
        Assert.Contains("dynamics", e4.Message);
        var box = FakeModel.Point(1, (_, _, _) => 0f, [0f], [0f]);
        var e5 = Assert.Throws<InvalidOperationException>(() => planner.Plan(((FakeSession)box.CreateSession(2)).Full(), new PlanRequest([0, 0], [0, 0], [5, 5]), new float[2]));
        Assert.Contains("discrete", e5.Message);
        var e6 = Assert.Throws<InvalidOperationException>(() => new BeamSearchPlanner(new BeamSearchOptions(ReturnToGoAtLeaves: true)).Plan(session, ok, new float[2]));
        Assert.Contains("return-to-go", e6.Message);

        Assert.Contains("BeamWidth", Assert.Throws<ArgumentOutOfRangeException>(() => new BeamSearchPlanner(new BeamSearchOptions(BeamWidth: 0))).Message);
        Assert.Contains("FirstActions", Assert.Throws<ArgumentOutOfRangeException>(() => new BeamSearchPlanner(new BeamSearchOptions(FirstActions: 0))).Message);
        Assert.Contains("Horizon", Assert.Throws<ArgumentOutOfRangeException>(() => new BeamSearchPlanner(new BeamSearchOptions(Horizon: 0))).Message);
    }

    [Fact]
    public void SettingsNameEveryOption()
    {
        var s = new BeamSearchPlanner(new BeamSearchOptions(BeamWidth: 7, FirstActions: 3, Horizon: 16, Seed: 9)).Settings;
        Assert.Equal("beam", s["planner"]);
        Assert.Equal(7, s["beam_k"]);
        Assert.Equal(3, s["samples"]);
        Assert.Equal(16, s["horizon"]);
        Assert.Equal(9, s["seed"]);
    }
}
