using System.Text.Json.Nodes;
using Dicp.IO;
using Dicp.Models;
using Xunit;

namespace Dicp.Core.Tests.Models;

/// <summary><see cref="ModelFile"/>: a model file carries its configuration and refuses a model built from another one.</summary>
public sealed class ModelFileTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dicp-modelfile-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static readonly ModelConfig Small = new(Dynamics: true, NTransit: 6, EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 32);

    [Fact]
    public void LoadBuildsTheStoredModelAndReproducesItsParameters()
    {
        var model = InContextModels.Create(Small, seed: 3);
        var path = Path.Combine(_root, "m.safetensors");
        ModelFile.Save(path, model, Small);
        Assert.Equal(Small, ModelFile.ReadConfig(path));
        var loaded = ModelFile.Load(path, seed: 99);
        Assert.Equal("dicp-ad", loaded.Name);
        var a = model.Network.StateDict();
        var b = loaded.Network.StateDict();
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (k, t) in a) Assert.Equal(t.Data, b[k].Data);
    }

    [Fact]
    public void LoadingIntoAnotherConfigurationNamesEveryDifferingKey()
    {
        var path = Path.Combine(_root, "m.safetensors");
        ModelFile.Save(path, InContextModels.Create(Small, seed: 3), Small);
        // Same parameter shapes (heads 2 → 4, label smoothing): LoadStateDict alone would accept the weights.
        var other = Small with { Heads = 4, LabelSmoothing = 0.1f };
        var target = InContextModels.Create(other, seed: 0);
        var before = target.Network.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Data.ToArray());
        var e = Assert.Throws<ModelConfigMismatchException>(() => ModelFile.LoadInto(target, other, path));
        Assert.Equal(["heads", "label_smoothing"], e.Differences.Select(d => d.Key));
        Assert.Equal(("2", "4"), (e.Differences[0].Stored, e.Differences[0].Given));
        Assert.Contains("heads 2 → 4", e.Message);
        Assert.Contains("label_smoothing 0 → 0.1", e.Message);
        Assert.Contains(path, e.Message);
        // Nothing was loaded.
        foreach (var (k, t) in target.Network.StateDict()) Assert.Equal(before[k], t.Data);
        // The matching configuration loads.
        ModelFile.LoadInto(InContextModels.Create(Small, seed: 0), Small, path);
    }

    [Fact]
    public void AFileWithoutAConfigurationLoadsOnShapesOrIsRefusedWhenOneIsRequired()
    {
        var model = InContextModels.Create(Small, seed: 3);
        var path = Path.Combine(_root, "bare.safetensors");
        SafeTensors.Save(path, model.Network.StateDict());
        Assert.Null(ModelFile.ReadConfig(path));
        ModelFile.LoadInto(InContextModels.Create(Small, seed: 0), Small, path);
        Assert.Throws<InvalidDataException>(() => ModelFile.LoadInto(InContextModels.Create(Small, seed: 0), Small, path, requireConfig: true));
        Assert.Throws<InvalidDataException>(() => ModelFile.Load(path));
        // A malformed stored configuration is named as such.
        var bad = Path.Combine(_root, "bad.safetensors");
        SafeTensors.Save(bad, model.Network.StateDict(), new Dictionary<string, string> { [ModelFile.ConfigKey] = "{\"heads\": \"two\"}" });
        var e = Assert.Throws<InvalidDataException>(() => ModelFile.ReadConfig(bad));
        Assert.Contains(ModelFile.ConfigKey, e.Message);
    }

    [Fact]
    public void ConfigDiffWalksObjectsComparesNumbersByValueAndNamesAbsentKeys()
    {
        var stored = JsonNode.Parse("""{"model": {"heads": 2, "lr": 0.10, "tags": [1, 2]}, "data": {"seed": 0, "old": true}}""");
        var given = JsonNode.Parse("""{"model": {"heads": 2.0, "lr": 0.1, "tags": [1, 3]}, "data": {"seed": 1, "new": null}}""");
        var d = ConfigDiff.Compare(stored, given);
        Assert.Equal(["model.tags", "data.seed", "data.old", "data.new"], d.Select(x => x.Key));
        Assert.Equal("model.tags [1,2] → [1,3]", d[0].ToString());
        Assert.Equal("data.old true → (absent)", d[2].ToString());
        Assert.Equal("data.new (absent) → null", d[3].ToString());
        Assert.Empty(ConfigDiff.Compare(stored, stored!.DeepClone()));
        Assert.Equal(["run.heads"], ConfigDiff.Compare(new ModelConfig(Heads: 2), new ModelConfig(Heads: 4), Dicp.Training.TrainingCheckpoint.Json, "run").Select(x => x.Key));
    }
}
