using Dicp.Models;
using Xunit;

namespace Dicp.Cli.Tests;

/// <summary>Every configuration under <c>configs/</c> builds its model, IDT ones included.</summary>
public class ConfigModelsTests
{
    [Theory]
    [MemberData(nameof(RunConfigTests.AllConfigs), MemberType = typeof(RunConfigTests))]
    public void EveryConfigBuildsItsModel(string file)
    {
        var c = RunConfig.Load(Path.Combine(RunConfigTests.ConfigsDirectory(), file));
        var model = InContextModels.Create(c.Model, seed: 0);
        Assert.Equal((c.Model.Dynamics ? "dicp-" : "") + c.Model.Model, model.Name);
        Assert.Equal(c.Model.NTransit, model.SampleSteps);
        if (c.Model.Model != "idt") return;
        var idt = Assert.IsType<IdtModel>(model);
        Assert.Equal((10, 8, c.Model.NTransit / 10), (c.Model.SegmentLength, c.Model.LatentDim, idt.Segments));
        Assert.Equal(["decisions_to_go", "h_decision_transformer", "reviewing_decisions"],
            model.Network.StateDict().Keys.Select(k => k[..k.IndexOf('.')]).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(c.Model.Dynamics, model.Network.StateDict().ContainsKey("decisions_to_go.pred_reward.weight"));
    }
}
