using System.Text.Json;
using System.Text.Json.Serialization;
using Dicp.IO;

namespace Dicp.Models;

/// <summary>Reads and writes <see cref="ModelConfig"/> as JSON with snake_case keys (checkpoints' <c>config.json</c>).</summary>
/// <remarks>
/// Keys are the record's property names in snake_case (<c>n_transit</c>, <c>embedding_dim</c>, <c>dynamics_coefficient</c>, …).
/// Missing keys take the record's defaults; unknown keys are an error. The parsed configuration is validated with
/// <see cref="InContextModels.Validate"/>.
/// </remarks>
public static class ModelConfigJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The configuration as indented JSON.</summary>
    public static string Serialize(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return JsonSerializer.Serialize(config, Options);
    }

    /// <summary>Parses and validates a configuration.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Names the origin (a file) in error messages.</param>
    /// <exception cref="FormatException">The text is not a valid configuration object (unknown key, wrong type).</exception>
    /// <exception cref="ArgumentException">A field has an invalid value (named in the message).</exception>
    public static ModelConfig Deserialize(string json, string source = "model config")
    {
        ArgumentNullException.ThrowIfNull(json);
        ModelConfig? config;
        try { config = JsonSerializer.Deserialize<ModelConfig>(json, Options); }
        catch (JsonException e) { throw new FormatException($"{source}: invalid model configuration JSON: {e.Message}", e); }
        if (config is null) throw new FormatException($"{source}: the model configuration is null.");
        InContextModels.Validate(config);
        return config;
    }

    /// <summary>Writes the configuration to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, ModelConfig config) => AtomicFile.WriteAllText(path, Serialize(config));

    /// <summary>Reads and validates a configuration file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static ModelConfig Read(string path) => Deserialize(File.ReadAllText(path), path);
}
