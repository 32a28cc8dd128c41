using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.Models;
using Dicp.Planning;
using Xunit;

namespace Dicp.Planning.Tests;

/// <summary>
/// <see cref="InContextAgent"/> in a loop of one's own over a Darkroom environment takes, step for step, the actions the
/// evaluator takes with the same model, planner seed and episode seeds.
/// </summary>
public sealed class InContextAgentTests
{
    private static readonly ModelConfig SmallDicpAd = new(Dynamics: true, NTransit: 12, EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 32, Dropout: 0f);

    private static readonly ModelConfig SmallDicpIdt = new(Model: "idt", Dynamics: true, NTransit: 12, SegmentLength: 4, LatentDim: 4,
        EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 32, Dropout: 0f);

    /// <summary>Passes planning on and records every action chosen.</summary>
    private sealed class Recording(IPlanner inner) : IPlanner
    {
        public List<float> Actions { get; } = [];

        public string Name => inner.Name;

        public IReadOnlyDictionary<string, object> Settings => inner.Settings;

        public void Plan(IInContextSession session, PlanRequest request, Span<float> actions, PlanTrace? trace = null)
        {
            inner.Plan(session, request, actions, trace);
            Actions.AddRange(actions.ToArray());
        }
    }

    [Theory]
    [InlineData("ad", "beam", 3)]
    [InlineData("ad", "none", 4)]
    [InlineData("idt", "beam", 5)]
    [InlineData("idt", "none", 6)]
    public void AUserLoopReproducesTheEvaluatorsActions(string family, string plannerName, int seed)
    {
        var model = InContextModels.Create(family == "ad" ? SmallDicpAd : SmallDicpIdt, seed);
        var tasks = new DarkroomTasks();
        const int task = 17, episodes = 3, evaluationSeed = 7;
        var planner = new PlannerConfig(plannerName, Horizon: family == "idt" ? 4 : null);
        var recorded = new Recording(Planners.Create(planner, model, seed: 11));
        var result = InContextEvaluator.Run(model, [tasks.Create(task)], recorded, new EvaluationOptions(episodes, evaluationSeed));

        // The loop a user writes: reset, act, step, observe; episode e is reset with seed + e as the evaluator does for one task.
        var env = tasks.Create(task);
        var agent = new InContextAgent(model, Planners.Create(planner, model, seed: 11),
            options: new AgentOptions([env.MaxEpisodeSteps], TargetReturns: [env.MaxReturn], Seed: evaluationSeed));
        float[] obs = new float[2], next = new float[2];
        var actions = new List<float>();
        var returns = new List<float>();
        var episodeSeed = evaluationSeed;
        env.Reset(episodeSeed, obs);
        var running = 0f;
        while (returns.Count < episodes)
        {
            var action = agent.Act(obs);
            actions.AddRange(action);
            var r = env.Step(action, next);
            agent.Observe(r.Reward, next, r.Done);
            running += r.Reward;
            if (!r.Done) { next.CopyTo(obs, 0); continue; }
            returns.Add(running);
            running = 0f;
            env.Reset(++episodeSeed, obs);
        }
        Assert.Equal(recorded.Actions, actions);
        Assert.Equal(result.Returns[0], returns);
        Assert.True(actions.Count > model.WindowTransitions + 1, "the planner planned (the context filled)");
    }

    [Fact]
    public void ActAndObserveAlternateAndCheckTheirBuffers()
    {
        var model = InContextModels.Create(SmallDicpAd, 0);
        var agent = new InContextAgent(model, new PolicyPlanner());
        Assert.Throws<InvalidOperationException>(() => agent.Observe(0f, [1f, 1f], false));
        Assert.Throws<ArgumentException>(() => agent.Act([1f, 1f, 1f]));
        var a = agent.Act([1f, 1f]);
        Assert.Single(a);
        Assert.Throws<InvalidOperationException>(() => agent.Act([1f, 1f]));
        Assert.Throws<ArgumentException>(() => agent.Observe(0f, [1f], false));
        agent.Observe(0f, [1f, 2f], false);
        Assert.Equal(1, agent.Session.ContextLength(0));
        Assert.Equal(1, agent.EpisodeSteps[0]);
        agent.Act([1f, 2f]);
        agent.Observe(1f, [2f, 2f], true);
        Assert.Equal(0, agent.EpisodeSteps[0]); // a new episode starts; the context keeps both transitions
        Assert.Equal(2, agent.Session.ContextLength(0));
        agent.Reset();
        Assert.Equal(0, agent.Session.ContextLength(0));
        Assert.Throws<ArgumentException>(() => new InContextAgent(model, new PolicyPlanner(), 2, new AgentOptions([20])));
    }
}
