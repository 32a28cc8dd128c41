using Dicp.IO;
using Dicp.Models;
using Dicp.Optim;
using Dicp.Training;
using TorchSharp;
using Xunit;
using static Dicp.TorchSharp.Tests.Parity;

namespace Dicp.TorchSharp.Tests;

/// <summary>Dicp's engine and the TorchSharp backend compute the same function: same weights and batch → same outputs,
/// losses, metrics and gradients (1e-5 absolute + 1e-5 relative), and the same AdamW trajectory.</summary>
public sealed class ParityTests
{
    public ParityTests() => RequireNative();

    [Theory]
    [MemberData(nameof(Variants), MemberType = typeof(Parity))]
    public void ParameterNamesAndShapesAreDicps(string variant)
    {
        var config = Config(variant);
        var dicp = (InContextModel)InContextModels.Create(config, seed: 1);
        using var model = TorchInContextModel.Create(config, seed: 1);
        var expected = dicp.StateDict();
        var actual = model.ToDicpStateDict();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, t) in expected)
        {
            Assert.Equal(t.Shape.ToArray(), actual[k].Shape.ToArray());
            Assert.Equal(t.ToArray(), actual[k].ToArray()); // Create(config, seed) copies Dicp's initial weights exactly
        }
        Assert.Equal(expected.Count, model.parameters().Count());
    }

    [Theory]
    [MemberData(nameof(Variants), MemberType = typeof(Parity))]
    public void OutputsLossesMetricsAndGradientsMatchDicp(string variant)
    {
        var config = Config(variant);
        var dicp = (InContextModel)InContextModels.Create(config, seed: 3);
        using var model = TorchInContextModel.FromDicp(dicp);
        var batch = Batch(config, batchSize: 5, seed: 11);

        var expectedOut = dicp.Forward(batch);
        var actualOut = model.Forward(batch);
        Close(expectedOut.Actions, actualOut.Actions, "actions");
        if (config.Dynamics)
        {
            Close(expectedOut.Rewards!, actualOut.Rewards!, "rewards");
            Close(expectedOut.NextStates!, actualOut.NextStates!, "next states");
        }
        if (expectedOut.Returns is not null) Close(expectedOut.Returns, actualOut.Returns!, "returns");

        var expected = dicp.Loss(batch);
        expected.Total.Backward();
        var actual = model.Loss(batch);
        actual.Total.backward();
        CompareMetrics(expected.Metrics, actual.Metrics);
        var checkedGrads = CompareGradients(dicp, model);
        Assert.True(checkedGrads >= 9 * config.Layers + 3, $"only {checkedGrads} gradients compared");
    }

    [Theory]
    [InlineData("dicp-ad-grid")]
    [InlineData("dicp-ad-continuous")]
    [InlineData("dpt-grid")]
    public void AdamWWithScheduleAndClippingGivenTheSameGradientsMatchesDicp(string variant)
    {
        var config = Config(variant);
        var dicp = (InContextModel)InContextModels.Create(config, seed: 5);
        using var model = TorchInContextModel.FromDicp(dicp);
        var options = new AdamOptions(LearningRate: 1e-2f);
        var parameters = dicp.Parameters().ToArray();
        var adam = new AdamW(parameters, options);
        var torchParams = model.parameters().ToArray();
        var torchAdam = new TorchAdamW(torchParams, options);
        var schedule = new CosineSchedule(1e-2f, TotalSteps: 4, WarmupSteps: 1);
        for (var step = 0; step < 4; step++)
        {
            adam.LearningRate = torchAdam.LearningRate = schedule.At(step);
            adam.ZeroGrad();
            dicp.Loss(Batch(config, batchSize: 6, seed: 100 + step)).Total.Backward();
            torchAdam.ZeroGrad();
            model.Loss(Batch(config, batchSize: 6, seed: 100 + step)).Total.backward();
            using (torch.no_grad()) // the same gradients on both sides: this test is about the update
                for (var i = 0; i < parameters.Length; i++)
                    if (parameters[i].Grad is { } g) torchParams[i].grad!.copy_(torch.tensor(g.AsSpan(0, parameters[i].Size).ToArray(), torchParams[i].shape));
            var norm = GradClip.ClipGradNorm(parameters, 0.5f); // small enough that every step clips
            var torchNorm = torchAdam.ClipGradNorm(0.5f);
            Assert.True(norm > 0.5f, $"step {step} did not clip (norm {norm})");
            Close([norm], [torchNorm], $"gradient norm at step {step}");
            adam.Step();
            torchAdam.Step();
        }
        var after = model.ToDicpStateDict();
        foreach (var (name, p) in dicp.NamedParameters()) Close(p.ToArray(), after[name].ToArray(), "parameter " + name);
        var torchState = torchAdam.GetState();
        foreach (var (k, v) in adam.GetState()) Close(v, torchState[k], "AdamW " + k);
    }

    /// <summary>Both backends trained side by side (each on its own gradients) follow the same loss curve. Parameters are
    /// not compared: Adam divides by √v, so float-rounding differences in near-zero gradients grow to 1e-4 in a few steps.</summary>
    [Theory]
    [InlineData("dicp-ad-grid")]
    [InlineData("dicp-ad-continuous")]
    public void TrainingTrajectoriesMatchDicp(string variant)
    {
        var config = Config(variant);
        var dicp = (InContextModel)InContextModels.Create(config, seed: 6);
        using var model = TorchInContextModel.FromDicp(dicp);
        TrainSideBySide(dicp, model, steps: 6, step => dicp.Loss(Batch(config, batchSize: 6, seed: 400 + step)),
            step => model.Loss(Batch(config, batchSize: 6, seed: 400 + step)));
    }

    [Fact]
    public void ARunDirectoryCheckpointOfDicpLoadsIntoTorchSharp()
    {
        var config = Config("dicp-ad-grid");
        var dicp = (InContextModel)InContextModels.Create(config, seed: 8);
        var dir = Directory.CreateTempSubdirectory("dicp-ts-").FullName;
        try
        {
            var path = Path.Combine(dir, TrainingCheckpoint.FileName);
            var adam = new AdamW(dicp.Parameters().ToArray());
            new TrainingCheckpoint
            {
                Step = 3, OptimizerSteps = 3, Model = dicp.StateDict(), Optimizer = adam.GetState(), SamplerRng = [1, 2, 3, 4], DropoutRng = [5, 6, 7, 8],
                Pending = MetricSums.Empty(), ModelConfigJson = System.Text.Json.JsonSerializer.Serialize(config, TrainingCheckpoint.Json),
            }.Save(path);
            using var model = TorchInContextModel.Load(path);
            Assert.Equal(config, model.Config);
            foreach (var (k, t) in model.ToDicpStateDict()) Assert.Equal(dicp.StateDict()[k].ToArray(), t.ToArray());
            var bad = Path.Combine(dir, "bad.safetensors");
            SafeTensors.Save(bad, dicp.StateDict()); // no model_config
            var e = Assert.Throws<InvalidDataException>(() => TorchInContextModel.Load(bad));
            Assert.Contains("model_config", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
