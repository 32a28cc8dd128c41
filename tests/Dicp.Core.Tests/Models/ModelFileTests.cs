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
        Assert.Equal(["run.heads"], ConfigDiff.Compare(new ModelConfig(Heads: 2), new ModelConfig(Heads: 4), ModelConfigJson.Options, "run").Select(x => x.Key));
    }

    [Fact]
    public void SaveThenLoadRebuildsTheModelFromTheFileAlone()
    {
        var model = InContextModels.Create(Small, seed: 3);
        var path = Path.Combine(_root, "saved.safetensors");
        model.Save(path);
        var loaded = InContextModels.Load(path);
        Assert.Equal(Small, loaded.Config);
        Assert.Equal("dicp-ad", loaded.Name);
        Assert.False(loaded.Network.Training); // ready to evaluate
        foreach (var (k, t) in model.Network.StateDict()) Assert.Equal(t.Data, loaded.Network.StateDict()[k].Data);
        // The stored form is the one model-configuration JSON, compact.
        Assert.Equal(ModelConfigJson.Serialize(Small, indented: false), SafeTensorsFile.Read(path).Metadata[ModelFile.ConfigKey]);
        // An IDT model too (its own model class).
        var idtConfig = new ModelConfig(Model: "idt", Dynamics: true, NTransit: 8, SegmentLength: 4, LatentDim: 4, EmbeddingDim: 16, Layers: 1, Heads: 2, Inner: 32);
        var idt = InContextModels.Create(idtConfig, seed: 1);
        idt.Save(path);
        var idtBack = InContextModels.Load(path);
        Assert.Equal("dicp-idt", idtBack.Name);
        foreach (var (k, t) in idt.Network.StateDict()) Assert.Equal(t.Data, idtBack.Network.StateDict()[k].Data);
    }

    [Fact]
    public void LoadReadsACheckpointAndARunDirectory()
    {
        var model = InContextModels.Create(Small, seed: 5);
        var run = Path.Combine(_root, "run");
        Directory.CreateDirectory(run);
        Assert.Throws<FileNotFoundException>(() => InContextModels.Load(run));
        var checkpoint = new Dicp.Training.TrainingCheckpoint
        {
            Step = 7, OptimizerSteps = 7, Model = model.Network.StateDict(), Optimizer = new Dictionary<string, float[]>(),
            SamplerRng = [1, 2, 3, 4], DropoutRng = [5, 6, 7, 8], Pending = Dicp.Training.MetricSums.Empty(),
            ModelConfigJson = ModelFile.ConfigJson(Small),
        };
        checkpoint.Save(Dicp.Training.TrainingCheckpoint.PathIn(run));
        var fromCheckpoint = InContextModels.Load(run); // no model.safetensors yet: the checkpoint
        foreach (var (k, t) in model.Network.StateDict()) Assert.Equal(t.Data, fromCheckpoint.Network.StateDict()[k].Data);
        var other = InContextModels.Create(Small, seed: 6);
        other.Save(Path.Combine(run, Dicp.Training.Trainer.ModelFileName));
        var fromRun = InContextModels.Load(run); // the final model wins
        foreach (var (k, t) in other.Network.StateDict()) Assert.Equal(t.Data, fromRun.Network.StateDict()[k].Data);
        // LoadInto reads checkpoints too, checking the stored configuration.
        Assert.Throws<ModelConfigMismatchException>(() => ModelFile.LoadInto(InContextModels.Create(Small with { Heads = 4 }, 0), Small with { Heads = 4 },
            Dicp.Training.TrainingCheckpoint.PathIn(run)));
    }

    [Fact]
    public void LoadRefusesABadFileWithOneExceptionNamingFileAndKey()
    {
        var model = InContextModels.Create(Small, seed: 3);
        string Write(string name, Dictionary<string, string> meta, IReadOnlyDictionary<string, Dicp.Tensors.Tensor>? tensors = null)
        {
            var path = Path.Combine(_root, name);
            SafeTensors.Save(path, tensors ?? model.Network.StateDict(), meta);
            return path;
        }
        var json = ModelFile.ConfigJson(Small);
        void Refused(string path, params string[] parts)
        {
            var e = Assert.Throws<InvalidDataException>(() => InContextModels.Load(path));
            Assert.Contains(path, e.Message);
            foreach (var p in parts) Assert.Contains(p, e.Message);
        }
        Refused(Write("none.safetensors", []), ModelFile.ConfigKey);
        Refused(Write("value.safetensors", new() { [ModelFile.ConfigKey] = json.Replace("\"heads\":2", "\"heads\":3") }), "Heads (3)");
        Refused(Write("key.safetensors", new() { [ModelFile.ConfigKey] = json.Replace("\"heads\":2", "\"headz\":2") }), "headz");
        Refused(Write("name.safetensors", new() { [ModelFile.ConfigKey] = json, [ModelFile.NameKey] = "dicp-idt" }), "'dicp-idt'", "'dicp-ad'");
        // The configuration says 2 layers; the tensors are a 1-layer model's.
        Refused(Write("shape.safetensors", new() { [ModelFile.ConfigKey] = ModelFile.ConfigJson(Small with { Layers = 2 }) }), "transformer.blocks.1");
        var garbage = Path.Combine(_root, "garbage.safetensors");
        File.WriteAllBytes(garbage, [1, 2, 3]);
        Refused(garbage, "not a model file");
        // A model that does not know its configuration cannot be saved without it.
        Assert.Throws<ArgumentException>(() => ModelFile.Save(Path.Combine(_root, "x.safetensors"), model, Small with { Heads = 4 }));
    }

    [Fact]
    public void EveryStoredFormOfTheConfigurationReadsBackWithTheOneReader()
    {
        var config = Small with { Model = "dpt", Dropout = 0.25f, RewardMin = -1.5f };
        // Compact (model files, checkpoints, as every Dicp has written them), indented (files), embedded in a document.
        Assert.Equal(config, ModelConfigJson.Deserialize(ModelFile.ConfigJson(config)));
        Assert.Equal(config, ModelConfigJson.Deserialize(ModelConfigJson.Serialize(config)));
        var options = new System.Text.Json.JsonSerializerOptions { Converters = { ModelConfigJson.Converter } };
        var document = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, ModelConfig> { ["model"] = config }, options);
        Assert.Equal(config, System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, ModelConfig>>(document, options)!["model"]);
        var e = Assert.Throws<System.Text.Json.JsonException>(() =>
            System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, ModelConfig>>("""{"model": {"heads": 5}}""", options));
        Assert.Contains("Heads (5)", e.Message);
        // A configuration written by an earlier Dicp (keys of that time, no newer key) reads with the defaults of the absent keys.
        Assert.Equal(new ModelConfig(Dynamics: true, NTransit: 10), ModelConfigJson.Deserialize("""{"model":"ad","dynamics":true,"n_transit":10}"""));
    }
}
