using Dicp.Environments;
using Dicp.Models;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Models;

/// <summary>
/// Chained rollout stems (issue 18): where the window does not slide between a node and its child (a real context
/// shorter than the window by at least the depth, or <see cref="SessionOptions.ImaginationReserve"/>), a child runs only
/// its new tokens over its ancestors' cached keys and values. Token counts are O(H) per path; predictions equal the
/// naive recompute-everything session's within 1e-5 for AD, DPT (which cannot chain: its query comes first) and IDT.
/// </summary>
public class RolloutChainTests
{
    /// <summary>An AD/DPT model with window W = n_transit − 1.</summary>
    private static InContextModel Build(string kind, int nTransit = 8)
    {
        var config = kind switch
        {
            "ad-grid" => SessionTests.Grid("ad", nTransit: nTransit),
            "dpt-grid" => SessionTests.Grid("dpt", nTransit: nTransit),
            _ => SessionTests.Continuous() with { NTransit = nTransit },
        };
        var m = (InContextModel)InContextModels.Create(config, 5);
        m.Train(); // sessions ignore dropout whatever the mode
        return m;
    }

    private static IdtModel BuildIdt(bool grid, bool sliding) => IdtSharedPrefixTests.Model(grid, sliding, c: 6); // window 12

    private static float[] Random(IInContextModel m, Generator g, int n, bool actions)
    {
        var size = actions ? m.ActionSpace.Size : m.ObservationSize;
        var x = new float[n * size];
        var grid = m.ObservationSize == 2 && m.ActionSpace is DiscreteSpace;
        for (var i = 0; i < x.Length; i++)
            x[i] = actions
                ? m.ActionSpace is DiscreteSpace d ? g.NextInt(d.N) : g.Uniform(-1f, 1f)
                : grid ? g.NextInt(9) : (float)g.NextNormal();
        return x;
    }

    private static void AppendBoth(IInContextModel m, Generator g, params IInContextSession[] sessions)
    {
        var e = sessions[0].Environments;
        float[] s = Random(m, g, e, false), a = Random(m, g, e, true), s2 = Random(m, g, e, false), r = new float[e];
        for (var i = 0; i < e; i++) r[i] = g.NextInt(2);
        foreach (var session in sessions) session.Append(s, a, r, s2, new bool[e]);
    }

    private static CandidatePredictions NewPredictions(IInContextModel m, int n) =>
        new(new float[n], new float[n * m.ObservationSize], m.HasReturnToGo ? new float[n] : null, new float[n * RolloutReplay.PolicySize(m)]);

    /// <summary>
    /// Grows a tree to <paramref name="depth"/> in both sessions, one <see cref="IInContextSession.Step"/> per depth over
    /// every environment: each call steps up to four frontier nodes twice (two actions), one of them listed again, and a
    /// root once more (its cached stem reused); predictions must agree within 1e-5 at every call.
    /// </summary>
    private static void AssertTreesAgree(IInContextSession cached, IInContextSession naive, Generator g, int depth, string what)
    {
        var m = cached.Model;
        int e = cached.Environments, o = m.ObservationSize;
        var obs = Random(m, g, e, false);
        List<(Rollout C, Rollout N)> frontier = [.. Enumerable.Range(0, e).Select(i => (cached.Root(i, obs.AsSpan(i * o, o)), naive.Root(i, obs.AsSpan(i * o, o))))];
        var roots = frontier.ToList();
        for (var h = 0; h < depth; h++)
        {
            var pairs = new List<(Rollout C, Rollout N)>();
            foreach (var f in frontier.Take(4)) { pairs.Add(f); pairs.Add(f); }
            pairs.Add(pairs[0]);
            pairs.Add(roots[h % e]);
            var n = pairs.Count;
            var actions = Random(m, g, n, true);
            CandidatePredictions a = NewPredictions(m, n), b = NewPredictions(m, n);
            Rollout[] cc = new Rollout[n], cn = new Rollout[n];
            cached.Step([.. pairs.Select(x => x.C)], actions, a, cc);
            naive.Step([.. pairs.Select(x => x.N)], actions, b, cn);
            var at = $"{what} depth {h}";
            Close.Assert(b.Policy, a.Policy, 1e-5, 1e-5, at + " policy");
            Close.Assert(b.Rewards, a.Rewards, 1e-5, 1e-5, at + " rewards");
            Close.Assert(b.NextStates, a.NextStates, 1e-5, 1e-5, at + " next states");
            if (a.ReturnsToGo is not null) Close.Assert(b.ReturnsToGo!, a.ReturnsToGo, 1e-5, 1e-5, at + " returns");
            // The next frontier: the children at depth h + 1, alternating environments (mixed in every call).
            frontier = [.. Enumerable.Range(0, n).Where(i => cc[i].Depth == h + 1).Select(i => (cc[i], cn[i])).OrderBy(x => x.Item1.Environment)];
            frontier = [.. frontier.Where((x, i) => i % 2 == 0)];
        }
    }

    /// <summary>
    /// AD and DPT, window W = 7: a short real context (2 transitions: depths 1 … 5 never slide; 4: they slide from depth 4
    /// on, chained nodes next to re-encoded ones) and a full window kept with a reserve of 5 (the naive session with the
    /// same reserve is the oracle): the cached tree equals the naive replay; so does the policy.
    /// </summary>
    [Theory]
    [InlineData("ad-grid", 2, 0)]
    [InlineData("ad-grid", 4, 0)]
    [InlineData("ad-grid", 9, 5)]
    [InlineData("dpt-grid", 2, 0)]
    [InlineData("dpt-grid", 9, 5)]
    [InlineData("ad-continuous", 2, 0)]
    [InlineData("ad-continuous", 4, 0)]
    [InlineData("ad-continuous", 9, 5)]
    public void ChainedTreeEqualsNaiveReplay(string kind, int real, int reserve)
    {
        var m = Build(kind);
        var options = new SessionOptions(ImaginationReserve: reserve);
        var cached = m.CreateSession(3, options);
        var naive = m.CreateSession(3, options with { SharedPrefix = false });
        var g = new Generator(8);
        for (var t = 0; t < real; t++) AppendBoth(m, g, cached, naive);
        var obs = Random(m, g, 3, false);
        float[] pa = new float[3 * m.PolicySize], pb = new float[3 * m.PolicySize];
        cached.Policy(obs, pa);
        naive.Policy(obs, pb);
        Close.Assert(pb, pa, 1e-5, 1e-5, $"{kind} policy");
        AssertTreesAgree(cached, naive, g, 6, $"{kind} L {real} r {reserve}");
    }

    /// <summary>
    /// Prefixes carried over appends (<see cref="InContextSession.PrefixExtensions"/>): AD, window W = 7, real steps from
    /// an empty context to well past a full window, without and with a reserve. After each append every depth's prefix
    /// is the previous step's prefix that holds the same transitions, plus the new one (one token run); trees grown after
    /// every append equal the naive replay within 1e-5. Once the window is full and slides, a step grows depths 0 … 5 and
    /// encodes only the deepest prefix whole (its units were never a prefix before): one encoding and five extensions.
    /// </summary>
    [Theory]
    [InlineData("ad-grid", 0)]
    [InlineData("ad-grid", 3)]
    [InlineData("ad-continuous", 0)]
    public void PrefixesCarriedOverAppendsEqualNaiveReplay(string kind, int reserve)
    {
        var m = Build(kind);
        var options = new SessionOptions(ImaginationReserve: reserve);
        var cached = (InContextSession)m.CreateSession(3, options);
        var naive = m.CreateSession(3, options with { SharedPrefix = false });
        var g = new Generator(12);
        for (var t = 0; t < m.WindowTransitions + 5; t++)
        {
            AppendBoth(m, g, cached, naive);
            var (encodings, extensions) = (cached.PrefixEncodings, cached.PrefixExtensions);
            AssertTreesAgree(cached, naive, g, 6, $"{kind} r {reserve} after {t + 1} appends");
            if (t > 0) Assert.True(cached.PrefixExtensions > extensions, $"step {t}: no prefix was extended");
            if (reserve == 0 && t >= m.WindowTransitions + 1)
            {
                Assert.Equal(1, cached.PrefixEncodings - encodings);
                Assert.Equal(5, cached.PrefixExtensions - extensions);
            }
        }
        Assert.Equal(m.WindowTransitions, cached.ContextLength(0));
    }

    /// <summary>
    /// IDT from every segment position j (c = 6, paths of depth ≤ c − j … c): the whole-segment window never slides, so
    /// every child chains; with sliding imagination (the last c − 1 steps) chaining stops where the window slides.
    /// </summary>
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void IdtChainedTreeEqualsNaiveReplay(bool grid, bool sliding)
    {
        var m = BuildIdt(grid, sliding);
        var options = new SessionOptions(TargetReturns: [5f, 3f], Seed: 4);
        var cached = m.CreateSession(2, options);
        var naive = m.CreateSession(2, options with { SharedPrefix = false });
        var g = new Generator(9);
        var p = m.PolicySize;
        for (var step = 0; step < 8; step++)
        {
            var obs = Random(m, g, 2, false);
            float[] pa = new float[2 * p], pb = new float[2 * p];
            cached.Policy(obs, pa); // draws the segment's decisions: the same in both (same seed, same calls)
            naive.Policy(obs, pb);
            Assert.Equal(pb, pa);
            AssertTreesAgree(cached, naive, g, sliding ? 6 : 5, $"idt {(grid ? "grid" : "continuous")} {(sliding ? "sliding" : "segment")} step {step}");
            AppendBoth(m, g, cached, naive);
        }
    }

    /// <summary>One path: one action per depth from the root, returning the stem tokens each depth's node ran.</summary>
    private static long[] PathTokens(IInContextSession s, Func<long> stems, int depth)
    {
        var m = s.Model;
        var p = NewPredictions(m, 1);
        var children = new Rollout[1];
        var node = s.Root(0, Random(m, new Generator(1), 1, false));
        var perDepth = new long[depth];
        for (var h = 0; h < depth; h++)
        {
            var before = stems();
            node.Step(Random(m, new Generator(h + 2), 1, true), p, children);
            perDepth[h] = stems() - before;
            node = children[0];
        }
        return perDepth;
    }

    /// <summary>
    /// AD, window W = 23, a path of depth H = 16 (nodes at depths 0 … 15 stepped): a short context (3 real transitions,
    /// L + h ≤ W throughout) runs 1 token at the root and 2 per deeper node, 31 in all, over one prefix encoding; a full
    /// window runs h + 1 per node, 136 (= H(H + 1)/2), over 16 prefixes; the full window with a reserve of H − 1 = 15
    /// (the depth of the deepest node a horizon-H planner steps) runs 31 again over one prefix. Past the reserve the
    /// window slides again and a node re-encodes its whole stem.
    /// </summary>
    [Fact]
    public void AdPathTokensAreLinearWithoutSlidingAndWithAReserve()
    {
        var m = Build("ad-grid", nTransit: 24);
        const int H = 16;
        var g = new Generator(3);

        var shortContext = (InContextSession)m.CreateSession(1);
        for (var t = 0; t < 3; t++) AppendBoth(m, g, shortContext);
        var tokens = PathTokens(shortContext, () => shortContext.StemTokens, H);
        Assert.Equal([1L, .. Enumerable.Repeat(2L, H - 1)], tokens);
        Assert.Equal(2 * H - 1, shortContext.StemTokens);
        Assert.Equal(1, shortContext.PrefixEncodings);

        var full = (InContextSession)m.CreateSession(1);
        var reserved = (InContextSession)m.CreateSession(1, new SessionOptions(ImaginationReserve: H - 1));
        for (var t = 0; t < m.WindowTransitions + 3; t++) AppendBoth(m, g, full, reserved);
        Assert.Equal([.. Enumerable.Range(1, H).Select(h => (long)h)], PathTokens(full, () => full.StemTokens, H));
        Assert.Equal(H * (H + 1) / 2, full.StemTokens);
        Assert.Equal(H, full.PrefixEncodings);

        tokens = PathTokens(reserved, () => reserved.StemTokens, H + 1);
        Assert.Equal([1L, .. Enumerable.Repeat(2L, H - 1)], tokens[..H]);
        Assert.Equal(H + 1L, tokens[H]);              // depth H, past the reserve: the window slides, the whole stem runs
        Assert.Equal(2, reserved.PrefixEncodings);    // depths 0 … H − 1 share one prefix, depth H has its own
        Assert.Equal(m.WindowTransitions, reserved.ContextLength(0)); // the real window still holds W transitions
    }

    /// <summary>IDT, c = 6, segment position j = 1: a path of depth 5 runs 2 tokens at the root and 4 per deeper node.</summary>
    [Fact]
    public void IdtPathTokensAreLinear()
    {
        var m = BuildIdt(grid: true, sliding: false);
        var s = (IdtSession)m.CreateSession(1, new SessionOptions(TargetReturns: [5f]));
        var g = new Generator(4);
        s.Policy(Random(m, g, 1, false), new float[m.PolicySize]);
        AppendBoth(m, g, s);
        s.Policy(Random(m, g, 1, false), new float[m.PolicySize]);
        Assert.Equal(1, s.SegmentSteps(0));
        var tokens = PathTokens(s, () => s.StemTokens, 5);
        Assert.Equal([2L, 4, 4, 4, 4], tokens); // Σ(4h + 2) = 50 without chaining
        Assert.Equal(1, s.PrefixEncodings);
    }

    [Fact]
    public void ReserveIsValidated()
    {
        var m = Build("ad-grid");
        Assert.Throws<ArgumentOutOfRangeException>(() => m.CreateSession(1, new SessionOptions(ImaginationReserve: -1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.CreateSession(1, new SessionOptions(ImaginationReserve: m.WindowTransitions)));
        _ = m.CreateSession(1, new SessionOptions(ImaginationReserve: m.WindowTransitions - 1));
        Assert.Throws<ArgumentException>(() => BuildIdt(grid: true, sliding: true).CreateSession(1, new SessionOptions(TargetReturns: [1f], ImaginationReserve: 2)));
        _ = BuildIdt(grid: true, sliding: false).CreateSession(1, new SessionOptions(TargetReturns: [1f], ImaginationReserve: 2));
    }
}
