using Dicp.IO;
using Dicp.Models;
using Dicp.Optim;
using Dicp.Training;
using Xunit;
using static Dicp.TorchSharp.Tests.Parity;

namespace Dicp.TorchSharp.Tests;

/// <summary>A checkpoint trained by one backend evaluates identically on the other: sessions' policies and world-model
/// predictions (Dicp's KV-cached shared-prefix session vs the TorchSharp session recomputing every window).</summary>
public sealed class CrossBackendEvaluationTests
{
    public CrossBackendEvaluationTests() => RequireNative();

    [Theory]
    [InlineData("dicp-ad-grid")]
    [InlineData("dicp-dpt-grid")]
    [InlineData("dicp-ad-continuous")]
    public void TrainedOnTorchSharpEvaluatesIdenticallyOnDicp(string variant)
    {
        var config = Config(variant);
        using var model = TorchInContextModel.Create(config, seed: 21);
        var adam = new TorchAdamW(model.parameters(), new AdamOptions(LearningRate: 3e-3f));
        for (var step = 0; step < 5; step++)
        {
            adam.ZeroGrad();
            model.Loss(Batch(config, 8, 200 + step)).Total.backward();
            adam.ClipGradNorm(1f);
            adam.Step();
        }
        var dir = Directory.CreateTempSubdirectory("dicp-ts-").FullName;
        try
        {
            var path = Path.Combine(dir, Trainer.ModelFileName);
            model.Save(path);
            // Dicp's own loading path: the configuration from the file's metadata, then a strict state-dict load.
            var dicp = InContextModels.Load(path);
            CompareSessions(dicp, model, config, seed: 3);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("dicp-ad-grid")]
    [InlineData("dicp-dpt-grid")]
    [InlineData("dicp-ad-continuous")]
    public void TrainedOnDicpEvaluatesIdenticallyOnTorchSharp(string variant)
    {
        var config = Config(variant);
        var dicp = (InContextModel)InContextModels.Create(config, seed: 22);
        var parameters = dicp.Parameters().ToArray();
        var adam = new AdamW(parameters, new AdamOptions(LearningRate: 3e-3f));
        for (var step = 0; step < 5; step++)
        {
            adam.ZeroGrad();
            dicp.Loss(Batch(config, 8, 300 + step)).Total.Backward();
            GradClip.ClipGradNorm(parameters, 1f);
            adam.Step();
        }
        var dir = Directory.CreateTempSubdirectory("dicp-ts-").FullName;
        try
        {
            var path = Path.Combine(dir, Trainer.ModelFileName);
            SafeTensors.Save(path, dicp.StateDict(), new Dictionary<string, string>
            {
                ["model"] = dicp.Name, ["model_config"] = ModelFile.ConfigJson(config), // as Dicp's Trainer writes it
            });
            using var model = TorchInContextModel.Load(path);
            CompareSessions(dicp, model, config, seed: 4);
            var back = model.ToDicp(); // and back again, unchanged
            foreach (var (k, t) in dicp.StateDict()) Assert.Equal(t.ToArray(), back.StateDict()[k].ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Two environments; policies at every window length up to a sliding full window, and
    /// predictions for candidates at depths 0 … W + 1 (the window sliding over imagined transitions).</summary>
    private static void CompareSessions(ITrainableInContextModel dicp, TorchInContextModel model, ModelConfig config, int seed)
    {
        const int envs = 2;
        var rng = new Random(seed);
        var grid = config.StateClasses > 0;
        int o = config.ObservationSize, a = config.ActionCount > 0 ? 1 : config.ActionSize, p = config.ActionCount > 0 ? config.ActionCount : 2 * a;
        int w = config.NTransit - 1;
        float Obs() => grid ? rng.Next(9) : (float)(rng.NextDouble() * 2 - 1);
        float Act() => config.ActionCount > 0 ? rng.Next(config.ActionCount) : (float)(rng.NextDouble() * 2 - 1);
        float Rew() => config.RewardClasses > 0 ? rng.Next(config.RewardClasses) : (float)(rng.NextDouble() * 2 - 0.5);
        float[] Fill(int n, Func<float> f) => [.. Enumerable.Range(0, n).Select(_ => f())];
        var expected = dicp.CreateSession(envs);
        var actual = model.CreateSession(envs);
        var compared = 0;
        for (var t = 0; t <= w + 2; t++)
        {
            var obs = Fill(envs * o, Obs);
            var pe = new float[envs * p];
            var pa = new float[envs * p];
            expected.Policy(obs, pe);
            actual.Policy(obs, pa);
            Close(pe, pa, $"policy after {t} transitions");
            if (t % 2 == 0 || t == w + 2)
                for (var depth = 0; depth <= w + 1; depth += t == w + 2 ? 1 : 3)
                {
                    const int n = 6;
                    var c = new CandidateBatch(n, depth, Fill(n * depth * o, Obs), Fill(n * depth * a, Act), Fill(n * depth, Rew),
                        Fill(n * depth * o, Obs), Fill(n * o, Obs), Fill(n * a, Act));
                    var ep = new CandidatePredictions(new float[n], new float[n * o], config.ReturnToGo ? new float[n] : null, new float[n * p]);
                    var ap = new CandidatePredictions(new float[n], new float[n * o], config.ReturnToGo ? new float[n] : null, new float[n * p]);
                    expected.Predict(t % envs, c, ep);
                    actual.Predict(t % envs, c, ap);
                    Close(ep.Policy, ap.Policy, $"candidate policy, {t} transitions, depth {depth}");
                    Close(ep.Rewards, ap.Rewards, $"candidate rewards, {t} transitions, depth {depth}");
                    Close(ep.NextStates, ap.NextStates, $"candidate next states, {t} transitions, depth {depth}");
                    if (ep.ReturnsToGo is not null) Close(ep.ReturnsToGo, ap.ReturnsToGo!, "returns to go");
                    compared++;
                }
            var (ts, ta, tr, tn) = (Fill(envs * o, Obs), Fill(envs * a, Act), Fill(envs, Rew), Fill(envs * o, Obs));
            expected.Append(ts, ta, tr, tn, new bool[envs]);
            actual.Append(ts, ta, tr, tn, new bool[envs]);
            Assert.Equal(Math.Min(t + 1, w), actual.ContextLength(0));
            Assert.Equal(expected.ContextLength(1), actual.ContextLength(1));
        }
        Assert.True(compared >= 8);
    }
}
