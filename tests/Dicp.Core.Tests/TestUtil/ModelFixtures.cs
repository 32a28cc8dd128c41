using Dicp.IO;
using Dicp.Models;
using Dicp.Nn;
using Dicp.Tensors;
using Xunit;

namespace Dicp.Tests.TestUtil;

/// <summary>
/// The golden files of the in-context models (<c>tools/make_model_fixtures.py</c>, <c>tools/make_idt_fixtures.py</c>):
/// per case a configuration, weights under the reference keys, a window batch, and the expected outputs, loss, metrics
/// and gradients.
/// </summary>
internal static class ModelFixtures
{
    /// <summary>The case names listed in the file's <c>cases</c> metadata.</summary>
    public static TheoryData<string> Cases(string file)
    {
        var data = new TheoryData<string>();
        foreach (var c in Fixtures.Load(file).Metadata["cases"].Split(' ')) data.Add(c);
        return data;
    }

    /// <summary>Case <paramref name="name"/>'s model (seed 7) with the fixture's weights loaded strictly, and its window batch.</summary>
    public static (TModel Model, WindowBatch Batch) Load<TModel>(SafeTensorsFile f, string name, bool optimalActions) where TModel : Module, IInContextModel
    {
        var config = ModelConfigJson.Deserialize(f.Metadata[name + ".config"], name);
        var model = (TModel)InContextModels.Create(config, seed: 7);
        var state = model.NamedParameters().ToDictionary(kv => kv.Key, kv => f.GetTensor(name + "." + kv.Key));
        model.LoadStateDict(state, strict: true);
        var states = f.GetTensor(name + ".states");
        int b = states.Shape[0], n = states.Shape[1];
        var actionFloats = config.ActionCount > 0 ? 1 : config.ActionSize; // a discrete action is one float
        var batch = new WindowBatch(b, n, model.ObservationSize, actionFloats, optimalActions: optimalActions, returnsToGo: true);
        states.Span.CopyTo(batch.States);
        f.GetTensor(name + ".actions").Span.CopyTo(batch.Actions);
        f.GetTensor(name + ".rewards").Span.CopyTo(batch.Rewards);
        f.GetTensor(name + ".next_states").Span.CopyTo(batch.NextStates);
        f.GetTensor(name + ".returns_to_go").Span.CopyTo(batch.ReturnsToGo);
        if (optimalActions) f.GetInt32(name + ".optimal_actions").CopyTo(batch.OptimalActions!, 0);
        return (model, batch);
    }

    /// <summary>
    /// Checks <paramref name="loss"/> (total 1e-4 relative + 1e-6, the same metric names and values), then back-propagates
    /// it and checks every parameter's gradient (1e-4 relative + 1e-5) against case <paramref name="name"/>.
    /// </summary>
    public static void AssertLossAndGradients(SafeTensorsFile f, string name, Module model, TrainingLoss loss)
    {
        Close.Assert(f.GetTensor(name + ".loss").Span, [loss.Total.Item()], 1e-4, 1e-6, name + ".loss");
        var expected = f.Names.Where(k => k.StartsWith(name + ".metric.", StringComparison.Ordinal)).ToList();
        Assert.Equal(expected.Select(k => k[(name.Length + 8)..]).Order(StringComparer.Ordinal), loss.Metrics.Keys.Order(StringComparer.Ordinal));
        foreach (var k in expected)
            Close.Assert(f.GetTensor(k).Span, [(float)loss.Metrics[k[(name.Length + 8)..]]], 1e-4, 1e-6, k);
        loss.Total.Backward();
        foreach (var (key, p) in model.NamedParameters())
            Close.Assert(f.GetTensor(name + ".grad." + key), new Tensor(p.Grad ?? new float[p.Size], p.Shape), 1e-4, 1e-5, name + ".grad." + key);
    }
}
