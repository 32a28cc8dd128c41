using Dicp.Environments;
using Dicp.Models;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Models;

/// <summary>
/// IDT as the reference does it (reference.md §7): a fresh ε for the decision z at every low-level step, the same in
/// training and in the session; the one-ε-per-segment option; the sessions' count of steps seen, from which planning
/// starts at step n_transit.
/// </summary>
public class IdtFidelityTests
{
    private const int C = 3, K = 3, N = C * K, Dz = 3;

    /// <summary>A grid DICP-IDT whose Making-Decisions predicts a log-variance of 0 (std 1): z varies with ε.</summary>
    private static IdtModel Model(bool perStep)
    {
        var config = new ModelConfig(Model: "idt", Dynamics: true, NTransit: N, EmbeddingDim: 16, Layers: 2, Heads: 2, Inner: 32,
            Dropout: 0f, SegmentLength: C, LatentDim: Dz, LatentNoisePerStep: perStep);
        var m = (IdtModel)InContextModels.Create(config, seed: 11);
        var head = m.Making.PredZDist;
        for (var r = Dz; r < 2 * Dz; r++)
        {
            head.Weight.Data.AsSpan(r * 16, 16).Clear();
            head.Bias!.Data[r] = 0f;
        }
        m.Eval();
        return m;
    }

    /// <summary>N steps of Darkroom (goal (5, 4)), with the returns-to-go a session starting at 20 computes.</summary>
    private static WindowBatch Trajectory()
    {
        var g = new Generator(5);
        var batch = new WindowBatch(1, N, 2, 1, returnsToGo: true);
        var env = new Darkroom(5, 4, horizon: 100);
        var obs = new float[2];
        env.Reset(0, obs);
        for (var t = 0; t < N; t++)
        {
            obs.CopyTo(batch.States, t * 2);
            batch.Actions[t] = t % 3 == 0 ? 0 : g.NextInt(5);
            batch.Rewards[t] = env.Step([batch.Actions[t]], batch.NextStates.AsSpan(t * 2, 2)).Reward;
            batch.NextStates.AsSpan(t * 2, 2).CopyTo(obs);
        }
        var rtg = 20f;
        for (var k = 0; k < K; k++)
        {
            for (var t = 0; t < C; t++) batch.ReturnsToGo![k * C + t] = rtg;
            for (var t = 0; t < C; t++) rtg -= batch.Rewards[k * C + t];
        }
        return batch;
    }

    /// <summary>The ε a session seeded with <paramref name="seed"/> draws for one environment: per segment c·dim_z (per step) or dim_z.</summary>
    private static float[] SessionNoise(int seed, bool perStep)
    {
        var g = new Generator(seed);
        var eps = new float[(perStep ? N : K) * Dz];
        for (var i = 0; i < eps.Length; i++) eps[i] = (float)g.NextNormal();
        return eps;
    }

    /// <summary>
    /// The session's policy and depth-0 world-model predictions at every step equal the training forward pass run with
    /// the ε the session drew: one per low-level step (the reference), or one per segment with the option off. A forward
    /// pass with only each segment's first ε differs within the segment when ε is drawn per step.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SessionDrawsTheDecisionsTheTrainingForwardUses(bool perStep)
    {
        var m = Model(perStep);
        var batch = Trajectory();
        const int seed = 3;
        var noise = SessionNoise(seed, perStep);
        var expected = m.Forward(batch, noise);
        Assert.Equal(perStep ? new[] { 1, K, C, Dz } : new[] { 1, K, Dz }, expected.Z.Shape.ToArray());
        var firstOnly = new float[K * Dz]; // each segment's first ε, shared by its steps
        for (var k = 0; k < K; k++) noise.AsSpan((perStep ? k * C : k) * Dz, Dz).CopyTo(firstOnly.AsSpan(k * Dz));
        var shared = m.Forward(batch, firstOnly);

        var session = (IdtSession)m.CreateSession(1, new SessionOptions(TargetReturns: [20f], Seed: seed));
        var policy = new float[5];
        var cand = new CandidateBatch(1, 0, [], [], [], [], new float[2], new float[1]);
        var pred = new CandidatePredictions(new float[1], new float[2], null, new float[5]);
        var differs = 0;
        for (var t = 0; t < N; t++)
        {
            session.Policy(batch.States.AsSpan(t * 2, 2), policy);
            Close.Assert(expected.Actions.Span.Slice(t * 5, 5), policy, 1e-4, 1e-5, $"policy at step {t}");
            if (MaxDiff(shared.Actions.Span.Slice(t * 5, 5), policy) > 1e-3) differs++;
            batch.States.AsSpan(t * 2, 2).CopyTo(cand.QueryStates);
            cand.QueryActions[0] = batch.Actions[t];
            session.Predict(0, cand, pred);
            Close.Assert(policy, pred.Policy, 1e-4, 1e-5, $"Predict policy at step {t}");
            Assert.Equal(System.Numerics.Tensors.TensorPrimitives.IndexOfMax(expected.Rewards!.Span.Slice(t * 2, 2)), (int)pred.Rewards[0]);
            var cell = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(expected.NextStates!.Span.Slice(t * 81, 81));
            Assert.Equal([cell / 9, cell % 9], pred.NextStates);
            session.Append(batch.States.AsSpan(t * 2, 2), batch.Actions.AsSpan(t, 1), batch.Rewards.AsSpan(t, 1), batch.NextStates.AsSpan(t * 2, 2), [false]);
        }
        // Per step: the 6 steps that are not a segment's first read their own z; per segment: every step reads the first.
        Assert.Equal(perStep ? N - K : 0, differs);
    }

    /// <summary>Per-step ε: a (B, K, dim_z) noise is the special case of equal ε over each segment's steps.</summary>
    [Fact]
    public void PerSegmentNoiseIsRepeatedOverTheSegmentsSteps()
    {
        var m = Model(perStep: true);
        var batch = Trajectory();
        var seg = SessionNoise(1, perStep: false);
        var repeated = new float[N * Dz];
        for (var k = 0; k < K; k++)
            for (var t = 0; t < C; t++) seg.AsSpan(k * Dz, Dz).CopyTo(repeated.AsSpan((k * C + t) * Dz));
        Assert.Equal(m.Forward(batch, repeated).Actions.Span.ToArray(), m.Forward(batch, seg).Actions.Span.ToArray());
        var e = Assert.Throws<ArgumentException>(() => m.Forward(batch, new float[5]));
        Assert.Contains("noise", e.Message);
    }

    [Fact]
    public void WindowStartStrideIsOneUnlessAligned()
    {
        Assert.Equal(1, Model(perStep: true).WindowStartStride);
        var aligned = (IdtModel)InContextModels.Create(new ModelConfig(Model: "idt", NTransit: N, SegmentLength: C, AlignedWindows: true), 0);
        Assert.Equal(C, aligned.WindowStartStride);
        Assert.Equal(1, InContextModels.Create(new ModelConfig(Model: "ad"), 0).WindowStartStride);
        var json = ModelConfigJson.Serialize(aligned.Config);
        Assert.Contains("\"aligned_windows\": true", json);
        Assert.Contains("\"latent_noise_per_step\": true", json);
        Assert.Contains("\"sliding_imagination\": false", json);
        Assert.Equal(aligned.Config, ModelConfigJson.Deserialize(json));
    }

    /// <summary>Sessions count every real step since their start or reset (planners start at n_transit of them), beyond the window.</summary>
    [Fact]
    public void SessionsCountTheStepsSeenBeyondTheWindow()
    {
        IInContextModel[] models = [Model(perStep: true), InContextModels.Create(new ModelConfig(Model: "ad", Dynamics: true, NTransit: 5, EmbeddingDim: 16,
            Layers: 1, Heads: 2, Inner: 16, Dropout: 0f), 0)];
        foreach (var model in models)
        {
            var s = model.CreateSession(1, new SessionOptions(TargetReturns: [20f]));
            var policy = new float[5];
            for (var t = 0; t < 12; t++)
            {
                Assert.Equal(t, s.StepsSeen(0));
                s.Policy([4, 4], policy);
                s.Append([4, 4], [0], [0], [5, 4], [t % 5 == 4]);
            }
            Assert.Equal((12L, model.WindowTransitions), (s.StepsSeen(0), s.ContextLength(0)));
            s.Reset();
            Assert.Equal(0, s.StepsSeen(0));
        }
    }

    private static double MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var m = 0.0;
        for (var i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
