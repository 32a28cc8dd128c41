using Dicp.Models;
using Dicp.Optim;
using TorchSharp;
using Xunit;
using static Dicp.TorchSharp.Tests.Parity;

namespace Dicp.TorchSharp.Tests;

/// <summary>bfloat16 mixed precision on the CPU: a training step runs, its loss is within 2 % (+0.01) of float32's but not
/// equal to it (bf16 is really used), and parameters, gradients and AdamW's moments stay float32.</summary>
public sealed class PrecisionTests
{
    public PrecisionTests() => RequireNative();

    [Theory]
    [InlineData("dicp-ad-grid")]
    [InlineData("dicp-dpt-grid")]
    [InlineData("dicp-ad-continuous")]
    [InlineData("dicp-idt-grid")]
    [InlineData("dicp-idt-continuous")]
    public void ABFloat16StepRunsAndItsLossIsCloseToFloat32s(string variant)
    {
        var config = variant.Contains("idt", StringComparison.Ordinal) ? IdtParityTests.IdtConfig(variant) : Config(variant);
        using var model = TorchModel.Create(config, seed: 7);
        var batch = Batch(config, batchSize: 8, seed: 70);
        var eps = config.Model == "idt" ? IdtParityTests.Noise(config, 8, seed: 71) : null;
        TorchTrainingLoss Loss() => model is TorchIdtModel idt ? idt.Loss(batch, eps) : model.Loss(batch);

        var fp32 = Loss().Metrics;
        model.Precision = TorchPrecision.BFloat16;
        var adam = new TorchAdamW(model.parameters(), new AdamOptions(LearningRate: 1e-3f));
        adam.ZeroGrad();
        var bf16 = Loss();
        bf16.Total.backward();
        Assert.Equal(torch.ScalarType.Float32, bf16.Total.dtype);
        foreach (var (k, v) in fp32)
        {
            if (k.EndsWith("accuracy", StringComparison.Ordinal)) continue;
            var tolerance = 0.02 * Math.Abs(v) + 0.01;
            Assert.True(Math.Abs(bf16.Metrics[k] - v) <= tolerance, $"{k}: bf16 {bf16.Metrics[k]:R}, fp32 {v:R} (tolerance {tolerance:E2})");
        }
        Assert.NotEqual(fp32["loss"], bf16.Metrics["loss"]); // bfloat16 arithmetic really ran
        var norm = adam.ClipGradNorm(1f);
        Assert.True(float.IsFinite(norm) && norm > 0f, $"gradient norm {norm}");
        adam.Step();
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.Equal(torch.ScalarType.Float32, p.dtype);
            Assert.True(p.grad is null || p.grad.dtype == torch.ScalarType.Float32, $"{name}: gradient {p.grad?.dtype}");
        }
        Assert.All(adam.GetState().Values, v => Assert.All(v, x => Assert.True(float.IsFinite(x))));

        // Back to float32: exactly the float32 function again (the bf16 scope does not leak).
        model.Precision = TorchPrecision.Float32;
        var again = Loss().Metrics["loss"];
        var dicp = model.ToDicpModel();
        var expected = dicp is IdtModel di ? di.Loss(batch, eps).Metrics["loss"] : dicp.Loss(batch).Metrics["loss"];
        Close([(float)expected], [(float)again], "float32 loss after the bf16 step");
    }
}
