using Dicp.IO;
using Dicp.Nn;

namespace Dicp.Models;

/// <summary>
/// A trained model's file (<c>model.safetensors</c>): the network's state dict under the reference's key names, with the
/// model's configuration in the metadata, so that weights are never loaded into a model built from another configuration.
/// </summary>
/// <remarks>
/// Metadata: <c>model</c> (the model's name, e.g. <c>dicp-ad</c>) and <see cref="ConfigKey"/> (the
/// <see cref="ModelConfig"/> in the form of <see cref="ModelConfigJson"/>). <see cref="LoadInto"/> compares the stored
/// configuration with the one the caller built its model from, key by key, before any parameter is touched;
/// <see cref="Load"/> builds the model from the stored configuration. <see cref="InContextModels.Load"/> and
/// <see cref="InContextModels.Save"/> are the usual entry points.
/// </remarks>
public static class ModelFile
{
    /// <summary>The metadata key holding the model configuration's JSON.</summary>
    public const string ConfigKey = "model_config";

    /// <summary>The metadata key holding the model's name.</summary>
    public const string NameKey = "model";

    /// <summary>The configuration as the compact JSON stored in model files and checkpoints (<see cref="ModelConfigJson"/>).</summary>
    public static string ConfigJson(ModelConfig config) => ModelConfigJson.Serialize(config, indented: false);

    /// <summary>Writes the network's state dict and the configuration to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The file (created or replaced).</param>
    /// <param name="model">The model whose parameters are saved.</param>
    /// <param name="config">The configuration <paramref name="model"/> was built from.</param>
    /// <exception cref="ArgumentException"><paramref name="config"/> is not the model's own configuration.</exception>
    public static void Save(string path, ITrainableInContextModel model, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        if (model.Config is { } own && own != config)
            throw new ArgumentException($"The configuration given differs from the model's own ({ConfigDiff.Describe(Differences(own, config))}, model → given).", nameof(config));
        var meta = new Dictionary<string, string> { [NameKey] = model.Name, [ConfigKey] = ConfigJson(config) };
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
        return ConfigDiff.Compare(stored, given, ModelConfigJson.Options);
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
    /// <param name="path">A file written by <see cref="Save"/> or a trainer, a trainer's checkpoint, or a run directory (<see cref="Locate"/>).</param>
    /// <param name="requireConfig">Refuse files that carry no configuration (false: such files load on their keys and shapes only).</param>
    /// <exception cref="ModelConfigMismatchException">The file's configuration differs from <paramref name="config"/> (the keys are named).</exception>
    /// <exception cref="InvalidDataException">The file carries no configuration and <paramref name="requireConfig"/> is set, or it is invalid.</exception>
    /// <exception cref="StateDictException">The tensors do not fit the model (missing, unexpected or misshapen keys).</exception>
    public static void LoadInto(ITrainableInContextModel model, ModelConfig config, string path, bool requireConfig = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        path = Locate(path);
        var file = SafeTensorsFile.Read(path);
        if (file.Metadata.TryGetValue(ConfigKey, out var json)) CheckSame(ParseConfig(json, path), config, path);
        else if (requireConfig) throw new InvalidDataException($"{path}: the file carries no '{ConfigKey}' metadata, so its configuration cannot be checked.");
        model.Network.LoadStateDict(Tensors(file), strict: true);
    }

    /// <summary>
    /// Builds the model described by a file's stored configuration and loads its weights: a model file written by
    /// <see cref="Save"/> or a trainer, a trainer's checkpoint (its model parameters), or a run directory (its
    /// <c>model.safetensors</c>, else its checkpoint). Every problem is one <see cref="InvalidDataException"/> naming the
    /// file and the key or value at fault.
    /// </summary>
    /// <param name="path">The file or run directory.</param>
    /// <param name="seed">Seeds the model's generator (initial values are replaced by the file's).</param>
    /// <returns>The model, in evaluation mode (dropout off).</returns>
    /// <exception cref="FileNotFoundException">Neither the file nor a run directory's files exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a safetensors file, carries no or an invalid configuration,
    /// names another model than its configuration builds, or its tensors do not fit the model.</exception>
    public static ITrainableInContextModel Load(string path, int seed = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        path = Locate(path);
        SafeTensorsFile file;
        try
        {
            file = SafeTensorsFile.Read(path);
        }
        catch (SafeTensorsFormatException e)
        {
            throw new InvalidDataException($"{path}: not a model file: {e.Message}", e);
        }
        if (!file.Metadata.TryGetValue(ConfigKey, out var json))
            throw new InvalidDataException($"{path}: the file carries no '{ConfigKey}' metadata, so the model cannot be built from it " +
                "(build it from its configuration and use ModelFile.LoadInto).");
        var config = ParseConfig(json, path);
        var model = InContextModels.Create(config, seed);
        if (file.Metadata.TryGetValue(NameKey, out var name) && name != model.Name)
            throw new InvalidDataException($"{path}: metadata '{NameKey}' is '{name}' but '{ConfigKey}' builds '{model.Name}'.");
        try
        {
            model.Network.LoadStateDict(Tensors(file), strict: true);
        }
        catch (Exception e) when (e is StateDictException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: its tensors do not fit the '{model.Name}' its '{ConfigKey}' describes: {e.Message}", e);
        }
        model.Network.Eval();
        return model;
    }

    /// <summary>
    /// The file to load for <paramref name="path"/>: the path itself when it is not a directory; for a run directory its
    /// <c>model.safetensors</c> when training has finished, else its latest checkpoint.
    /// </summary>
    /// <exception cref="FileNotFoundException">A run directory holds neither file.</exception>
    /// <exception cref="InvalidDataException">A directory stands where one of the run's files belongs.</exception>
    public static string Locate(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!Directory.Exists(path)) return path;
        var final = Path.Combine(path, Training.Trainer.ModelFileName);
        var checkpoint = Training.TrainingCheckpoint.PathIn(path);
        foreach (var f in new[] { final, checkpoint })
            if (Directory.Exists(f)) throw new InvalidDataException($"{f}: a directory where the run's file belongs.");
        if (File.Exists(final)) return final;
        if (File.Exists(checkpoint)) return checkpoint;
        throw new FileNotFoundException($"{path}: holds neither {Training.Trainer.ModelFileName} nor {Training.TrainingCheckpoint.FileName}; train first.", final);
    }

    /// <summary>The model's tensors of a model file, or of a checkpoint (its <c>model.</c> tensors, the prefix removed).</summary>
    private static Dictionary<string, Tensors.Tensor> Tensors(SafeTensorsFile file)
    {
        const string prefix = "model.";
        var checkpoint = file.Metadata.TryGetValue("format", out var format) && format == Training.TrainingCheckpoint.Format;
        var tensors = new Dictionary<string, Tensors.Tensor>(file.Names.Count, StringComparer.Ordinal);
        foreach (var n in file.Names)
            if (!checkpoint) tensors.Add(n, file.GetTensor(n));
            else if (n.StartsWith(prefix, StringComparison.Ordinal)) tensors.Add(n[prefix.Length..], file.GetTensor(n));
        return tensors;
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
