using Dicp.Environments;
using Dicp.Models;
using Xunit;

namespace Dicp.Planning.Tests;

/// <summary>
/// Planning exactness with real DICP-AD and DICP-IDT models: beam search over the shared-prefix (KV-cached) session
/// chooses the same actions and the same best paths as over the naive session that recomputes every candidate's whole
/// window (AD) or Decisions-to-Go sequence (IDT).
/// </summary>
public class BeamExactnessTests
{
    /// <summary>A small DICP-AD (n_transit 12: planning starts at step 12, so a 60-step run plans 48 times per environment).</summary>
    internal static ModelConfig SmallDicpAd(int nTransit = 12) =>
        new(Model: "ad", Dynamics: true, NTransit: nTransit, EmbeddingDim: 32, Layers: 2, Heads: 4, Inner: 64, Dropout: 0.1f);

    /// <summary>A small DICP-IDT on Darkroom (c 4, K 3: n_transit 12, so planning also starts at step 12).</summary>
    internal static ModelConfig SmallDicpIdt(bool sliding = false) =>
        new(Model: "idt", Dynamics: true, NTransit: 12, EmbeddingDim: 32, Layers: 2, Heads: 4, Inner: 64, Dropout: 0.1f,
            SegmentLength: 4, LatentDim: 4, SlidingImagination: sliding);

    [Theory]
    [InlineData(0, 8, false)]
    [InlineData(1, 8, true)]
    [InlineData(2, 3, false)]
    public void SharedPrefixAndNaiveSessionsPlanTheSamePaths(int seed, int horizon, bool deterministic) =>
        PlanSideBySide(InContextModels.Create(SmallDicpAd(), seed), seed, horizon, deterministic);

    /// <summary>
    /// With <see cref="SessionOptions.ImaginationReserve"/> (both sessions: the same shorter real context) the cached
    /// session chains every node onto its parent up to depth r; horizon H needs r = H − 1, and a reserve below it mixes
    /// chained and slid depths. The plans equal the naive session's.
    /// </summary>
    [Theory]
    [InlineData(0, 8, false, 7)]
    [InlineData(1, 8, true, 7)]
    [InlineData(2, 6, false, 3)]
    public void ReservedSharedPrefixAndNaiveSessionsPlanTheSamePaths(int seed, int horizon, bool deterministic, int reserve) =>
        PlanSideBySide(InContextModels.Create(SmallDicpAd(), seed), seed, horizon, deterministic, reserve);

    /// <summary>
    /// IDT as the reference: horizon c = 4 imagines the segment's c steps from every position, past the segment's end,
    /// in one Decisions-to-Go sequence; with sliding imagination horizon 8 slides the low-level window inside the plans.
    /// </summary>
    [Theory]
    [InlineData(0, 4, false, false)]
    [InlineData(1, 4, true, false)]
    [InlineData(2, 3, false, false)]
    [InlineData(3, 8, false, true)]
    [InlineData(4, 8, true, true)]
    public void IdtSharedPrefixAndNaiveSessionsPlanTheSamePaths(int seed, int horizon, bool deterministic, bool sliding) =>
        PlanSideBySide(InContextModels.Create(SmallDicpIdt(sliding), seed), seed, horizon, deterministic);

    private static void PlanSideBySide(ITrainableInContextModel model, int seed, int horizon, bool deterministic, int reserve = 0)
    {
        // Five goals, including the goal at the start cell and a corner; horizon 8 meets episode ends (20 steps).
        (int X, int Y)[] goals = [(4, 2), (5, 6), (0, 5), (8, 8), (4, 4)];
        var envs = new VectorEnvironment(goals.Select(g => (IEnvironment)new Darkroom(g.X, g.Y)).ToArray());
        int n = envs.Count, o = envs.ObservationSize;
        // IDT: the same target returns and session seed, so both sessions draw the same decisions z.
        var sessionOptions = new SessionOptions(TargetReturns: [.. Enumerable.Range(0, n).Select(i => ((IHasMaxReturn)envs[i]).MaxReturn)], Seed: seed,
            ImaginationReserve: reserve);
        var shared = model.CreateSession(n, sessionOptions with { SharedPrefix = true });
        var naive = model.CreateSession(n, sessionOptions with { SharedPrefix = false });
        var options = new BeamSearchOptions(Horizon: horizon, Deterministic: deterministic, Seed: seed);
        BeamSearchPlanner a = new(options), b = new(options);
        PlanTrace ta = new(), tb = new();

        float[] obs = new float[n * o], next = new float[n * o], final = new float[n * o], actA = new float[n], actB = new float[n], rewards = new float[n];
        var dones = new bool[n];
        var results = new StepResult[n];
        int[] episodeSteps = new int[n], stepsLeft = new int[n];
        var request = new PlanRequest(obs, episodeSteps, stepsLeft);
        envs.Reset(seed, obs);
        var planned = 0;
        for (var step = 0; step < 60; step++)
        {
            for (var i = 0; i < n; i++) stepsLeft[i] = envs[i].MaxEpisodeSteps - episodeSteps[i];
            a.Plan(shared, request, actA, ta);
            b.Plan(naive, request, actB, tb);
            Assert.Equal(actB, actA);
            Assert.Equal(tb.Planned, ta.Planned);
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(step >= model.SampleSteps, ta.Planned[i]); // planning starts at step n_transit, as the reference (IDT: a segment start)
                if (!ta.Planned[i]) continue;
                planned++;
                Assert.Equal(Math.Min(horizon, stepsLeft[i]), ta.Actions[i].Length);
                Assert.Equal(tb.Actions[i], ta.Actions[i]);
                Assert.Equal(tb.PredictedRewards[i], ta.PredictedRewards[i]);
                Assert.Equal(actA[i], ta.Actions[i][0]);
            }
            envs.Step(actA, next, rewards, dones, final, results);
            shared.Append(obs, actA, rewards, final, dones);
            naive.Append(obs, actA, rewards, final, dones);
            for (var i = 0; i < n; i++) episodeSteps[i] = dones[i] ? 0 : episodeSteps[i] + 1;
            next.CopyTo(obs, 0);
        }
        Assert.Equal(n * (60 - model.SampleSteps), planned);
    }
}
