using Dicp.IO;
using Dicp.Models;
using Dicp.Optim;
using Dicp.Training;
using TorchSharp;
using Xunit;
using static Dicp.TorchSharp.Tests.Parity;

namespace Dicp.TorchSharp.Tests;

/// <summary>IDT and DICP-IDT on TorchSharp compute Dicp's function: same weights, batch and ε → same outputs, losses,
/// metrics and gradients (1e-5 absolute + 1e-5 relative); the same AdamW steps; checkpoints evaluate identically both ways.</summary>
public sealed class IdtParityTests
{
    public IdtParityTests() => RequireNative();

    public static readonly TheoryData<string> IdtVariants = new() { "idt-grid", "dicp-idt-grid", "dicp-idt-continuous", "dicp-idt-segment-noise", "dicp-idt-no-transition" };

    public static ModelConfig IdtConfig(string variant)
    {
        var grid = new ModelConfig(Model: "idt", Dynamics: true, NTransit: 8, EmbeddingDim: 16, Layers: 2, Heads: 2, Inner: 32, Dropout: 0f,
            SegmentLength: 4, LatentDim: 3, LabelSmoothing: 0.1f, DynamicsCoefficient: 0.5f);
        return variant switch
        {
            "idt-grid" => grid with { Dynamics = false },
            "dicp-idt-grid" => grid,
            "dicp-idt-continuous" => grid with { ObservationSize = 3, StateClasses = 0, ActionCount = 0, ActionSize = 2, RewardClasses = 0, RewardMax = 2f, RewardMin = -1f },
            "dicp-idt-segment-noise" => grid with { LatentNoisePerStep = false, Layers = 1 },
            "dicp-idt-no-transition" => grid with { LearnTransition = false, Layers = 1, LearnVariance = false, ObservationSize = 3, StateClasses = 0, ActionCount = 0, ActionSize = 2, RewardClasses = 0 },
            _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, null),
        };
    }

    /// <summary>ε for a batch: one N(0, 1) draw per low-level step (or per segment), from a seeded generator.</summary>
    public static float[] Noise(ModelConfig config, int batchSize, int seed, bool perSegment = false)
    {
        var rng = new Random(seed);
        var k = config.NTransit / config.SegmentLength;
        var draws = perSegment || !config.LatentNoisePerStep ? batchSize * k : batchSize * config.NTransit;
        return [.. Enumerable.Range(0, draws * config.LatentDim).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())))];
    }

    [Theory]
    [MemberData(nameof(IdtVariants))]
    public void ParameterNamesShapesAndInitialWeightsAreDicps(string variant)
    {
        var config = IdtConfig(variant);
        var dicp = new IdtModel(config, seed: 1);
        using var model = TorchIdtModel.Create(config, seed: 1);
        var expected = dicp.StateDict();
        var actual = model.ToDicpStateDict();
        Assert.Equal(expected.Keys, actual.Keys); // same names in the same (registration) order: AdamW state indices agree
        foreach (var (k, t) in expected)
        {
            Assert.Equal(t.Shape.ToArray(), actual[k].Shape.ToArray());
            Assert.Equal(t.ToArray(), actual[k].ToArray());
        }
        Assert.Contains("h_decision_transformer.pred_z_dist.weight", actual.Keys);
        Assert.Contains("decisions_to_go.transformer.blocks.1.attn.attn.weight".Replace(".1.", config.Layers > 1 ? ".1." : ".0."), actual.Keys);
    }

    [Theory]
    [MemberData(nameof(IdtVariants))]
    public void OutputsLossesMetricsAndGradientsMatchDicpWithTheSameNoise(string variant)
    {
        var config = IdtConfig(variant);
        var dicp = new IdtModel(config, seed: 3);
        using var model = TorchIdtModel.FromDicp(dicp);
        var batch = Batch(config, batchSize: 3, seed: 12);
        var eps = Noise(config, 3, seed: 5);

        var expectedOut = dicp.Forward(batch, eps);
        var actualOut = model.Forward(batch, eps);
        Close(expectedOut.ReviewedZ, actualOut.ReviewedZ, "reviewed z");
        Close(expectedOut.PredictedZ, actualOut.PredictedZ, "predicted z");
        Close(expectedOut.Z, actualOut.Z, "z");
        Close(expectedOut.Actions, actualOut.Actions, "actions");
        if (config.Dynamics)
        {
            Close(expectedOut.Rewards!, actualOut.Rewards!, "rewards");
            Close(expectedOut.NextStates!, actualOut.NextStates!, "next states");
        }

        var expected = dicp.Loss(batch, eps);
        expected.Total.Backward();
        var actual = model.Loss(batch, eps);
        actual.Total.backward();
        CompareMetrics(expected.Metrics, actual.Metrics);
        var compared = CompareGradients(dicp, model);
        Assert.True(compared >= 3 * 9 * config.Layers, $"only {compared} gradients compared"); // every block of the three backbones
        Assert.Contains(dicp.NamedParameters(), p => p.Key.StartsWith("reviewing_decisions.", StringComparison.Ordinal) && p.Value.Grad is not null);
    }

    [Fact]
    public void OneNoisePerSegmentIsRepeatedOverItsStepsOnBothBackends()
    {
        var config = IdtConfig("dicp-idt-grid");
        var dicp = new IdtModel(config, seed: 4);
        using var model = TorchIdtModel.FromDicp(dicp);
        var batch = Batch(config, batchSize: 2, seed: 13);
        var eps = Noise(config, 2, seed: 6, perSegment: true);
        Close(dicp.Loss(batch, eps).Total.ToArray(), [(float)model.Loss(batch, eps).Metrics["loss"]], "loss");
        var bad = new float[eps.Length + 1];
        Assert.Contains("noise holds", Assert.Throws<ArgumentException>(() => model.Forward(batch, bad)).Message);
        // Without ε each backend draws its own: finite, and not Dicp's draw.
        var drawn = model.Loss(batch).Metrics["loss"];
        Assert.True(double.IsFinite(drawn));
    }

    [Theory]
    [InlineData("dicp-idt-grid")]
    [InlineData("dicp-idt-continuous")]
    public void TrainingStepsWithTheSameNoiseMatchDicp(string variant)
    {
        var config = IdtConfig(variant);
        var dicp = new IdtModel(config, seed: 5);
        using var model = TorchIdtModel.FromDicp(dicp);
        TrainSideBySide(dicp, model, steps: 4, step => dicp.Loss(Batch(config, batchSize: 4, seed: 500 + step), Noise(config, 4, seed: 600 + step)),
            step => model.Loss(Batch(config, batchSize: 4, seed: 500 + step), Noise(config, 4, seed: 600 + step)));
        // Adam's √v amplifies float rounding in near-zero gradients (see ParityTests), so the weights agree to 1e-3 after 4 steps.
        var after = model.ToDicpStateDict();
        foreach (var (name, p) in dicp.NamedParameters()) Close(p.ToArray(), after[name].ToArray(), "parameter " + name, abs: 1e-3, rel: 1e-3);
    }

    [Theory]
    [InlineData("dicp-idt-grid")]
    [InlineData("dicp-idt-continuous")]
    public void ACheckpointTrainedOnEitherBackendEvaluatesIdenticallyOnTheOther(string variant)
    {
        var config = IdtConfig(variant);
        var dir = Directory.CreateTempSubdirectory("dicp-ts-idt-").FullName;
        try
        {
            // TorchSharp-trained → Dicp.
            using var model = TorchIdtModel.Create(config, seed: 21);
            var adam = new TorchAdamW(model.parameters(), new AdamOptions(LearningRate: 3e-3f));
            for (var step = 0; step < 4; step++)
            {
                adam.ZeroGrad();
                model.Loss(Batch(config, 4, 200 + step)).Total.backward(); // ε from libtorch's generator, as in training
                adam.ClipGradNorm(1f);
                adam.Step();
            }
            var path = Path.Combine(dir, Trainer.ModelFileName);
            model.Save(path);
            var dicp = (IdtModel)ModelFile.Load(path);
            CompareEvaluation(dicp, model, config);

            // Dicp-trained → TorchSharp (through a trainer checkpoint's "model." tensors).
            var trained = new IdtModel(config, seed: 22);
            var parameters = trained.Parameters().ToArray();
            var dicpAdam = new AdamW(parameters, new AdamOptions(LearningRate: 3e-3f));
            for (var step = 0; step < 4; step++)
            {
                dicpAdam.ZeroGrad();
                trained.Loss(Batch(config, 4, 300 + step)).Total.Backward();
                GradClip.ClipGradNorm(parameters, 1f);
                dicpAdam.Step();
            }
            var checkpoint = Path.Combine(dir, TrainingCheckpoint.FileName);
            new TrainingCheckpoint
            {
                Step = 4, OptimizerSteps = 4, Model = trained.StateDict(), Optimizer = dicpAdam.GetState(), SamplerRng = [1, 2, 3, 4], DropoutRng = [5, 6, 7, 8],
                Pending = MetricSums.Empty(), ModelConfigJson = System.Text.Json.JsonSerializer.Serialize(config, TrainingCheckpoint.Json),
            }.Save(checkpoint);
            using var loaded = TorchModel.Load(checkpoint);
            var torchIdt = Assert.IsType<TorchIdtModel>(loaded);
            CompareEvaluation(trained, torchIdt, config);
            foreach (var (k, t) in trained.StateDict()) Assert.Equal(t.ToArray(), torchIdt.ToDicp().StateDict()[k].ToArray());
            Assert.Throws<InvalidDataException>(() => TorchInContextModel.Load(checkpoint));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Evaluation mode, no gradients: the same test loss, metrics and head outputs on held-out batches with the same ε.</summary>
    private static void CompareEvaluation(IdtModel dicp, TorchIdtModel model, ModelConfig config)
    {
        dicp.Eval();
        model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            using var dicpNoGrad = Dicp.Autograd.GradMode.NoGrad();
            for (var i = 0; i < 3; i++)
            {
                var batch = Batch(config, 5, 900 + i);
                var eps = Noise(config, 5, 950 + i);
                var expected = dicp.Loss(batch, eps);
                var actual = model.Loss(batch, eps);
                foreach (var (k, v) in expected.Metrics) Close([(float)v], [(float)actual.Metrics[k]], $"eval {k}, batch {i}");
                var eo = dicp.Forward(batch, eps);
                var ao = model.Forward(batch, eps);
                Close(eo.Actions, ao.Actions, $"eval actions, batch {i}");
                Close(eo.Rewards!, ao.Rewards!, $"eval rewards, batch {i}");
            }
        }
        finally
        {
            dicp.Train();
            model.train();
        }
    }
}
