using System.Text.Json;
using Dicp.IO;
using Dicp.Nn;

namespace Dicp.Models;

/// <summary>
/// A trained model's file (<c>model.safetensors</c>): the network's state dict under the reference's key names, with the
/// model's configuration in the metadata, so that weights are never loaded into a model built from another configuration.
/// </summary>
/// <remarks>
/// Metadata: <c>model</c> (the model's name, e.g. <c>dicp-ad</c>) and <see cref="ConfigKey"/> (the
/// <see cref="ModelConfig"/> as snake_case JSON). <see cref="LoadInto"/> compares the stored configuration with the one
/// the caller built its model from, key by key, before any parameter is touched; <see cref="Load"/> builds the model from
/// the stored configuration.
/// </remarks>
public static class ModelFile
{
    /// <summary>The metadata key holding the model configuration's JSON.</summary>
    public const string ConfigKey = "model_config";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The configuration as the compact snake_case JSON stored in model files and checkpoints.</summary>
    public static string ConfigJson(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return JsonSerializer.Serialize(config, Json);
    }

    /// <summary>Writes the network's state dict and the configuration to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The file (created or replaced).</param>
    /// <param name="model">The model whose parameters are saved.</param>
    /// <param name="config">The configuration <paramref name="model"/> was built from.</param>
    public static void Save(string path, ITrainableInContextModel model, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(model);
        var meta = new Dictionary<string, string> { ["model"] = model.Name, [ConfigKey] = ConfigJson(config) };
        SafeTensors.Save(path, model.Network.StateDict(), meta);
    }

    /// <summary>The configuration stored in a model file or checkpoint, or null when the file has none.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="SafeTensorsFormatException">The file is not a well-formed safetensors file.</exception>
    /// <exception cref="InvalidDataException">The stored configuration is not a valid <see cref="ModelConfig"/>.</exception>
    public static ModelConfig? ReadConfig(string path)
    {
        var file = SafeTensorsFile.Read(path);
        return file.Metadata.TryGetValue(ConfigKey, out var json) ? ParseConfig(json, path) : null;
    }

    /// <summary>Parses a stored configuration (<paramref name="source"/> names the file in errors).</summary>
    /// <exception cref="InvalidDataException">The JSON is not a valid <see cref="ModelConfig"/>.</exception>
    public static ModelConfig ParseConfig(string json, string source)
    {
        try
        {
            return ModelConfigJson.Deserialize(json, source);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{source}: metadata '{ConfigKey}' is not a valid model configuration: {e.Message}", e);
        }
    }

    /// <summary>The keys (snake_case, e.g. <c>heads</c>) whose values differ between two configurations.</summary>
    public static IReadOnlyList<ConfigDifference> Differences(ModelConfig stored, ModelConfig given)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(given);
        return ConfigDiff.Compare(stored, given, Json);
    }

    /// <summary>Throws when <paramref name="given"/> differs from the configuration stored in <paramref name="source"/>.</summary>
    /// <exception cref="ModelConfigMismatchException">Some keys differ (all of them are named).</exception>
    public static void CheckSame(ModelConfig stored, ModelConfig given, string source)
    {
        var d = Differences(stored, given);
        if (d.Count > 0) throw new ModelConfigMismatchException(source, d);
    }

    /// <summary>
    /// Loads the weights of <paramref name="path"/> into <paramref name="model"/> (strictly: every key, every shape) after
    /// checking that the file was written for <paramref name="config"/>.
    /// </summary>
    /// <param name="model">A model built from <paramref name="config"/>.</param>
    /// <param name="config">The configuration the caller built <paramref name="model"/> from.</param>
    /// <param name="path">A file written by <see cref="Save"/> (or a trainer).</param>
    /// <param name="requireConfig">Refuse files that carry no configuration (false: such files load on their keys and shapes only).</param>
    /// <exception cref="ModelConfigMismatchException">The file's configuration differs from <paramref name="config"/> (the keys are named).</exception>
    /// <exception cref="InvalidDataException">The file carries no configuration and <paramref name="requireConfig"/> is set, or it is invalid.</exception>
    /// <exception cref="StateDictException">The tensors do not fit the model (missing, unexpected or misshapen keys).</exception>
    public static void LoadInto(ITrainableInContextModel model, ModelConfig config, string path, bool requireConfig = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        var file = SafeTensorsFile.Read(path);
        if (file.Metadata.TryGetValue(ConfigKey, out var json)) CheckSame(ParseConfig(json, path), config, path);
        else if (requireConfig) throw new InvalidDataException($"{path}: the file carries no '{ConfigKey}' metadata, so its configuration cannot be checked.");
        var tensors = new Dictionary<string, Tensors.Tensor>(file.Names.Count, StringComparer.Ordinal);
        foreach (var name in file.Names) tensors.Add(name, file.GetTensor(name));
        model.Network.LoadStateDict(tensors, strict: true);
    }

    /// <summary>Builds the model described by the file's stored configuration and loads its weights.</summary>
    /// <param name="path">A file written by <see cref="Save"/> (or a trainer).</param>
    /// <param name="seed">Seeds the model's generator (initial values are replaced by the file's).</param>
    /// <exception cref="InvalidDataException">The file carries no configuration.</exception>
    public static ITrainableInContextModel Load(string path, int seed = 0)
    {
        var config = ReadConfig(path) ?? throw new InvalidDataException($"{path}: the file carries no '{ConfigKey}' metadata; build the model from its configuration and use LoadInto.");
        var model = InContextModels.Create(config, seed);
        LoadInto(model, config, path);
        return model;
    }
}

/// <summary>A model file or checkpoint was written for another model configuration than the one it is loaded into.</summary>
public sealed class ModelConfigMismatchException : IOException
{
    /// <summary>Creates the exception; the message names every differing key with the stored and the given value.</summary>
    public ModelConfigMismatchException(string source, IReadOnlyList<ConfigDifference> differences)
        : base($"{source} was written for another model configuration ({ConfigDiff.Describe(differences)}, stored → given).")
    {
        FilePath = source;
        Differences = differences;
    }

    /// <summary>The file.</summary>
    public string FilePath { get; }

    /// <summary>The keys that differ.</summary>
    public IReadOnlyList<ConfigDifference> Differences { get; }
}
