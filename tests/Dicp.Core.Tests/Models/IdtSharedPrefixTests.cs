using Dicp.Models;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Models;

/// <summary>
/// IDT's shared-prefix evaluation (cached real steps, deduplicated stems, query-action tokens only) against the naive
/// path that runs every candidate's whole Decisions-to-Go sequence: the same policies, rewards and next states within
/// 1e-5 for every segment position j and depth h (empty prefixes, j + h past c − 1), across appends, segment ends and
/// new decisions.
/// </summary>
public class IdtSharedPrefixTests
{
    private const int C = 4;

    /// <summary>A DICP-IDT on the Darkroom grid (81 cells, 5 actions, 2 reward classes) or a continuous task (O 3, A 2).</summary>
    /// <summary>A 3-layer DICP-IDT with segments of <paramref name="c"/> steps and a window of two segments, in training mode.</summary>
    internal static IdtModel Model(bool grid, bool sliding = false, int c = C)
    {
        var config = new ModelConfig(Model: "idt", Dynamics: true, ObservationSize: grid ? 2 : 3, StateClasses: grid ? 81 : 0,
            ActionCount: grid ? 5 : 0, ActionSize: 2, RewardClasses: grid ? 2 : 0, RewardMax: 1.5f, NTransit: 2 * c, EmbeddingDim: 32,
            Layers: 3, Heads: 4, Inner: 64, Dropout: 0.1f, SegmentLength: c, LatentDim: 3, SlidingImagination: sliding);
        var m = (IdtModel)InContextModels.Create(config, seed: 7);
        m.Train(); // sessions must ignore dropout whatever the mode
        return m;
    }

    private static void RandomStep(IdtModel m, Generator g, Span<float> s, Span<float> a, out float r)
    {
        for (var i = 0; i < s.Length; i++) s[i] = m.IsGrid ? g.NextInt(m.GridSide) : (float)g.NextNormal();
        for (var i = 0; i < a.Length; i++) a[i] = m.DiscreteActions ? g.NextInt(m.Config.ActionCount) : g.Uniform(-1f, 1f);
        r = m.Config.RewardClasses > 0 ? g.NextInt(m.Config.RewardClasses) : g.Uniform(0f, 1.5f);
    }

    /// <summary>
    /// Nine candidates of depth h in triples: member 1 has member 0's imagined path and query state (the same stem,
    /// another query action); member 2 shares only the query state; candidate 8 repeats candidate 7 exactly.
    /// </summary>
    private static CandidateBatch Candidates(IdtModel m, Generator g, int h)
    {
        const int n = 9;
        int o = m.ObservationSize, a = m.ActionSize;
        var b = new CandidateBatch(n, h, new float[n * h * o], new float[n * h * a], new float[n * h], new float[n * h * o],
            new float[n * o], new float[n * a]);
        for (var c = 0; c < n; c++)
        {
            for (var t = 0; t < h; t++)
            {
                var i = c * h + t;
                RandomStep(m, g, b.ImaginedStates.AsSpan(i * o, o), b.ImaginedActions.AsSpan(i * a, a), out b.ImaginedRewards[i]);
                RandomStep(m, g, b.ImaginedNextStates.AsSpan(i * o, o), new float[a], out _);
            }
            RandomStep(m, g, b.QueryStates.AsSpan(c * o, o), b.QueryActions.AsSpan(c * a, a), out _);
            var lead = c - c % 3;
            if (c % 3 != 0) b.QueryStates.AsSpan(lead * o, o).CopyTo(b.QueryStates.AsSpan(c * o));
            if (c % 3 == 1 || c == 8)
            {
                var from = c == 8 ? 7 : lead;
                b.ImaginedStates.AsSpan(from * h * o, h * o).CopyTo(b.ImaginedStates.AsSpan(c * h * o));
                b.ImaginedActions.AsSpan(from * h * a, h * a).CopyTo(b.ImaginedActions.AsSpan(c * h * a));
                b.ImaginedRewards.AsSpan(from * h, h).CopyTo(b.ImaginedRewards.AsSpan(c * h));
                b.ImaginedNextStates.AsSpan(from * h * o, h * o).CopyTo(b.ImaginedNextStates.AsSpan(c * h * o));
                if (c == 8)
                {
                    b.QueryStates.AsSpan(7 * o, o).CopyTo(b.QueryStates.AsSpan(8 * o));
                    b.QueryActions.AsSpan(7 * a, a).CopyTo(b.QueryActions.AsSpan(8 * a));
                }
            }
        }
        return b;
    }

    private static CandidatePredictions NewPredictions(IdtModel m, int n) =>
        new(new float[n], new float[n * m.ObservationSize], null, new float[n * m.PolicySize]);

    /// <summary>Appends one random step to both sessions; environment 1's episode ends at <paramref name="endsEpisode"/> (its segment closes early).</summary>
    private static void Append(IdtModel m, Generator g, bool endsEpisode, params IInContextSession[] sessions)
    {
        int e = sessions[0].Environments, o = m.ObservationSize, a = m.ActionSize;
        float[] s = new float[e * o], act = new float[e * a], r = new float[e], s2 = new float[e * o];
        for (var i = 0; i < e; i++)
        {
            RandomStep(m, g, s.AsSpan(i * o, o), act.AsSpan(i * a, a), out r[i]);
            RandomStep(m, g, s2.AsSpan(i * o, o), new float[a], out _);
        }
        var dones = new bool[e];
        dones[1] = endsEpisode;
        foreach (var session in sessions) session.Append(s, act, r, s2, dones);
    }

    /// <remarks>Reference imagination (the whole segment, depths 0 … c, sequences up to 8c − 1 tokens) and sliding
    /// imagination (the last c − 1 steps, depths 0 … c + 1); per-step decisions in both.</remarks>
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void SharedPrefixEqualsNaiveForEverySegmentPositionAndDepth(bool grid, bool sliding)
    {
        var m = Model(grid, sliding);
        var maxDepth = sliding ? C + 1 : C;
        var options = new SessionOptions(TargetReturns: [5f, 3f], Seed: 4);
        var shared = (IdtSession)m.CreateSession(2, options);
        var naive = (IdtSession)m.CreateSession(2, options with { SharedPrefix = false });
        var g = new Generator(21);
        int o = m.ObservationSize, p = m.PolicySize;
        var seen = new HashSet<(int J, int H)>();
        for (var step = 0; step < 3 * C + 2; step++)
        {
            var obs = new float[2 * o];
            for (var i = 0; i < obs.Length; i++) obs[i] = m.IsGrid ? g.NextInt(m.GridSide) : (float)g.NextNormal();
            float[] pa = new float[2 * p], pb = new float[2 * p];
            shared.Policy(obs, pa); // draws z at a segment's start: the same ε in both sessions (same seed, same calls)
            naive.Policy(obs, pb);
            Assert.Equal(pb, pa);
            for (var h = 0; h <= maxDepth; h++)
                for (var env = 0; env < 2; env++)
                {
                    var batch = Candidates(m, g, h);
                    CandidatePredictions a = NewPredictions(m, 9), b = NewPredictions(m, 9);
                    shared.Predict(env, batch, a);
                    naive.Predict(env, batch, b);
                    var j = shared.SegmentSteps(env);
                    var what = $"{(grid ? "grid" : "continuous")} {(sliding ? "sliding" : "segment")} step {step} env {env} j={j} h={h}";
                    Close.Assert(b.Policy, a.Policy, 1e-5, 1e-5, what + " policy");
                    Close.Assert(b.Rewards, a.Rewards, 1e-5, 1e-5, what + " rewards");
                    Close.Assert(b.NextStates, a.NextStates, 1e-5, 1e-5, what + " next states");
                    // A repeated candidate, and a stem's other query action, read the same query-state token.
                    Assert.Equal(a.Policy.AsSpan(7 * p, p).ToArray(), a.Policy.AsSpan(8 * p, p).ToArray());
                    Assert.Equal(a.Policy.AsSpan(0, p).ToArray(), a.Policy.AsSpan(p, p).ToArray());
                    seen.Add((j, h));
                }
            Append(m, g, endsEpisode: step == 1, shared, naive);
        }
        for (var j = 0; j < C; j++)
            for (var h = 0; h <= maxDepth; h++) Assert.Contains((j, h), seen); // every position, past the segment's end too
        Assert.Equal(1, shared.HighLevelContext(0)); // K − 1 finished segments kept
        Assert.NotEqual(shared.SegmentSteps(0), shared.SegmentSteps(1)); // environment 1's segments are out of phase
        Assert.True(shared.PrefixEncodings > 0);
        Assert.Equal(0, naive.PrefixEncodings);
    }

    [Fact]
    public void PrefixIsEncodedOncePerDepthForAllEnvironmentsUntilTheNextAppend()
    {
        var m = Model(grid: true, sliding: true);
        var s = (IdtSession)m.CreateSession(2, new SessionOptions(TargetReturns: [5f, 5f], Seed: 1));
        var g = new Generator(3);
        var policy = new float[2 * m.PolicySize];
        s.Policy([1, 2, 3, 4], policy);
        Append(m, g, endsEpisode: false, s);
        Append(m, g, endsEpisode: false, s); // j = 2 in both environments
        var p = NewPredictions(m, 9);
        s.Predict(0, Candidates(m, g, 0), p); // prefix: 2 real steps, encoded for both environments in one pass
        s.Predict(1, Candidates(m, g, 0), p);
        s.Predict(0, Candidates(m, g, 0), p);
        Assert.Equal(1, s.PrefixEncodings);
        s.Predict(0, Candidates(m, g, 2), p); // j + h = 4 > c − 1: one real step dropped, a new prefix
        s.Predict(1, Candidates(m, g, 2), p);
        Assert.Equal(2, s.PrefixEncodings);
        s.Predict(1, Candidates(m, g, 3), p); // two real steps dropped: the prefix is empty, nothing to encode
        Assert.Equal(2, s.PrefixEncodings);
        Append(m, g, endsEpisode: false, s); // j = 3: the cache is invalid
        s.Predict(0, Candidates(m, g, 0), p);
        Assert.Equal(3, s.PrefixEncodings);
    }

    /// <summary>Reference imagination keeps every real step: one prefix per segment position serves every depth.</summary>
    [Fact]
    public void WithoutSlidingThePrefixServesEveryDepthAndDepthsPastCAreRejected()
    {
        var m = Model(grid: true);
        var s = (IdtSession)m.CreateSession(2, new SessionOptions(TargetReturns: [5f, 5f], Seed: 1));
        var g = new Generator(3);
        var policy = new float[2 * m.PolicySize];
        s.Policy([1, 2, 3, 4], policy);
        Append(m, g, endsEpisode: false, s);
        Append(m, g, endsEpisode: false, s); // j = 2 in both environments
        var p = NewPredictions(m, 9);
        for (var h = 0; h <= C; h++)
            for (var env = 0; env < 2; env++) s.Predict(env, Candidates(m, g, h), p);
        Assert.Equal(1, s.PrefixEncodings);
        var e = Assert.Throws<ArgumentException>(() => s.Predict(0, Candidates(m, g, C + 1), p));
        Assert.Contains("at most c = 4", e.Message);
    }
}
