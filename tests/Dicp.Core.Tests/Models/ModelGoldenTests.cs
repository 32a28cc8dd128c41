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

    public static TheoryData<string> Cases() => ModelFixtures.Cases("models.safetensors");

    internal static (InContextModel Model, WindowBatch Batch) Load(string name) => ModelFixtures.Load<InContextModel>(F, name, optimalActions: true);

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
        ModelFixtures.AssertLossAndGradients(F, name, model, model.Loss(batch));
    }
}
