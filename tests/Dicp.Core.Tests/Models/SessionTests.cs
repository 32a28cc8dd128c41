using Dicp.Models;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Models;

/// <summary>
/// Sessions: shared-prefix (KV-cached) predictions equal the naive full recomputation for depths 0 … beyond the window,
/// with a window that is not yet full and one that is full and slides; the policy equals a direct forward of the model.
/// </summary>
public class SessionTests
{
    internal static ModelConfig Grid(string model, bool dynamics = true, int nTransit = 8) => new(
        Model: model, Dynamics: dynamics, NTransit: nTransit, EmbeddingDim: 32, Layers: 3, Heads: 4, Inner: 64, Dropout: 0.1f);

    internal static ModelConfig Continuous(bool dynamics = true) => new(
        Model: "ad", Dynamics: dynamics, ReturnToGo: dynamics, ObservationSize: 3, StateClasses: 0, ActionCount: 0, ActionSize: 2,
        RewardClasses: 0, RewardMax: 1.5f, NTransit: 8, EmbeddingDim: 32, Layers: 3, Heads: 4, Inner: 64, Dropout: 0.1f);

    /// <summary>Random transitions of the model's kind: grid cells and discrete actions, or Gaussian vectors.</summary>
    internal static void RandomTransition(InContextModel m, Generator g, Span<float> s, Span<float> a, out float r, Span<float> s2)
    {
        for (var i = 0; i < s.Length; i++)
        {
            s[i] = m.IsGrid ? g.NextInt(m.GridSide) : (float)g.NextNormal();
            s2[i] = m.IsGrid ? g.NextInt(m.GridSide) : (float)g.NextNormal();
        }
        for (var i = 0; i < a.Length; i++) a[i] = m.DiscreteActions ? g.NextInt(m.Config.ActionCount) : g.Uniform(-1f, 1f);
        r = m.Config.RewardClasses > 0 ? g.NextInt(m.Config.RewardClasses) : g.Uniform(0f, 2f);
    }

    internal static void AppendRandom(IInContextSession session, InContextModel m, Generator g)
    {
        int e = session.Environments, o = m.ObservationSize, a = m.ActionSize;
        float[] s = new float[e * o], act = new float[e * a], r = new float[e], s2 = new float[e * o];
        for (var i = 0; i < e; i++)
            RandomTransition(m, g, s.AsSpan(i * o, o), act.AsSpan(i * a, a), out r[i], s2.AsSpan(i * o, o));
        session.Append(s, act, r, s2, new bool[e]);
    }

    internal static CandidateBatch RandomCandidates(InContextModel m, Generator g, int n, int depth, bool sharedQueryStates)
    {
        int o = m.ObservationSize, a = m.ActionSize;
        var b = new CandidateBatch(n, depth, new float[n * depth * o], new float[n * depth * a], new float[n * depth],
            new float[n * depth * o], new float[n * o], new float[n * a]);
        for (var c = 0; c < n; c++)
        {
            for (var t = 0; t < depth; t++)
            {
                var i = c * depth + t;
                RandomTransition(m, g, b.ImaginedStates.AsSpan(i * o, o), b.ImaginedActions.AsSpan(i * a, a), out b.ImaginedRewards[i], b.ImaginedNextStates.AsSpan(i * o, o));
            }
            RandomTransition(m, g, b.QueryStates.AsSpan(c * o, o), b.QueryActions.AsSpan(c * a, a), out _, new float[o]);
            if (sharedQueryStates && c % 3 != 0)
            {
                // Groups of 3 share a query state (as beam-search expansions do); the second member also shares the
                // first one's imagined path, differing only in its query action.
                var lead = c - c % 3;
                b.QueryStates.AsSpan(lead * o, o).CopyTo(b.QueryStates.AsSpan(c * o, o));
                if (c % 3 == 1)
                {
                    b.ImaginedStates.AsSpan(lead * depth * o, depth * o).CopyTo(b.ImaginedStates.AsSpan(c * depth * o));
                    b.ImaginedActions.AsSpan(lead * depth * a, depth * a).CopyTo(b.ImaginedActions.AsSpan(c * depth * a));
                    b.ImaginedRewards.AsSpan(lead * depth, depth).CopyTo(b.ImaginedRewards.AsSpan(c * depth));
                    b.ImaginedNextStates.AsSpan(lead * depth * o, depth * o).CopyTo(b.ImaginedNextStates.AsSpan(c * depth * o));
                }
            }
        }
        return b;
    }

    internal static CandidatePredictions NewPredictions(InContextModel m, int n) =>
        new(new float[n], new float[n * m.ObservationSize], m.HasReturnToGo ? new float[n] : null, new float[n * m.PolicySize]);

    public static TheoryData<string> Kinds() => ["ad-grid", "dpt-grid", "ad-continuous"];

    private static InContextModel Build(string kind, int seed = 3)
    {
        var config = kind switch { "ad-grid" => Grid("ad"), "dpt-grid" => Grid("dpt"), _ => Continuous() };
        var m = (InContextModel)InContextModels.Create(config, seed);
        m.Train(); // sessions must ignore dropout whatever the mode
        return m;
    }

    /// <summary>
    /// Environments stepped together in one session (as the evaluation steps a split's goals) see only their own
    /// context: the policy and the depth-0 and depth-1 rollout predictions of every environment, asked for in one call
    /// over all environments' nodes, equal those of a one-environment session holding the same transitions, before the
    /// window is full and after it slid over an episode boundary.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void EnvironmentsSteppedTogetherEqualOneSessionEach(string kind)
    {
        const int e = 4;
        var m = Build(kind);
        int o = m.ObservationSize, a = m.ActionSize, p = m.PolicySize;
        var together = m.CreateSession(e);
        var alone = Enumerable.Range(0, e).Select(_ => m.CreateSession(1)).ToArray();
        var g = new Generator(5);
        float[] s = new float[e * o], act = new float[e * a], r = new float[e], s2 = new float[e * o];
        var checks = 0;
        for (var step = 0; step < m.WindowTransitions + 5; step++)
        {
            if (step is 3 or 11)
            {
                var obs = new float[e * o];
                for (var i = 0; i < e; i++) RandomTransition(m, g, obs.AsSpan(i * o, o), new float[a], out _, new float[o]);
                var policy = new float[e * p];
                together.Policy(obs, policy);
                // One call over every environment's nodes (3 actions each), then one more depth.
                var roots = Enumerable.Range(0, e * 3).Select(i => together.Root(i / 3, obs.AsSpan(i / 3 * o, o))).ToArray();
                var actions = new float[e * 3 * a];
                for (var i = 0; i < e * 3; i++) RandomTransition(m, g, new float[o], actions.AsSpan(i * a, a), out _, new float[o]);
                var (d0, c0) = (NewPredictions(m, e * 3), new Rollout[e * 3]);
                together.Step(roots, actions, d0, c0);
                var (d1, c1) = (NewPredictions(m, e * 3), new Rollout[e * 3]);
                together.Step(c0, actions, d1, c1);
                for (var i = 0; i < e; i++)
                {
                    var what = $"{kind} step {step} environment {i}";
                    var single = new float[p];
                    alone[i].Policy(obs.AsSpan(i * o, o), single);
                    Close.Assert(single, policy.AsSpan(i * p, p).ToArray(), 1e-6, 1e-6, what + " policy");
                    var root = alone[i].Root(0, obs.AsSpan(i * o, o));
                    var mine = actions.AsSpan(i * 3 * a, 3 * a).ToArray();
                    var (s0, k0) = (NewPredictions(m, 3), new Rollout[3]);
                    alone[i].Step([root, root, root], mine, s0, k0);
                    var (s1, k1) = (NewPredictions(m, 3), new Rollout[3]);
                    alone[i].Step(k0, mine, s1, k1);
                    foreach (var (one, all, depth) in new[] { (s0, d0, 0), (s1, d1, 1) })
                    {
                        Close.Assert(one.Rewards, all.Rewards.AsSpan(i * 3, 3).ToArray(), 1e-6, 1e-6, $"{what} depth {depth} rewards");
                        Close.Assert(one.NextStates, all.NextStates.AsSpan(i * 3 * o, 3 * o).ToArray(), 1e-6, 1e-6, $"{what} depth {depth} next states");
                        Close.Assert(one.Policy, all.Policy.AsSpan(i * 3 * p, 3 * p).ToArray(), 1e-6, 1e-6, $"{what} depth {depth} policy");
                    }
                }
                checks++;
            }
            for (var i = 0; i < e; i++)
                RandomTransition(m, g, s.AsSpan(i * o, o), act.AsSpan(i * a, a), out r[i], s2.AsSpan(i * o, o));
            var dones = Enumerable.Repeat(step % 5 == 4, e).ToArray(); // every environment ends an episode on the same steps
            together.Append(s, act, r, s2, dones);
            for (var i = 0; i < e; i++)
                alone[i].Append(s.AsSpan(i * o, o), act.AsSpan(i * a, a), r.AsSpan(i, 1), s2.AsSpan(i * o, o), dones.AsSpan(i, 1));
        }
        Assert.Equal(2, checks);
        Assert.True(together.IsWindowFull(0));
    }

    /// <summary>Tolerance: 1e-5 absolute + 1e-5 relative on policies and regressed values; decoded classes equal.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void SharedPrefixEqualsNaiveRecomputation(string kind)
    {
        var m = Build(kind);
        var shared = (InContextSession)m.CreateSession(2, new SessionOptions(SharedPrefix: true));
        var naive = m.CreateSession(2, new SessionOptions(SharedPrefix: false));
        var g = new Generator(11);
        var w = m.WindowTransitions; // 7
        var checkedAt = new List<int>();
        for (var step = 0; step <= w + 3; step++)
        {
            if (step is 0 or 3 or 7 or 10) // empty, partly full, just full, full and slid three times
            {
                for (var depth = 0; depth <= w + 2; depth++)
                {
                    var batch = RandomCandidates(m, g, 9, depth, sharedQueryStates: true);
                    for (var env = 0; env < 2; env++)
                    {
                        var a = NewPredictions(m, 9);
                        var b = NewPredictions(m, 9);
                        shared.Predict(env, batch, a);
                        naive.Predict(env, batch, b);
                        var what = $"{kind} L={shared.ContextLength(env)} h={depth} env={env}";
                        Close.Assert(b.Policy, a.Policy, 1e-5, 1e-5, what + " policy");
                        Close.Assert(b.Rewards, a.Rewards, 1e-5, 1e-5, what + " rewards");
                        Close.Assert(b.NextStates, a.NextStates, 1e-5, 1e-5, what + " next states");
                        if (m.HasReturnToGo) Close.Assert(b.ReturnsToGo!, a.ReturnsToGo!, 1e-5, 1e-5, what + " returns");
                    }
                }
                checkedAt.Add(shared.ContextLength(0));
            }
            AppendRandom(shared, m, new Generator(100 + step));
            AppendRandom(naive, m, new Generator(100 + step));
        }
        Assert.Equal([0, 3, 7, 7], checkedAt);
        Assert.True(shared.IsWindowFull(0));
    }

    [Fact]
    public void PrefixIsEncodedOncePerDepthUntilTheNextAppend()
    {
        var m = Build("ad-grid");
        var s = (InContextSession)m.CreateSession(1);
        var g = new Generator(5);
        for (var i = 0; i < 10; i++) AppendRandom(s, m, g);
        var p = NewPredictions(m, 4);
        s.Predict(0, RandomCandidates(m, g, 4, 0, false), p);
        s.Predict(0, RandomCandidates(m, g, 4, 0, false), p);
        Assert.Equal(1, s.PrefixEncodings);
        s.Predict(0, RandomCandidates(m, g, 4, 2, false), p);
        s.Predict(0, RandomCandidates(m, g, 4, 2, false), p);
        Assert.Equal(2, s.PrefixEncodings);
        AppendRandom(s, m, g);
        s.Predict(0, RandomCandidates(m, g, 4, 2, false), p);
        Assert.Equal(3, s.PrefixEncodings);
    }

    /// <summary>The session's policy and depth-0 predictions equal <see cref="InContextModel.Forward"/> on the same window (eval mode), within 1e-5.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void PolicyAndPredictionsEqualADirectForward(string kind)
    {
        var m = Build(kind);
        const int e = 3;
        var session = m.CreateSession(e);
        var w = m.WindowTransitions;
        int o = m.ObservationSize, a = m.ActionSize, n = m.SampleSteps;
        var batch = new WindowBatch(e, n, o, a, optimalActions: true, returnsToGo: true);
        var g = new Generator(21);
        for (var i = 0; i < e * n; i++)
            RandomTransition(m, g, batch.States.AsSpan(i * o, o), batch.Actions.AsSpan(i * a, a), out batch.Rewards[i], batch.NextStates.AsSpan(i * o, o));
        for (var t = 0; t < w; t++)
        {
            float[] s = new float[e * o], act = new float[e * a], r = new float[e], s2 = new float[e * o];
            for (var i = 0; i < e; i++)
            {
                var k = i * n + t;
                batch.States.AsSpan(k * o, o).CopyTo(s.AsSpan(i * o));
                batch.Actions.AsSpan(k * a, a).CopyTo(act.AsSpan(i * a));
                r[i] = batch.Rewards[k];
                batch.NextStates.AsSpan(k * o, o).CopyTo(s2.AsSpan(i * o));
            }
            session.Append(s, act, r, s2, new bool[e]);
        }
        var obs = new float[e * o];
        for (var i = 0; i < e; i++) batch.States.AsSpan((i * n + n - 1) * o, o).CopyTo(obs.AsSpan(i * o));
        var policy = new float[e * m.PolicySize];
        session.Policy(obs, policy);

        m.Eval();
        var outputs = m.Forward(batch);
        var k0 = outputs.Actions.Shape[1];
        var c = outputs.Actions.Shape[2];
        for (var i = 0; i < e; i++)
        {
            var direct = outputs.Actions.Span.Slice((i * k0 + k0 - 1) * c, c).ToArray(); // the last action position
            var expected = new float[m.PolicySize];
            m.WritePolicy(direct, expected);
            Close.Assert(expected, policy.AsSpan(i * m.PolicySize, m.PolicySize), 1e-5, 1e-5, $"{kind} policy env {i}");

            var cand = new CandidateBatch(1, 0, [], [], [], [], obs.AsSpan(i * o, o).ToArray(), batch.Actions.AsSpan((i * n + n - 1) * a, a).ToArray());
            var pred = NewPredictions(m, 1);
            session.Predict(i, cand, pred);
            Close.Assert(expected, pred.Policy, 1e-5, 1e-5, $"{kind} predicted policy env {i}");
            var rewardHead = outputs.Rewards!.Span.Slice(i * outputs.Rewards.Shape[1], outputs.Rewards.Shape[1]);
            Assert.Equal(m.DecodeReward(rewardHead), pred.Rewards[0], 5);
            var nextHead = outputs.NextStates!.Span.Slice(i * outputs.NextStates.Shape[1], outputs.NextStates.Shape[1]);
            var next = new float[o];
            m.DecodeNextState(nextHead, next);
            Close.Assert(next, pred.NextStates, 1e-5, 1e-5, $"{kind} next state env {i}");
            if (m.IsGrid) Assert.True(pred.NextStates.All(v => v == MathF.Floor(v) && v >= 0 && v < 9), "grid next states decode to cells");
        }
    }

    [Fact]
    public void ResetEmptiesTheWindowsAndTheEmptyWindowStillAnswers()
    {
        var m = Build("ad-grid");
        var s = m.CreateSession(2);
        var g = new Generator(1);
        for (var i = 0; i < 4; i++) AppendRandom(s, m, g);
        Assert.Equal(4, s.ContextLength(1));
        s.Reset();
        Assert.Equal(0, s.ContextLength(0));
        var policy = new float[2 * m.PolicySize];
        s.Policy([1, 2, 3, 4], policy);
        Assert.All(policy, v => Assert.True(float.IsFinite(v)));
    }
}
