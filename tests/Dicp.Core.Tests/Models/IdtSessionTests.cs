using Dicp.Environments;
using Dicp.Models;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Models;

/// <summary>
/// The IDT session against the training forward pass: with a near-zero predicted variance (so that z is the predicted
/// mean whatever ε), the session's policy and world-model predictions step by step equal the heads of
/// <see cref="IdtModel.Forward"/> on the same trajectory with the session's returns-to-go.
/// </summary>
public class IdtSessionTests
{
    private const int C = 3, K = 3, N = C * K;

    private static IdtModel Model(bool grid, bool dynamics = true)
    {
        var config = new ModelConfig(Model: "idt", Dynamics: dynamics, ObservationSize: grid ? 2 : 2, StateClasses: grid ? 81 : 0,
            ActionCount: grid ? 5 : 0, ActionSize: 2, RewardClasses: grid ? 2 : 0, RewardMax: 1f, NTransit: N, EmbeddingDim: 16,
            Layers: 2, Heads: 2, Inner: 32, Dropout: 0f, SegmentLength: C, LatentDim: 3);
        var m = (IdtModel)InContextModels.Create(config, seed: 11);
        var head = m.Making.PredZDist; // log-variance rows → −60: std e^−30, z = mean
        for (var r = 3; r < 6; r++)
        {
            head.Weight.Data.AsSpan(r * 16, 16).Clear();
            head.Bias!.Data[r] = -60f;
        }
        return m;
    }

    /// <summary>A trajectory of 2·N steps (Darkroom with goal (5, 4) for grids, a drifting point otherwise).</summary>
    private static (float[] S, float[] A, float[] R, float[] S2) Trajectory(IdtModel m, int steps)
    {
        var g = new Generator(5);
        int o = 2, a = m.ActionSize;
        float[] s = new float[steps * o], act = new float[steps * a], r = new float[steps], s2 = new float[steps * o];
        if (m.IsGrid)
        {
            var env = new Darkroom(5, 4, horizon: 100);
            var obs = new float[2];
            env.Reset(0, obs);
            for (var t = 0; t < steps; t++)
            {
                obs.CopyTo(s, t * o);
                act[t] = t % 3 == 0 ? 0 : g.NextInt(5);
                r[t] = env.Step([act[t]], s2.AsSpan(t * o, o)).Reward;
                s2.AsSpan(t * o, o).CopyTo(obs);
            }
        }
        else
            for (var t = 0; t < steps; t++)
            {
                for (var i = 0; i < o; i++) s[t * o + i] = t == 0 ? 0f : s2[(t - 1) * o + i];
                for (var i = 0; i < a; i++) act[t * a + i] = g.Uniform(-1f, 1f);
                for (var i = 0; i < o; i++) s2[t * o + i] = s[t * o + i] + 0.1f * act[t * a + i];
                r[t] = g.Uniform(0f, 1f);
            }
        return (s, act, r, s2);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PolicyAndPredictionsEqualTheTrainingForwardStepByStep(bool grid)
    {
        var m = Model(grid);
        int o = 2, a = m.ActionSize, p = m.PolicySize;
        var (s, act, r, s2) = Trajectory(m, N);
        const float target = 20f;
        var batch = new WindowBatch(1, N, o, a, returnsToGo: true);
        s.CopyTo(batch.States, 0); act.CopyTo(batch.Actions, 0); r.CopyTo(batch.Rewards, 0); s2.CopyTo(batch.NextStates, 0);
        var rtg = target;
        for (var k = 0; k < K; k++)
        {
            for (var t = 0; t < C; t++) batch.ReturnsToGo![k * C + t] = rtg;
            for (var t = 0; t < C; t++) rtg -= r[k * C + t];
        }
        m.Eval();
        var expected = m.Forward(batch, new float[K * 3]);

        var session = (IdtSession)m.CreateSession(1, new SessionOptions(TargetReturns: [target], Seed: 3));
        var policy = new float[p];
        var cand = new CandidateBatch(1, 0, [], [], [], [], new float[o], new float[a]);
        var pred = new CandidatePredictions(new float[1], new float[o], null, new float[p]);
        for (var t = 0; t < N; t++)
        {
            Assert.Equal(batch.ReturnsToGo![t], session.ReturnToGo(0), 4);
            session.Policy(s.AsSpan(t * o, o), policy);
            Close.Assert(expected.Actions.Span.Slice(t * expected.Actions.Shape[2], p), policy, 1e-4, 1e-5, $"policy at step {t}");
            s.AsSpan(t * o, o).CopyTo(cand.QueryStates);
            act.AsSpan(t * a, a).CopyTo(cand.QueryActions);
            session.Predict(0, cand, pred);
            Close.Assert(policy, pred.Policy, 1e-4, 1e-5, $"Predict policy at step {t}");
            AssertDecoded(m, expected, t, pred, $"step {t}");
            if (t % C == 0 && t + 2 < N && (t + 2) / C == t / C) // depth-2 candidate: the segment's next two real steps, imagined
            {
                var deep = new CandidateBatch(1, 2, s.AsSpan(t * o, 2 * o).ToArray(), act.AsSpan(t * a, 2 * a).ToArray(), r.AsSpan(t, 2).ToArray(),
                    s2.AsSpan(t * o, 2 * o).ToArray(), s.AsSpan((t + 2) * o, o).ToArray(), act.AsSpan((t + 2) * a, a).ToArray());
                session.Predict(0, deep, pred);
                AssertDecoded(m, expected, t + 2, pred, $"depth 2 from step {t}");
            }
            session.Append(s.AsSpan(t * o, o), act.AsSpan(t * a, a), r.AsSpan(t, 1), s2.AsSpan(t * o, o), [false]);
        }
        Assert.Equal(K - 1, session.HighLevelContext(0)); // capped at K − 1 finished segments
        Assert.Equal(N - 1, session.ContextLength(0));
        Assert.True(session.IsWindowFull(0));
    }

    private static void AssertDecoded(IdtModel m, IdtOutputs expected, int t, CandidatePredictions pred, string what)
    {
        var rw = expected.Rewards!.Span.Slice(t * expected.Rewards.Shape[2], expected.Rewards.Shape[2]);
        var ns = expected.NextStates!.Span.Slice(t * expected.NextStates.Shape[2], expected.NextStates.Shape[2]);
        if (m.IsGrid)
        {
            Assert.Equal(System.Numerics.Tensors.TensorPrimitives.IndexOfMax(rw), (int)pred.Rewards[0]);
            var cell = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(ns);
            Assert.Equal([cell / 9, cell % 9], pred.NextStates);
        }
        else
        {
            Assert.Equal(Math.Clamp(rw[0], 0f, 1f), pred.Rewards[0], 4);
            Close.Assert(ns, pred.NextStates, 1e-4, 1e-5, what + " next state");
        }
    }

    [Fact]
    public void ReturnToGoDropsBySegmentRewardAndRestartsAfterAnEpisode()
    {
        var m = Model(grid: true, dynamics: false);
        var session = (IdtSession)m.CreateSession(2, new SessionOptions(TargetReturns: [7f, 3f]));
        var policy = new float[10];
        float[] s = [4, 4, 4, 4];
        for (var t = 0; t < 4; t++)
        {
            session.Policy(s, policy);
            Assert.All(policy, v => Assert.True(float.IsFinite(v)));
            var done = t == 1; // environment 1's episode ends after 2 steps: its segment closes early
            session.Append(s, [0, 1], [1, 1], s, [false, done]);
            if (t == 1) Assert.Equal((7f, 3f, 2, 0), (session.ReturnToGo(0), session.ReturnToGo(1), session.SegmentSteps(0), session.SegmentSteps(1)));
        }
        Assert.Equal((4f, 1, 1), (session.ReturnToGo(0), session.HighLevelContext(0), session.SegmentSteps(0))); // 7 − 3 after one segment
        Assert.Equal((3f, 1, 2), (session.ReturnToGo(1), session.HighLevelContext(1), session.SegmentSteps(1)));
        session.Reset();
        Assert.Equal((7f, 0, 0), (session.ReturnToGo(0), session.HighLevelContext(0), session.ContextLength(0)));
    }

    [Fact]
    public void SessionNeedsTargetReturnsAndPolicyBeforePredict()
    {
        var m = Model(grid: true);
        var e = Assert.Throws<ArgumentException>(() => m.CreateSession(2));
        Assert.Contains("TargetReturns", e.Message);
        Assert.Throws<ArgumentException>(() => m.CreateSession(2, new SessionOptions(TargetReturns: [1f])));
        var s = m.CreateSession(1, new SessionOptions(TargetReturns: [1f]));
        var cand = new CandidateBatch(1, 0, [], [], [], [], [4, 4], [0]);
        var ex = Assert.Throws<InvalidOperationException>(() => s.Predict(0, cand, new CandidatePredictions(new float[1], new float[2], null, new float[5])));
        Assert.Contains("Policy", ex.Message);
        Assert.Throws<InvalidOperationException>(() => Model(grid: true, dynamics: false).CreateSession(1, new SessionOptions(TargetReturns: [1f]))
            .Predict(0, cand, new CandidatePredictions(new float[1], new float[2], null, new float[5])));
    }

    [Fact]
    public void SamplingIsDeterministicGivenTheSessionSeed()
    {
        var m = (IdtModel)InContextModels.Create(new ModelConfig(Model: "idt", NTransit: N, EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 16,
            Dropout: 0f, SegmentLength: C, LatentDim: 3), seed: 2);
        float[] Run(int seed)
        {
            var session = m.CreateSession(1, new SessionOptions(TargetReturns: [5f], Seed: seed));
            var policy = new float[5];
            session.Policy([4, 4], policy);
            return policy;
        }
        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2)); // z is sampled: a different ε moves the policy
    }
}
