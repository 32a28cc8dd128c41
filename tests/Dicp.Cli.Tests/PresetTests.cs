using Xunit;

namespace Dicp.Cli.Tests;

/// <summary>The library's <see cref="Presets"/> equal the shipped configuration files as the command line loads them,
/// section by section, so that neither can drift from the other (tools/make_presets.py rewrites the presets).</summary>
public sealed class PresetTests
{
    [Theory]
    [MemberData(nameof(RunConfigTests.AllConfigs), MemberType = typeof(RunConfigTests))]
    public void EachPresetEqualsItsConfigurationFile(string file)
    {
        var loaded = RunConfig.Load(Path.Combine(RunConfigTests.ConfigsDirectory(), file));
        var name = Path.GetFileNameWithoutExtension(file);
        Assert.True(Presets.All.TryGetValue(name, out var preset), $"no preset for {file}: run tools/make_presets.py");
        Assert.Equal(name, preset.Name);
        Assert.Equal(loaded.Model, preset.Model);
        Assert.Equal(loaded.Data, preset.Data);
        Assert.Equal(loaded.Training, preset.Training);
        Assert.Equal(loaded.Evaluation, preset.Evaluation);
        Assert.Equal(loaded.Planner, preset.Planner);
    }

    [Fact]
    public void EveryPresetHasItsFileAndTheNamedPropertiesAreTheListedOnes()
    {
        var files = Directory.GetFiles(RunConfigTests.ConfigsDirectory(), "*.yaml").Select(Path.GetFileNameWithoutExtension).Order();
        Assert.Equal(files, Presets.All.Keys.Order());
        Assert.Same(Presets.DicpAdDarkroomSmall, Presets.All["dicp-ad-darkroom-small"]);
        Assert.Same(Presets.DicpIdtMetaworldMl10, Presets.All["dicp-idt-metaworld-ml10"]);
        Assert.Equal((40, 2, "beam"), (Presets.DicpAdDarkroomSmall.Model.NTransit, Presets.DicpAdDarkroomSmall.Model.Layers, Presets.DicpAdDarkroomSmall.Planner.Name));
    }
}
