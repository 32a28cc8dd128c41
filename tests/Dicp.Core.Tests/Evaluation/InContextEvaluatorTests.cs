using System.Text.Json;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.Models;
using Dicp.Planning;
using Xunit;

namespace Dicp.Core.Tests.Evaluation;

/// <summary>
/// A scripted in-context learner for Darkroom: it remembers the last cell where its window saw a reward (read from the
/// appended next states) and heads there; until then its policy is uniform. It learns only if evaluation appends the
/// true transitions, so it checks the evaluator's bookkeeping.
/// </summary>
internal sealed class GoalSeeker(int window) : IInContextModel
{
    public string Name => "goal-seeker";
    public int ObservationSize => 2;
    public Space ActionSpace { get; } = new DiscreteSpace(5);
    public int WindowTransitions => window;
    public bool HasDynamics => false;
    public bool HasReturnToGo => false;
    public List<GoalSession> Sessions { get; } = [];

    public IInContextSession CreateSession(int environments, SessionOptions? options = null)
    {
        var s = new GoalSession(this, environments);
        Sessions.Add(s);
        return s;
    }

    internal sealed class GoalSession(GoalSeeker model, int environments) : IInContextSession
    {
        private readonly (int X, int Y)?[] _goal = new (int, int)?[environments];
        private readonly int[] _count = new int[environments];
        public List<(float[] S, float A, float R, float[] N, bool D)>[] Log { get; } = Enumerable.Range(0, environments).Select(_ => new List<(float[], float, float, float[], bool)>()).ToArray();
        public IInContextModel Model => model;
        public int Environments => environments;
        public int ContextLength(int environment) => Math.Min(_count[environment], model.WindowTransitions);
        public bool IsWindowFull(int environment) => ContextLength(environment) == model.WindowTransitions;
        public void Reset() => throw new NotSupportedException();

        public void Append(ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards, ReadOnlySpan<float> nextStates, ReadOnlySpan<bool> dones)
        {
            for (var e = 0; e < environments; e++)
            {
                _count[e]++;
                Log[e].Add((states.Slice(2 * e, 2).ToArray(), actions[e], rewards[e], nextStates.Slice(2 * e, 2).ToArray(), dones[e]));
                if (rewards[e] > 0) _goal[e] = ((int)nextStates[2 * e], (int)nextStates[2 * e + 1]);
            }
        }

        public void Policy(ReadOnlySpan<float> observations, Span<float> distribution)
        {
            distribution.Clear();
            for (var e = 0; e < environments; e++)
            {
                if (_goal[e] is not { } g) continue;
                int x = (int)observations[2 * e], y = (int)observations[2 * e + 1];
                var a = x < g.X ? 0 : x > g.X ? 1 : y < g.Y ? 2 : y > g.Y ? 3 : 4;
                distribution[e * 5 + a] = 40f;
            }
        }

        public void Predict(int environment, CandidateBatch candidates, CandidatePredictions predictions) => throw new InvalidOperationException();
    }
}

public sealed class InContextEvaluatorTests
{
    private static readonly int[] TestGoals = [38, 51, 62, 65, 33, 5, 53, 49];

    private static IEnvironment[] Envs() => TestGoals.Select(i => (IEnvironment)new DarkroomTasks().Create(i)).ToArray();

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    [Fact]
    public void ContextLearnerImprovesAndTransitionsAreTheTrueOnes()
    {
        var model = new GoalSeeker(79);
        var reports = new List<EvaluationProgress>();
        var r = InContextEvaluator.Run(model, Envs(), new PolicyPlanner(new PolicyPlannerOptions(Seed: 3)), new EvaluationOptions(Episodes: 12, Seed: 0),
            new SyncProgress<EvaluationProgress>(reports.Add));

        Assert.Equal(8, r.Returns.Length);
        Assert.All(r.Returns, x => Assert.Equal(12, x.Length));
        Assert.Equal(12 * 20, r.StepsPerTask);
        Assert.Equal(Enumerable.Range(0, 12), reports.Select(p => p.Episode));
        Assert.Equal(r.MeanReturnPerEpisode, reports.Select(p => p.MeanReturn));
        var tasks = new DarkroomTasks();
        var session = model.Sessions.Single();
        for (var i = 0; i < 8; i++)
        {
            var env = tasks.Create(TestGoals[i]);
            var max = env.MaxReturn;
            // Once a goal was seen, every later episode is optimal.
            var found = Array.FindIndex(r.Returns[i], x => x > 0);
            if (found >= 0)
                for (var k = found + 1; k < 12; k++) Assert.Equal(max, r.Returns[i][k]);
            // The log holds real transitions: episodes of 20 steps from (4,4), the true terminal cell, rewards summing to the returns.
            var log = session.Log[i];
            Assert.Equal(240, log.Count);
            for (var t = 0; t < 240; t++)
            {
                Assert.Equal(t % 20 == 19, log[t].D);
                if (t % 20 == 0) Assert.Equal([4f, 4f], log[t].S);
                else Assert.Equal(log[t - 1].N, log[t].S);
                Assert.Equal(log[t].N[0] == env.GoalX && log[t].N[1] == env.GoalY ? 1f : 0f, log[t].R);
            }
            for (var k = 0; k < 12; k++) Assert.Equal(r.Returns[i][k], log.Skip(20 * k).Take(20).Sum(x => x.R));
            Assert.Equal(79, session.ContextLength(i));
        }
        Assert.True(r.MeanReturnPerEpisode[^1] > r.MeanReturnPerEpisode[0] + 5, string.Join(", ", r.MeanReturnPerEpisode));
    }

    [Fact]
    public void StepObserverSeesEveryAppendedTransitionAndChangesNothing()
    {
        var plain = InContextEvaluator.Run(new GoalSeeker(79), Envs(), new PolicyPlanner(new PolicyPlannerOptions(Seed: 3)), new EvaluationOptions(5));
        var model = new GoalSeeker(79);
        var steps = new List<EvaluationStep>();
        var r = InContextEvaluator.Run(model, Envs(), new PolicyPlanner(new PolicyPlannerOptions(Seed: 3)), new EvaluationOptions(5), null, default, steps.Add);

        Assert.Equal(plain.Returns, r.Returns);
        Assert.Equal(8 * 5 * 20, steps.Count);
        var log = model.Sessions.Single().Log;
        for (var i = 0; i < 8; i++)
        {
            var mine = steps.Where(s => s.Environment == i).ToArray();
            Assert.Equal(log[i].Count, mine.Length);
            for (var t = 0; t < mine.Length; t++)
            {
                // The observer's record is exactly the transition the session was given, at its place in the episodes.
                Assert.Equal((t / 20, t % 20), (mine[t].Episode, mine[t].Step));
                Assert.Equal(log[i][t].S, mine[t].Observation);
                Assert.Equal([log[i][t].A], mine[t].Action);
                Assert.Equal(log[i][t].R, mine[t].Reward);
                Assert.Equal(log[i][t].N, mine[t].NextObservation);
                Assert.Equal(log[i][t].D, mine[t].Done);
                Assert.False(mine[t].Planned); // the policy planner never plans
                Assert.Empty(mine[t].PredictedRewards);
            }
        }
    }

    [Fact]
    public void EvaluationIsDeterministicForASeedAndGreedyIsArgmax()
    {
        var a = InContextEvaluator.Run(new GoalSeeker(79), Envs(), new PolicyPlanner(new PolicyPlannerOptions(Seed: 5)), new EvaluationOptions(4));
        var b = InContextEvaluator.Run(new GoalSeeker(79), Envs(), new PolicyPlanner(new PolicyPlannerOptions(Seed: 5)), new EvaluationOptions(4));
        var c = InContextEvaluator.Run(new GoalSeeker(79), Envs(), new PolicyPlanner(new PolicyPlannerOptions(Seed: 6)), new EvaluationOptions(4));
        Assert.Equal(a.Returns, b.Returns);
        Assert.NotEqual(a.Returns, c.Returns);
        // Greedy with uniform logits always takes action 0 (x+1): from (4,4) to (8,4); only goals on that row are reached.
        var g = InContextEvaluator.Run(new GoalSeeker(79), [new DarkroomTasks().Create(76), new DarkroomTasks().Create(38)],
            new PolicyPlanner(new PolicyPlannerOptions(Greedy: true)), new EvaluationOptions(3));
        Assert.Equal([17f, 17f, 17f], g.Returns[0]);      // goal (8,4): reached after 4 steps, then 16 more on it → 17
        Assert.Equal([0f, 0f, 0f], g.Returns[1]);         // goal (4,2) is never reached
    }

    [Fact]
    public void ResultsJsonHasTheRequiredKeys()
    {
        var r = InContextEvaluator.Run(new GoalSeeker(79), Envs(), new PolicyPlanner(), new EvaluationOptions(3, ReportSuccess: true));
        var path = Path.Combine(Path.GetTempPath(), "dicp-results-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            r.Save(path, new Dictionary<string, object?> { ["environment"] = "darkroom", ["task_indices"] = TestGoals });
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            Assert.Equal(r.MeanReturnPerEpisode, root.GetProperty("mean_return_per_episode").EnumerateArray().Select(x => x.GetDouble()));
            Assert.Equal(8, root.GetProperty("returns").GetArrayLength());
            Assert.Equal(r.Returns[2], root.GetProperty("returns")[2].EnumerateArray().Select(x => x.GetSingle()));
            Assert.Equal("goal-seeker", root.GetProperty("model").GetString());
            Assert.Equal("none", root.GetProperty("planner").GetString());
            Assert.False(root.GetProperty("planner_settings").GetProperty("greedy").GetBoolean());
            Assert.Equal("darkroom", root.GetProperty("environment").GetString());
            Assert.Equal(3, root.GetProperty("success_rate_per_episode").GetArrayLength());
            Assert.Throws<ArgumentException>(() => r.ToJson(new Dictionary<string, object?> { ["returns"] = 1 }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CancellationAndMismatchedEnvironmentsThrow()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => InContextEvaluator.Run(new GoalSeeker(79), Envs(), new PolicyPlanner(), null, null, cts.Token));
        var e = Assert.Throws<ArgumentException>(() => InContextEvaluator.Run(new GoalSeeker(79), [new PointRobotTasks().Create(0)], new PolicyPlanner()));
        Assert.Contains("action space", e.Message);
    }
}
