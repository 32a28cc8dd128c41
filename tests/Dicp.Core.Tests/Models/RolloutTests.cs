using Dicp.Models;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Models;

/// <summary>
/// Rollout handles: a KV-cached session's tree (nodes of several environments and depths stepped in one call) predicts
/// what the naive session's replay of every path predicts; stale and foreign nodes are refused; and the token counts of
/// a path of depth H are those the cache's design states (O(H²) stem tokens when the window slides).
/// </summary>
public class RolloutTests
{
    private static InContextModel Build(string kind)
    {
        var config = kind switch { "ad-grid" => SessionTests.Grid("ad"), "dpt-grid" => SessionTests.Grid("dpt"), _ => SessionTests.Continuous() };
        var m = (InContextModel)InContextModels.Create(config, 5);
        m.Train(); // sessions ignore dropout whatever the mode
        return m;
    }

    private static float[] RandomActions(InContextModel m, Generator g, int n)
    {
        var a = new float[n * m.ActionSize];
        for (var i = 0; i < a.Length; i++) a[i] = m.DiscreteActions ? g.NextInt(m.Config.ActionCount) : g.Uniform(-1f, 1f);
        return a;
    }

    /// <summary>
    /// Three environments whose windows are full and slid; three Step calls mixing environments and depths 0 … 2, a
    /// node repeated, a node stepped twice (its cached stem reused): predictions equal the naive session's within 1e-5.
    /// </summary>
    [Theory]
    [MemberData(nameof(SessionTests.Kinds), MemberType = typeof(SessionTests))]
    public void CachedTreeEqualsNaiveReplay(string kind)
    {
        var m = Build(kind);
        var cached = m.CreateSession(3, new SessionOptions(SharedPrefix: true));
        var naive = m.CreateSession(3, new SessionOptions(SharedPrefix: false));
        var g = new Generator(4);
        for (var t = 0; t < m.WindowTransitions + 2; t++)
        {
            var seed = g.NextInt(1 << 20);
            SessionTests.AppendRandom(cached, m, new Generator(seed));
            SessionTests.AppendRandom(naive, m, new Generator(seed));
        }
        var o = m.ObservationSize;
        var obs = new float[3 * o];
        SessionTests.RandomTransition(m, g, obs.AsSpan(0, o), new float[m.ActionSize], out _, obs.AsSpan(o, o));
        SessionTests.RandomTransition(m, g, obs.AsSpan(2 * o, o), new float[m.ActionSize], out _, new float[o]);
        Rollout[] Roots(IInContextSession s) => [.. Enumerable.Range(0, 3).Select(e => s.Root(e, obs.AsSpan(e * o, o)))];
        var (rc, rn) = (Roots(cached), Roots(naive));

        // Each call: (which earlier node: -1 - e for root e, else an index into the previous call's children).
        int[][] calls = [[-1, -1, -2, -3, -3], [0, 1, -2, 3, 0], [0, 2, -3, 1]];
        Rollout[] prevC = [], prevN = [];
        for (var k = 0; k < calls.Length; k++)
        {
            var n = calls[k].Length;
            Rollout[] nc = [.. calls[k].Select(i => i < 0 ? rc[-1 - i] : prevC[i])], nn = [.. calls[k].Select(i => i < 0 ? rn[-1 - i] : prevN[i])];
            var actions = RandomActions(m, g, n);
            CandidatePredictions a = SessionTests.NewPredictions(m, n), b = SessionTests.NewPredictions(m, n);
            Rollout[] cc = new Rollout[n], cn = new Rollout[n];
            cached.Step(nc, actions, a, cc);
            naive.Step(nn, actions, b, cn);
            var what = $"{kind} call {k}";
            Close.Assert(b.Policy, a.Policy, 1e-5, 1e-5, what + " policy");
            Close.Assert(b.Rewards, a.Rewards, 1e-5, 1e-5, what + " rewards");
            Close.Assert(b.NextStates, a.NextStates, 1e-5, 1e-5, what + " next states");
            if (m.HasReturnToGo) Close.Assert(b.ReturnsToGo!, a.ReturnsToGo!, 1e-5, 1e-5, what + " returns");
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(nc[i].Depth + 1, cc[i].Depth);
                Assert.Same(nc[i], cc[i].Parent);
                Assert.Equal(a.Rewards[i], cc[i].Reward);
                Assert.Equal(nc[i].Return + a.Rewards[i], cc[i].Return);
                Assert.Equal(a.NextStates.AsSpan(i * o, o).ToArray(), cc[i].Observation.ToArray());
                Assert.Equal(nc[i].Observation.ToArray(), cc[i].State.ToArray());
            }
            (prevC, prevN) = (cc, cn);
        }
        Assert.Equal(3, prevC[0].Depth);
    }

    [Fact]
    public void StaleAndForeignNodesAreRefused()
    {
        var m = Build("ad-grid");
        var s = m.CreateSession(1);
        var other = m.CreateSession(1);
        var g = new Generator(2);
        SessionTests.AppendRandom(s, m, g);
        var root = s.Root(0, [1, 1]);
        var p = SessionTests.NewPredictions(m, 1);
        var e = Assert.Throws<ArgumentException>(() => other.Step([root], [0f], p, new Rollout[1]));
        Assert.Contains("another session", e.Message);
        Assert.Throws<ArgumentException>(() => s.Step([root], [0f, 1f], p, new Rollout[1])); // (N 1, A 1)
        Assert.Throws<ArgumentException>(() => s.Root(0, [1f]));
        root.Step([2f], p, new Rollout[1]);
        SessionTests.AppendRandom(s, m, g);
        var stale = Assert.Throws<InvalidOperationException>(() => root.Step([2f], p, new Rollout[1]));
        Assert.Contains("stale", stale.Message);
    }

    /// <summary>
    /// Token evaluations of one path (one action per depth) of depth H = 5, AD, window W = 7: with the window full every
    /// depth slides it, so each node runs its h + 1 stem tokens (imagined transitions and query state) anew: Σ = H(H+1)/2
    /// = 15, plus one prefix encoding per depth (W − h real transitions, shared by every node of the environment at
    /// that depth). A second action from the root reuses the root's stem (no new tokens). With a context of 2 (no slide
    /// within H = 3) ancestors' keys and values are chained (<see cref="RolloutChainTests"/>): 1 + 2 + 2 = 5.
    /// </summary>
    [Fact]
    public void APathOfDepthHRunsHTimesHPlusOneOverTwoStemTokens()
    {
        var m = Build("ad-grid");
        var s = (InContextSession)m.CreateSession(1);
        var g = new Generator(6);
        for (var t = 0; t < m.WindowTransitions + 1; t++) SessionTests.AppendRandom(s, m, g);
        var p = SessionTests.NewPredictions(m, 1);
        var children = new Rollout[1];
        var root = s.Root(0, [2, 3]);
        var node = root;
        for (var h = 0; h < 5; h++) { node.Step([h % 5], p, children); node = children[0]; }
        Assert.Equal(15, s.StemTokens);
        Assert.Equal(5, s.PrefixEncodings);
        root.Step([4f], p, children);
        Assert.Equal(15, s.StemTokens);
        Assert.Equal(5, s.PrefixEncodings);

        var short_ = (InContextSession)m.CreateSession(1);
        SessionTests.AppendRandom(short_, m, g);
        SessionTests.AppendRandom(short_, m, g);
        node = short_.Root(0, [2, 3]);
        for (var h = 0; h < 3; h++) { node.Step([1f], p, children); node = children[0]; }
        Assert.Equal(5, short_.StemTokens);
        Assert.Equal(1, short_.PrefixEncodings); // L + h ≤ W: one prefix (the whole window) serves every depth
    }
}
