using Dicp.Models;
using Dicp.Optim;
using Dicp.Tensors;
using Xunit;

namespace Dicp.Tests.Models;

/// <summary>Configuration and input validation, JSON round trip, seeding determinism, and a tiny model that learns.</summary>
public class ModelBehaviourTests
{
    [Theory]
    [InlineData("Heads", "ad", 3, false, 81, 5)]
    [InlineData("Model", "gpt", 4, false, 81, 5)]
    [InlineData("ReturnToGo", "ad", 4, true, 81, 5)]
    [InlineData("StateClasses", "ad", 4, false, 80, 5)]
    [InlineData("ActionCount", "dpt", 4, false, 81, 0)]
    public void InvalidConfigurationsNameTheField(string field, string model, int heads, bool returnToGo, int stateClasses, int actionCount)
    {
        var config = new ModelConfig(Model: model, Heads: heads, ReturnToGo: returnToGo, StateClasses: stateClasses, ActionCount: actionCount, NTransit: 4);
        var e = Assert.ThrowsAny<ArgumentException>(() => InContextModels.Create(config, 0));
        Assert.Contains("ModelConfig." + field, e.Message, StringComparison.Ordinal);
    }

    /// <summary>The head keys (besides <c>transformer.*</c>) are the reference models' own, per family.</summary>
    [Theory]
    [InlineData("ad-grid", "embed_context.bias embed_context.weight embed_query_action.weight embed_query_state.weight pred_action.bias pred_action.weight pred_next_state.bias pred_next_state.weight pred_reward.bias pred_reward.weight")]
    [InlineData("dpt-grid", "embed_context.bias embed_context.weight embed_query_action.weight embed_query_state.bias embed_query_state.weight pred_actions.bias pred_actions.weight pred_next_states.bias pred_next_states.weight pred_rewards.bias pred_rewards.weight")]
    [InlineData("ad-continuous", "embed_context.bias embed_context.weight embed_query_action.bias embed_query_action.weight embed_query_state.bias embed_query_state.weight pred_actions.bias pred_actions.weight pred_next_states.bias pred_next_states.weight pred_returns.bias pred_returns.weight pred_rewards.bias pred_rewards.weight")]
    public void HeadKeysAreTheReferenceKeys(string kind, string keys)
    {
        var config = kind switch { "ad-grid" => SessionTests.Grid("ad"), "dpt-grid" => SessionTests.Grid("dpt"), _ => SessionTests.Continuous() };
        var model = InContextModels.Create(config, 0);
        var heads = model.Network.StateDict().Keys.Where(k => !k.StartsWith("transformer.", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        Assert.Equal(keys, string.Join(' ', heads));
        Assert.Equal(9 * config.Layers, model.Network.StateDict().Keys.Count(k => k.StartsWith("transformer.blocks.", StringComparison.Ordinal)));
    }

    [Fact]
    public void IdtIsCreatedAndItsConfigurationChecked()
    {
        var model = InContextModels.Create(new ModelConfig(Model: "idt", Dynamics: true), 0);
        Assert.IsType<IdtModel>(model);
        Assert.Equal(("dicp-idt", 10, 80, 79), (model.Name, model.ReturnConditionedSegment, model.SampleSteps, model.WindowTransitions));
        Assert.Equal(0, InContextModels.Create(new ModelConfig(Model: "ad"), 0).ReturnConditionedSegment);
        Assert.Contains("multiple of SegmentLength", Assert.Throws<ArgumentException>(() => InContextModels.Create(new ModelConfig(Model: "idt", NTransit: 75), 0)).Message);
        Assert.Contains("ReturnToGo", Assert.Throws<ArgumentException>(() => InContextModels.Create(new ModelConfig(Model: "idt", Dynamics: true, ReturnToGo: true), 0)).Message);
    }

    [Fact]
    public void ConfigJsonRoundTripsWithSnakeCaseKeysAndRejectsUnknownKeys()
    {
        var config = SessionTests.Continuous() with { DynamicsCoefficient = 0.25f, LabelSmoothing = 0.1f };
        var json = ModelConfigJson.Serialize(config);
        Assert.Contains("\"n_transit\": 8", json, StringComparison.Ordinal);
        Assert.Contains("\"dynamics_coefficient\": 0.25", json, StringComparison.Ordinal);
        Assert.Equal(config, ModelConfigJson.Deserialize(json));
        Assert.Throws<FormatException>(() => ModelConfigJson.Deserialize("{\"n_transits\": 8}"));
        var e = Assert.ThrowsAny<ArgumentException>(() => ModelConfigJson.Deserialize("{\"heads\": 5}"));
        Assert.Contains("ModelConfig.Heads", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInputsGiveClearExceptions()
    {
        var m = (InContextModel)InContextModels.Create(SessionTests.Grid("ad", nTransit: 4), 1);
        var s = m.CreateSession(2, new SessionOptions(MaxCandidates: 4));
        var e1 = Assert.Throws<ArgumentException>(() => s.Append(new float[3], new float[2], new float[2], new float[4], new bool[2]));
        Assert.Contains("states", e1.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<ArgumentException>(() => s.Append(new float[4], [0, 7], new float[2], new float[4], new bool[2]));
        Assert.Contains("action 7", e2.Message, StringComparison.Ordinal);
        Assert.Equal(0, s.ContextLength(0)); // nothing was appended
        var e3 = Assert.Throws<ArgumentException>(() => s.Policy([0, 0, 9, 1], new float[10]));
        Assert.Contains("not a cell", e3.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => s.Policy(new float[4], new float[9]));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.ContextLength(2));

        var tooMany = new CandidateBatch(5, 0, [], [], [], [], new float[10], new float[5]);
        var e4 = Assert.Throws<ArgumentException>(() => s.Predict(0, tooMany, SessionTests.NewPredictions(m, 5)));
        Assert.Contains("MaxCandidates", e4.Message, StringComparison.Ordinal);
        var shortImagined = new CandidateBatch(2, 1, new float[2], new float[2], new float[2], new float[4], new float[4], new float[2]);
        var e5 = Assert.Throws<ArgumentException>(() => s.Predict(0, shortImagined, SessionTests.NewPredictions(m, 2)));
        Assert.Contains("ImaginedStates", e5.Message, StringComparison.Ordinal);

        var noDynamics = InContextModels.Create(SessionTests.Grid("ad", dynamics: false, nTransit: 4), 1);
        Assert.Throws<InvalidOperationException>(() => noDynamics.CreateSession(1).Predict(0,
            new CandidateBatch(1, 0, [], [], [], [], new float[2], new float[1]), SessionTests.NewPredictions(m, 1)));

        var e6 = Assert.Throws<ArgumentException>(() => m.Loss(new WindowBatch(2, 5, 2, 1)));
        Assert.Contains("n_transit = 4", e6.Message, StringComparison.Ordinal);
        var dpt = InContextModels.Create(SessionTests.Grid("dpt", nTransit: 4), 1);
        var e7 = Assert.Throws<ArgumentException>(() => dpt.Loss(new WindowBatch(2, 4, 2, 1)));
        Assert.Contains("OptimalActions", e7.Message, StringComparison.Ordinal);
        var badReward = new WindowBatch(1, 4, 2, 1);
        badReward.Rewards[3] = 0.5f;
        var e8 = Assert.Throws<ArgumentException>(() => m.Loss(badReward));
        Assert.Contains("reward 0.5", e8.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSeedDeterminesInitialisationAndDropout()
    {
        var config = SessionTests.Grid("ad");
        var a = (InContextModel)InContextModels.Create(config, 42);
        var b = (InContextModel)InContextModels.Create(config, 42);
        var c = (InContextModel)InContextModels.Create(config, 43);
        foreach (var (k, p) in a.StateDict()) Assert.Equal(p.ToArray(), b.StateDict()[k].ToArray());
        Assert.NotEqual(a.StateDict()["embed_context.weight"].ToArray(), c.StateDict()["embed_context.weight"].ToArray());

        var batch = TinyBatch(a, 4, new Generator(9));
        var la = a.Loss(batch).Total.Item();
        var lb = b.Loss(batch).Total.Item();
        Assert.Equal(la, lb); // same dropout masks
        var state = a.DropoutGenerator.GetState();
        var next = a.Loss(batch).Total.Item();
        Assert.NotEqual(la, next); // new masks
        a.DropoutGenerator.SetState(state);
        Assert.Equal(next, a.Loss(batch).Total.Item()); // restored generator, same masks (exact resume)
        a.Eval();
        Assert.NotEqual(la, a.Loss(batch).Total.Item()); // dropout (p 0.1) was active in training mode
    }

    /// <summary>A tiny DICP-AD model (d 16, 2 layers) memorises a fixed batch of 16 windows in 40 AdamW steps: loss ≈ 6.7 → &lt; 1 % of it, accuracies reach 1 (measured: 6.66 → 0.0017 after 30 steps).</summary>
    [Fact]
    public void TinyAdModelOverfitsAFixedBatch()
    {
        var config = new ModelConfig(Model: "ad", Dynamics: true, NTransit: 6, EmbeddingDim: 16, Layers: 2, Heads: 2, Inner: 32, Dropout: 0f);
        var m = (InContextModel)InContextModels.Create(config, 5);
        var batch = TinyBatch(m, 16, new Generator(3));
        var opt = new AdamW(m.Parameters(), new AdamOptions(LearningRate: 1e-2f));
        TrainingLoss? first = null, last = null;
        for (var step = 0; step < 40; step++)
        {
            using var scope = TensorScope.Begin();
            m.ZeroGrad();
            var loss = m.Loss(batch);
            loss.Total.Backward();
            GradClip.ClipGradNorm(m.Parameters(), 1f);
            opt.Step();
            first ??= loss with { Total = Tensor.Scalar(loss.Total.Item()) };
            last = loss with { Total = Tensor.Scalar(loss.Total.Item()) };
        }
        Assert.True(first!.Metrics["loss"] > 5.0, $"initial loss {first.Metrics["loss"]}");
        Assert.True(last!.Metrics["loss"] < first.Metrics["loss"] / 100, $"loss {first.Metrics["loss"]} → {last.Metrics["loss"]}");
        Assert.Equal(1.0, last.Metrics["action_accuracy"]);
        Assert.Equal(1.0, last.Metrics["next_state_accuracy"]);
        Assert.Equal(1.0, last.Metrics["reward_accuracy"]);
    }

    internal static WindowBatch TinyBatch(InContextModel m, int size, Generator g)
    {
        int n = m.SampleSteps, o = m.ObservationSize, a = m.ActionSize;
        var batch = new WindowBatch(size, n, o, a, optimalActions: true);
        for (var i = 0; i < size * n; i++)
        {
            SessionTests.RandomTransition(m, g, batch.States.AsSpan(i * o, o), batch.Actions.AsSpan(i * a, a), out batch.Rewards[i], batch.NextStates.AsSpan(i * o, o));
            batch.OptimalActions![i] = g.NextInt(5);
        }
        return batch;
    }
}
