using Dicp.IO;
using Dicp.Models;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Models;

/// <summary>
/// IDT and DICP-IDT (grid and continuous) against PyTorch (<c>tools/make_idt_fixtures.py</c>: d 16, 2 layers, 2 heads,
/// c 3, K 2 segments, dim_z 3, batch 2): weights loaded strictly by the reference keys, the three modules' outputs
/// (reviewed and predicted z-distributions, sampled z, heads), loss, metrics and every parameter's gradient.
/// </summary>
public class IdtGoldenTests
{
    private static readonly SafeTensorsFile F = Fixtures.Load("idt.safetensors");

    public static TheoryData<string> Cases() => ModelFixtures.Cases("idt.safetensors");

    internal static (IdtModel Model, WindowBatch Batch, float[] Noise) Load(string name)
    {
        var (model, batch) = ModelFixtures.Load<IdtModel>(F, name, optimalActions: false);
        return (model, batch, F.GetTensor(name + ".noise").Span.ToArray());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StateDictKeysAreTheFixtureKeys(string name)
    {
        var (model, _, _) = Load(name);
        Assert.Equal(F.Metadata[name + ".keys"].Split(' '), model.StateDict().Keys); // same keys, same registration order
    }

    /// <summary>Tolerance 1e-4 relative + 1e-5 (float32 vs a float64 reference).</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ModulesLossAndGradientsMatchPyTorch(string name)
    {
        var (model, batch, noise) = Load(name);
        var o = model.Forward(batch, noise);
        Close.Assert(F.GetTensor(name + ".out.reviewed_z"), o.ReviewedZ, 1e-4, 1e-5, name + ".out.reviewed_z");
        Close.Assert(F.GetTensor(name + ".out.predicted_z"), o.PredictedZ, 1e-4, 1e-5, name + ".out.predicted_z");
        Close.Assert(F.GetTensor(name + ".out.z"), o.Z, 1e-4, 1e-5, name + ".out.z");
        Close.Assert(F.GetTensor(name + ".out.actions"), o.Actions, 1e-4, 1e-5, name + ".out.actions");
        if (o.Rewards is not null)
        {
            Close.Assert(F.GetTensor(name + ".out.rewards"), o.Rewards, 1e-4, 1e-5, name + ".out.rewards");
            Close.Assert(F.GetTensor(name + ".out.next_states"), o.NextStates!, 1e-4, 1e-5, name + ".out.next_states");
        }
        else Assert.False(F.Contains(name + ".out.rewards"));

        model.ZeroGrad();
        ModelFixtures.AssertLossAndGradients(F, name, model, model.Loss(batch, noise));
    }
}
