using Dicp.Models;
using TorchSharp;
using Xunit;
using DicpTensor = Dicp.Tensors.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Dicp.TorchSharp.Tests;

/// <summary>Configurations, batches and comparisons shared by the parity tests.</summary>
internal static class Parity
{
    private static readonly Lazy<string?> NativeError = new(() =>
    {
        try
        {
            using var t = torch.ones(2);
            return t.sum().item<float>() == 2f ? null : "torch.ones(2).sum() != 2";
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or InvalidOperationException)
        {
            return e.ToString();
        }
    });

    /// <summary>Fails (never skips) with the reason when TorchSharp's native library cannot load here.</summary>
    public static void RequireNative()
    {
        if (NativeError.Value is { } error)
            Assert.Fail("TorchSharp's native library did not load. TorchSharp 0.107 needs GLIBCXX_3.4.32 (GCC 13's libstdc++: " +
                "Debian 13, Ubuntu 24.04, Windows); on older Linux run these tests with tools/torchsharp-root.sh. " + error);
    }

    /// <summary>Small variants of every head layout (dropout 0 so that both backends compute the same function in training mode).</summary>
    public static ModelConfig Config(string variant) => variant switch
    {
        "ad-grid" => Grid("ad", dynamics: false),
        "dicp-ad-grid" => Grid("ad", dynamics: true) with { ReturnToGo = true, LabelSmoothing = 0.1f, DynamicsCoefficient = 0.5f },
        "dpt-grid" => Grid("dpt", dynamics: false),
        "dicp-dpt-grid" => Grid("dpt", dynamics: true),
        "dicp-ad-continuous" => Continuous(learnVariance: true),
        "ad-continuous-mse" => Continuous(learnVariance: false) with { Dynamics = false },
        "dicp-ad-no-transition" => Continuous(learnVariance: true) with { LearnTransition = false }, // ML1's learn_transition: false
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, null),
    };

    public static readonly TheoryData<string> Variants = new() { "ad-grid", "dicp-ad-grid", "dpt-grid", "dicp-dpt-grid", "dicp-ad-continuous", "ad-continuous-mse", "dicp-ad-no-transition" };

    private static ModelConfig Grid(string model, bool dynamics) => new(Model: model, Dynamics: dynamics, NTransit: 7, EmbeddingDim: 16,
        Layers: 2, Heads: 2, Inner: 32, Dropout: 0f);

    private static ModelConfig Continuous(bool learnVariance) => new(Model: "ad", Dynamics: true, ObservationSize: 3, StateClasses: 0,
        ActionCount: 0, ActionSize: 2, RewardClasses: 0, RewardMax: 2f, RewardMin: -1f, NTransit: 6, EmbeddingDim: 16, Layers: 2, Heads: 2,
        Inner: 32, Dropout: 0f, LearnVariance: learnVariance);

    /// <summary>A random batch of windows fitting <paramref name="config"/> (grid cells, discrete actions, reward classes, or floats).</summary>
    public static WindowBatch Batch(ModelConfig config, int batchSize, int seed)
    {
        var rng = new Random(seed);
        var grid = config.StateClasses > 0;
        var a = config.ActionCount > 0 ? 1 : config.ActionSize;
        var b = new WindowBatch(batchSize, config.NTransit, config.ObservationSize, a, optimalActions: true, returnsToGo: true);
        float Obs() => grid ? rng.Next(9) : (float)(rng.NextDouble() * 2 - 1);
        for (var i = 0; i < b.States.Length; i++) { b.States[i] = Obs(); b.NextStates[i] = Obs(); }
        for (var i = 0; i < b.Actions.Length; i++) b.Actions[i] = config.ActionCount > 0 ? rng.Next(config.ActionCount) : (float)(rng.NextDouble() * 2 - 1);
        for (var i = 0; i < b.Rewards.Length; i++)
        {
            b.Rewards[i] = config.RewardClasses > 0 ? rng.Next(config.RewardClasses) : (float)(rng.NextDouble() * 4 - 1.5); // some outside the clip range
            b.OptimalActions![i] = rng.Next(Math.Max(config.ActionCount, 1));
            b.ReturnsToGo![i] = (float)(rng.NextDouble() * 10);
        }
        return b;
    }

    public static float[] Values(TorchTensor t) => t.detach().to(torch.ScalarType.Float32).cpu().contiguous().data<float>().ToArray();

    /// <summary>|actual − expected| ≤ 1e-5 + 1e-5·|expected| elementwise, naming the first offending element.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, double abs = 1e-5, double rel = 1e-5)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (var i = 0; i < expected.Length; i++)
        {
            var diff = Math.Abs((double)actual[i] - expected[i]);
            if (!(diff <= abs + rel * Math.Abs(expected[i])))
                Assert.Fail($"{what}[{i}]: TorchSharp {actual[i]:R}, Dicp {expected[i]:R} (difference {diff:E2})");
        }
    }

    public static void Close(DicpTensor expected, TorchTensor actual, string what) => Close(expected.ToArray(), Values(actual), what);

    /// <summary>The same metric names, and every metric within 1e-5 (+1e-5 relative).</summary>
    public static void CompareMetrics(IReadOnlyDictionary<string, double> expected, IReadOnlyDictionary<string, double> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (k, v) in expected) Close([(float)v], [(float)actual[k]], k);
    }

    /// <summary>Every parameter gradient of Dicp's model against the TorchSharp model's (a parameter without one in Dicp has none, or zeros, in TorchSharp).</summary>
    /// <returns>The number of gradients compared.</returns>
    public static int CompareGradients(Dicp.Nn.Module dicp, TorchModel model)
    {
        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        var compared = 0;
        foreach (var (name, p) in dicp.NamedParameters())
        {
            var g = grads[name];
            if (p.Grad is null) { Assert.True(g is null || Values(g).All(x => x == 0f), $"{name}: gradient only on TorchSharp"); continue; }
            Assert.NotNull(g);
            Close(p.Grad.AsSpan(0, p.Size), Values(g!), "grad " + name);
            compared++;
        }
        return compared;
    }

    /// <summary>
    /// Trains both backends side by side, each on its own gradients (AdamW lr 1e-2, one warm-up step then cosine, clipping
    /// at 1): step t's losses (<paramref name="dicpLoss"/>, <paramref name="torchLoss"/>) and gradient norms agree within
    /// 1e-4 (+1e-4 / 1e-3 relative).
    /// </summary>
    public static void TrainSideBySide(Dicp.Nn.Module dicp, TorchModel model, int steps, Func<int, TrainingLoss> dicpLoss, Func<int, TorchTrainingLoss> torchLoss)
    {
        var options = new Dicp.Optim.AdamOptions(LearningRate: 1e-2f);
        var parameters = dicp.Parameters().ToArray();
        var adam = new Dicp.Optim.AdamW(parameters, options);
        var torchAdam = new TorchAdamW(model.parameters(), options);
        var schedule = new Dicp.Optim.CosineSchedule(1e-2f, TotalSteps: steps, WarmupSteps: 1);
        for (var step = 0; step < steps; step++)
        {
            adam.LearningRate = torchAdam.LearningRate = schedule.At(step);
            adam.ZeroGrad();
            var loss = dicpLoss(step);
            loss.Total.Backward();
            var norm = Dicp.Optim.GradClip.ClipGradNorm(parameters, 1f);
            adam.Step();
            torchAdam.ZeroGrad();
            var torchResult = torchLoss(step);
            torchResult.Total.backward();
            var torchNorm = torchAdam.ClipGradNorm(1f);
            torchAdam.Step();
            Close([loss.Total.Item()], [(float)torchResult.Metrics["loss"]], $"loss at step {step}", abs: 1e-4, rel: 1e-4);
            Close([norm], [torchNorm], $"gradient norm at step {step}", abs: 1e-4, rel: 1e-3);
        }
    }
}
