using Dicp.IO;
using Dicp.Models;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Models;

/// <summary>
/// AD and DPT (grid and continuous, with and without DICP heads) against PyTorch (<c>tools/make_model_fixtures.py</c>,
/// d 16, 2 layers, 2 heads, n_transit 6, batch 3): weights loaded strictly by the reference keys, head outputs,
/// loss and metrics, and the gradient of every parameter.
/// </summary>
public class ModelGoldenTests
{
    private static readonly SafeTensorsFile F = Fixtures.Load("models.safetensors");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Fixtures.Load("models.safetensors").Metadata["cases"].Split(' ')) data.Add(c);
        return data;
    }

    internal static (InContextModel Model, WindowBatch Batch) Load(string name)
    {
        var config = ModelConfigJson.Deserialize(F.Metadata[name + ".config"], name);
        var model = (InContextModel)InContextModels.Create(config, seed: 7);
        var state = model.NamedParameters().ToDictionary(kv => kv.Key, kv => F.GetTensor(name + "." + kv.Key));
        model.LoadStateDict(state, strict: true);
        var states = F.GetTensor(name + ".states");
        int b = states.Shape[0], n = states.Shape[1];
        var batch = new WindowBatch(b, n, model.ObservationSize, model.ActionSize, optimalActions: true, returnsToGo: true);
        states.Span.CopyTo(batch.States);
        F.GetTensor(name + ".actions").Span.CopyTo(batch.Actions);
        F.GetTensor(name + ".rewards").Span.CopyTo(batch.Rewards);
        F.GetTensor(name + ".next_states").Span.CopyTo(batch.NextStates);
        F.GetTensor(name + ".returns_to_go").Span.CopyTo(batch.ReturnsToGo);
        F.GetInt32(name + ".optimal_actions").CopyTo(batch.OptimalActions!, 0);
        return (model, batch);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StateDictKeysAreTheFixtureKeys(string name)
    {
        var (model, _) = Load(name);
        Assert.Equal(F.Metadata[name + ".keys"].Split(' ').Order(StringComparer.Ordinal), model.StateDict().Keys.Order(StringComparer.Ordinal));
    }

    /// <summary>Tolerance 1e-4 relative + 1e-5 (float32 vs a float64 reference).</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputsLossAndGradientsMatchPyTorch(string name)
    {
        var (model, batch) = Load(name);
        var outputs = model.Forward(batch);
        Close.Assert(F.GetTensor(name + ".out.actions"), outputs.Actions, 1e-4, 1e-5, name + ".out.actions");
        if (outputs.Rewards is not null)
        {
            Close.Assert(F.GetTensor(name + ".out.rewards"), outputs.Rewards, 1e-4, 1e-5, name + ".out.rewards");
            Close.Assert(F.GetTensor(name + ".out.next_states"), outputs.NextStates!, 1e-4, 1e-5, name + ".out.next_states");
        }
        else Assert.False(F.Contains(name + ".out.rewards"));
        if (outputs.Returns is not null) Close.Assert(F.GetTensor(name + ".out.returns"), outputs.Returns, 1e-4, 1e-5, name + ".out.returns");
        else Assert.False(F.Contains(name + ".out.returns"));

        model.ZeroGrad();
        var loss = model.Loss(batch);
        Close.Assert(F.GetTensor(name + ".loss").Span, [loss.Total.Item()], 1e-4, 1e-6, name + ".loss");
        var expectedMetrics = F.Names.Where(k => k.StartsWith(name + ".metric.", StringComparison.Ordinal)).ToList();
        Assert.Equal(expectedMetrics.Select(k => k[(name.Length + 8)..]).Order(StringComparer.Ordinal), loss.Metrics.Keys.Order(StringComparer.Ordinal));
        foreach (var k in expectedMetrics)
            Close.Assert(F.GetTensor(k).Span, [(float)loss.Metrics[k[(name.Length + 8)..]]], 1e-4, 1e-6, k);
        loss.Total.Backward();
        foreach (var (key, p) in model.NamedParameters())
            Close.Assert(F.GetTensor(name + ".grad." + key), new Tensor(p.Grad ?? new float[p.Size], p.Shape), 1e-4, 1e-5, name + ".grad." + key);
    }
}
