using Dicp.Models;
using Xunit;

namespace Dicp.Planning.Tests;

/// <summary>The planners run unchanged inside an IDT session's Decisions-to-Go (real, untrained DICP-IDT models).</summary>
public class IdtPlanningTests
{
    private static IInContextSession Session(bool grid, out float[] observation, float rewardMin = 0f, float rewardMax = 1f)
    {
        var config = new ModelConfig(Model: "idt", Dynamics: true, StateClasses: grid ? 81 : 0, ActionCount: grid ? 5 : 0, ActionSize: 2,
            RewardClasses: grid ? 2 : 0, RewardMax: rewardMax, NTransit: 6, EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 16, Dropout: 0f,
            SegmentLength: 3, LatentDim: 2, RewardMin: rewardMin);
        var session = InContextModels.Create(config, seed: 4).CreateSession(1, new SessionOptions(TargetReturns: [5f], Seed: 9));
        var s = new float[] { 4, 4 };
        var policy = new float[grid ? 5 : 4];
        for (var t = 0; t < 5; t++) // five real steps: the window (n_transit − 1) is full; the planners below plan from then on (PlanningStart.WindowFull)
        {
            session.Policy(s, policy);
            float[] a = grid ? [0f] : [0.5f, -0.5f];
            float[] next = grid ? [Math.Min(8, s[0] + 1), s[1]] : [s[0] + 0.1f, s[1] - 0.1f];
            session.Append(s, a, [t == 3 ? 1f : 0f], next, [false]);
            s = next;
        }
        Assert.True(session.IsWindowFull(0));
        observation = s;
        return session;
    }

    [Fact]
    public void BeamSearchPlansFourStepsAndItsPathReplaysThroughPredict()
    {
        var session = Session(grid: true, out var obs);
        var planner = new BeamSearchPlanner(new BeamSearchOptions(Horizon: 4, Seed: 2, Start: PlanningStart.WindowFull));
        var actions = new float[1];
        var trace = new PlanTrace();
        planner.Plan(session, new PlanRequest(obs, [5], [20]), actions, trace);
        Assert.True(trace.Planned[0]);
        Assert.Equal(4, trace.Actions[0].Length);
        Assert.Equal(trace.Actions[0][0], actions[0]);
        // Replay the best path: each step's reward predicted with the path so far as imagined transitions.
        var path = trace.Actions[0];
        var state = (float[])obs.Clone();
        var (ims, ima, imr, imn) = (new List<float>(), new List<float>(), new List<float>(), new List<float>());
        var pred = new CandidatePredictions(new float[1], new float[2], null, new float[5]);
        for (var i = 0; i < path.Length; i++)
        {
            session.Predict(0, new CandidateBatch(1, i, [.. ims], [.. ima], [.. imr], [.. imn], state, [path[i]]), pred);
            Assert.Equal(trace.PredictedRewards[0][i], pred.Rewards[0]);
            ims.AddRange(state); ima.Add(path[i]); imr.Add(pred.Rewards[0]); imn.AddRange(pred.NextStates);
            state = (float[])pred.NextStates.Clone();
        }
    }

    [Fact]
    public void SamplingPlannerPicksTheCandidateWithTheHighestPredictedReward()
    {
        var session = Session(grid: false, out var obs);
        var planner = new SamplingPlanner(new SamplingOptions(StartStep: 0, Start: PlanningStart.WindowFull, Seed: 5));
        var actions = new float[2];
        var trace = new PlanTrace();
        planner.Plan(session, new PlanRequest(obs, [5], [20]), actions, trace);
        Assert.True(trace.Planned[0]);
        Assert.Equal(actions, trace.Actions[0]);
        var pred = new CandidatePredictions(new float[1], new float[2], null, new float[4]);
        session.Predict(0, new CandidateBatch(1, 0, [], [], [], [], obs, actions), pred);
        Assert.Equal(trace.PredictedRewards[0][0], pred.Rewards[0], 5);
        Assert.All(actions, v => Assert.InRange(v, -1f, 1f));
    }

    [Fact]
    public void CemPlansPastTheSegmentsEndAndItsPathReplaysThroughPredict()
    {
        // c = 3 with two real steps in the segment: a horizon of 4 slides the Decisions-to-Go window past the segment.
        var session = Session(grid: false, out var obs, rewardMin: -5f, rewardMax: 5f);
        var planner = new CemPlanner(new CemOptions(Horizon: 4, Population: 16, Elites: 4, StartStep: 0, Start: PlanningStart.WindowFull, Seed: 6));
        var actions = new float[2];
        var trace = new PlanTrace();
        planner.Plan(session, new PlanRequest(obs, [5], [20]), actions, trace);
        Assert.True(trace.Planned[0]);
        Assert.Equal(8, trace.Actions[0].Length);
        Assert.Equal(actions, trace.Actions[0][..2]);
        Assert.All(trace.Actions[0], v => Assert.InRange(v, -1f, 1f));
        var path = trace.Actions[0];
        var state = (float[])obs.Clone();
        var (ims, ima, imr, imn) = (new List<float>(), new List<float>(), new List<float>(), new List<float>());
        var pred = new CandidatePredictions(new float[1], new float[2], null, new float[4]);
        for (var i = 0; i < 4; i++)
        {
            float[] act = [path[2 * i], path[2 * i + 1]];
            session.Predict(0, new CandidateBatch(1, i, [.. ims], [.. ima], [.. imr], [.. imn], state, act), pred);
            Assert.Equal(trace.PredictedRewards[0][i], pred.Rewards[0], 5);
            Assert.InRange(pred.Rewards[0], -5f, 5f);
            ims.AddRange(state); ima.AddRange(act); imr.Add(pred.Rewards[0]); imn.AddRange(pred.NextStates);
            state = (float[])pred.NextStates.Clone();
        }
    }
}
