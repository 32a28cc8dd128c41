using Dicp.Data;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.Models;
using Dicp.Training;
using Xunit;
using Xunit.Abstractions;

namespace Dicp.Planning.Tests;

/// <summary>
/// A tiny DICP-AD pipeline, trained once per test run: PPO learning histories of Darkroom goals near the centre
/// (<see cref="HistoryCollector"/>), a small DICP-AD trained on them (<see cref="Trainer"/>), then in-context evaluation on
/// held-out goals (<see cref="InContextEvaluator"/>).
/// </summary>
/// <remarks>
/// Sizes are chosen for CI (2 cores, well under a minute on a quiet machine): horizon-10 Darkroom with the reference
/// split (73 train goals, 8 held out), PPO with one episode per rollout, 10 streams × 300 steps per goal, a 2-layer
/// DICP-AD with n_transit 20 (two episodes of context), 2500 AdamW steps at batch 64 and lr 1e-2. The in-context gain is
/// small at this size (the small preset of docs/reproducing.md shows the full effect and the planning gain).
/// </remarks>
public sealed class DarkroomPipelineFixture : IDisposable
{
    /// <summary>Episode length of the tiny Darkroom.</summary>
    public const int Horizon = 10;

    /// <summary>Where the histories and the run live.</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "dicp-pipeline-" + Guid.NewGuid().ToString("N"));

    /// <summary>The tasks (goal index = x·9 + y).</summary>
    public DarkroomTasks Tasks { get; } = new(Horizon);

    /// <summary>Held-out goals, never trained on.</summary>
    public int[] TestGoals { get; }

    /// <summary>The trained model.</summary>
    public ITrainableInContextModel Model { get; }

    /// <summary>The last metrics row (training means and test-split metrics).</summary>
    public IReadOnlyDictionary<string, double> TestMetrics { get; }

    public DarkroomPipelineFixture()
    {
        // The reference split of Darkroom (seed 0): 73 train goals, the 8 held-out goals of reference.md §2.
        (var train, TestGoals) = Tasks.Split(0, 0.9);
        var data = Path.Combine(Root, "data");
        var ppo = new Rl.PpoOptions(NSteps: Horizon); // one episode per rollout: the short histories still show PPO learning
        new HistoryCollector(Tasks, new HistoryCollectionOptions(data, Streams: 10, StepsPerStream: 300, Seed: 0, Ppo: ppo))
            .RunAsync().GetAwaiter().GetResult();

        Model = InContextModels.Create(new ModelConfig(Model: "ad", Dynamics: true, NTransit: 20, EmbeddingDim: 32, Layers: 2, Heads: 4,
            Inner: 64, Dropout: 0f), seed: 0);
        using var trainSet = HistoryDataset.Open(data, train);
        using var testSet = HistoryDataset.Open(data, TestGoals);
        var options = new TrainerOptions(Steps: 2500, BatchSize: 64, LearningRate: 1e-2f, LogInterval: 2500, EvalInterval: 2500, TestWindows: 256,
            CheckpointInterval: 100_000, Seed: 0);
        var result = new Trainer(Model, trainSet, testSet, options, Path.Combine(Root, "run")).Run();
        TestMetrics = result.LastRow;
        Model.Network.Eval();
    }

    /// <summary>Fresh environments of the held-out goals.</summary>
    public IEnvironment[] TestEnvironments() => TestGoals.Select(g => (IEnvironment)Tasks.Create(g)).ToArray();

    /// <summary>The mean return of a uniformly random policy on the held-out goals over many episodes.</summary>
    public double RandomReturn(int episodes, int seed)
    {
        var rng = new Tensors.Generator(seed);
        var total = 0.0;
        var obs = new float[2];
        foreach (var env in TestEnvironments())
            for (var k = 0; k < episodes; k++)
            {
                env.Reset(seed + k, obs);
                for (var t = 0; t < Horizon; t++) total += env.Step([rng.NextInt(5)], obs).Reward;
            }
        return total / (episodes * TestGoals.Length);
    }

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }
}

/// <summary>In-context improvement, dynamics accuracy and planning on the tiny pipeline of <see cref="DarkroomPipelineFixture"/>.</summary>
public sealed class DarkroomPipelineTests(DarkroomPipelineFixture fixture, ITestOutputHelper output) : IClassFixture<DarkroomPipelineFixture>
{
    [Fact]
    public void ImprovesInContextOnHeldOutGoals()
    {
        var random = fixture.RandomReturn(200, seed: 5);
        // The gain of this tiny model is small (≈ 0.3 of return per episode) and one evaluation seed is noisy, so the test averages
        // 32 evaluation seeds and asks for a gain that is both significant and of a size. A fixed seed is not enough to
        // make it robust: the host's vector width changes the rounding of a few reductions (AVX-512 against AVX2: the
        // same losses for the first steps, 1e-7 apart by step 200), and after 2 500 steps the model differs enough that
        // a 4-seed evaluation read 0.19 → 0.32 on one host and 0.27 → 0.75 on the other.
        var firsts = new List<double>();
        var lasts = new List<double>();
        foreach (var seed in Enumerable.Range(0, 32))
        {
            var r = InContextEvaluator.Run(fixture.Model, fixture.TestEnvironments(), new PolicyPlanner(new PolicyPlannerOptions(Seed: seed)),
                new EvaluationOptions(Episodes: 20, Seed: seed));
            var m = r.MeanReturnPerEpisode;
            firsts.Add(m.Take(2).Average());
            lasts.Add(m.Skip(15).Average());
            output.WriteLine($"seed {seed}: per episode [{string.Join(", ", m.Select(x => x.ToString("F2")))}]");
        }
        var gains = lasts.Zip(firsts, (l, f) => l - f).ToArray();
        var gain = gains.Average();
        var se = Math.Sqrt(gains.Sum(g => (g - gain) * (g - gain)) / (gains.Length - 1) / gains.Length);
        output.WriteLine($"random {random:F2}; first 2 episodes {firsts.Average():F2}; last 5 episodes {lasts.Average():F2}; " +
            $"gain {gain:F2} ± {se:F2} (s.e.); test metrics {string.Join(", ", fixture.TestMetrics.Select(kv => $"{kv.Key} {kv.Value:F3}"))}");
        // Measured over 12 models (model and training seeds 0–5, each on the AVX-512 and the AVX2 path; 32 evaluation
        // seeds): random 0.19; gain 0.23–0.43 ± 0.05–0.08 (gain − 2 s.e. ≥ 0.13); last five episodes 0.46–0.60. The same
        // fixture trained for 300 steps instead of 2 500 fails both: gain 0.08 ± 0.03, last five episodes 0.20.
        Assert.True(gain - 2 * se > 0 && gain > 0.12, $"gain {gain:F2} ± {se:F2}: last {lasts.Average():F2} vs first {firsts.Average():F2}");
        Assert.True(lasts.Average() > 2 * random, $"last {lasts.Average():F2} vs random {random:F2}");
        // The world-model heads learn: next cells on held-out goals far above chance (1/81).
        Assert.True(fixture.TestMetrics["test_next_state_accuracy"] > 0.9, $"next-state accuracy {fixture.TestMetrics["test_next_state_accuracy"]:F3}");
    }
}
