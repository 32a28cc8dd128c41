using System.Text.Json;
using Dicp.IO;
using Dicp.Models;
using LoadStateDictResult = Dicp.Nn.LoadStateDictResult;
using StateDictException = Dicp.Nn.StateDictException;
using Dicp.Training;
using TorchSharp;
using static TorchSharp.torch;
using DicpTensor = Dicp.Tensors.Tensor;

namespace Dicp.TorchSharp;

public sealed partial class TorchInContextModel
{
    /// <summary>The parameters as Dicp tensors (float32, CPU copies) under Dicp's (= the reference's) keys.</summary>
    public IReadOnlyDictionary<string, DicpTensor> ToDicpStateDict()
    {
        var result = new Dictionary<string, DicpTensor>(StringComparer.Ordinal);
        foreach (var (name, p) in named_parameters())
        {
            var t = p.detach().to(ScalarType.Float32).cpu().contiguous();
            var shape = t.shape.Select(s => (int)s).ToArray();
            result.Add(name, new DicpTensor(t.data<float>().ToArray(), shape) { Name = name });
        }
        return result;
    }

    /// <summary>Copies Dicp tensors into the parameters (on their device), checking names and shapes.</summary>
    /// <param name="state">Tensors by Dicp key.</param>
    /// <param name="strict">Throw <see cref="StateDictException"/> on missing or unexpected keys.</param>
    /// <returns>The missing and unexpected keys.</returns>
    /// <exception cref="StateDictException">Strict loading found missing or unexpected keys.</exception>
    /// <exception cref="ArgumentException">A tensor's shape differs from its parameter's.</exception>
    public LoadStateDictResult LoadDicpStateDict(IReadOnlyDictionary<string, DicpTensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var parameters = named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter, StringComparer.Ordinal);
        var missing = parameters.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !parameters.ContainsKey(k)).ToList();
        var result = new LoadStateDictResult(missing, unexpected);
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new StateDictException($"{Name}: state dict does not match the TorchSharp model: {result}", result);
        using var noGrad = no_grad();
        foreach (var (name, p) in parameters)
        {
            if (!state.TryGetValue(name, out var src)) continue;
            var shape = p.shape.Select(s => (int)s).ToArray();
            if (!src.Shape.SequenceEqual(shape))
                throw new ArgumentException($"{Name}: '{name}' has shape ({string.Join(", ", src.Shape.ToArray())}), the model needs ({string.Join(", ", shape)}).", nameof(state));
            using var t = tensor(src.ToArray(), p.shape);
            p.copy_(t);
        }
        return result;
    }

    /// <summary>
    /// Writes the weights as Dicp's <c>model.safetensors</c> (float32 tensors under the reference keys, metadata
    /// <c>model</c> and <c>model_config</c>), atomically: Dicp's engine, <c>dicp evaluate</c> and its planners load it.
    /// </summary>
    public void Save(string path)
    {
        var meta = new Dictionary<string, string>
        {
            ["model"] = Name,
            ["model_config"] = ModelFile.ConfigJson(Config),
            ["backend"] = "torchsharp",
        };
        SafeTensors.Save(path, ToDicpStateDict(), meta);
    }

    /// <summary>
    /// Loads a model written by Dicp's engine or by <see cref="Save"/>: a <c>model.safetensors</c> or a trainer
    /// <c>checkpoint.safetensors</c> (its <c>model.</c> tensors), rebuilt from the <c>model_config</c> it stores.
    /// </summary>
    /// <exception cref="InvalidDataException">The file has no model configuration, or its tensors do not fit it.</exception>
    public static TorchInContextModel Load(string path)
    {
        var file = SafeTensorsFile.Read(path);
        if (!file.Metadata.TryGetValue("model_config", out var json))
            throw new InvalidDataException($"'{path}': no 'model_config' in the safetensors metadata; build the model with Create and call LoadDicpStateDict.");
        ModelConfig config;
        try { config = ModelConfigJson.Deserialize(json, path); }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"'{path}': model_config is invalid: {e.Message}", e);
        }
        var isCheckpoint = file.Metadata.ContainsKey("format") || file.Names.Any(n => n.StartsWith("model.", StringComparison.Ordinal));
        var state = new Dictionary<string, DicpTensor>(StringComparer.Ordinal);
        foreach (var name in file.Names)
        {
            if (isCheckpoint && !name.StartsWith("model.", StringComparison.Ordinal)) continue;
            state.Add(isCheckpoint ? name["model.".Length..] : name, file.GetTensor(name));
        }
        var model = new TorchInContextModel(config);
        try { model.LoadDicpStateDict(state, strict: true); }
        catch (Exception e) when (e is StateDictException or ArgumentException)
        {
            model.Dispose();
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
        return model;
    }

    /// <summary>A Dicp-engine model (CPU, KV-cached sessions and planners) with this model's configuration and weights.</summary>
    public InContextModel ToDicp()
    {
        var model = (InContextModel)InContextModels.Create(Config, seed: 0);
        model.LoadStateDict(ToDicpStateDict(), strict: true);
        return model;
    }
}
