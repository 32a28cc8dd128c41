using System.Text.Json;
using System.Text.Json.Serialization;
using Dicp.IO;

namespace Dicp.Models;

/// <summary>
/// The one JSON form of <see cref="ModelConfig"/>: snake_case keys, used in model files and checkpoints (the
/// <c>model_config</c> metadata), in run directories and wherever a configuration is embedded in another JSON document
/// (through <see cref="Converter"/>).
/// </summary>
/// <remarks>
/// Keys are the record's property names in snake_case (<c>n_transit</c>, <c>embedding_dim</c>, <c>dynamics_coefficient</c>, …).
/// Missing keys take the record's defaults; unknown keys are an error. The parsed configuration is validated with
/// <see cref="InContextModels.Validate"/>. Every file Dicp has written (model files, checkpoints, run configurations
/// and identities) uses these keys, so all of them read back with this one reader.
/// </remarks>
public static class ModelConfigJson
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static readonly JsonSerializerOptions Compact = new(Indented) { WriteIndented = false };

    /// <summary>The serializer settings of the form (compact), e.g. to compare two configurations key by key.</summary>
    public static JsonSerializerOptions Options => Compact;

    /// <summary>Reads and writes a <see cref="ModelConfig"/> embedded in another JSON document in this form (validated on reading).</summary>
    public static JsonConverter<ModelConfig> Converter { get; } = new ModelConfigConverter();

    /// <summary>The configuration as JSON (indented for files people read, compact for metadata).</summary>
    public static string Serialize(ModelConfig config, bool indented = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        return JsonSerializer.Serialize(config, indented ? Indented : Compact);
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
        try { config = JsonSerializer.Deserialize<ModelConfig>(json, Compact); }
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

    /// <summary>Embeds the form in other documents; invalid values become <see cref="JsonException"/>s naming the field.</summary>
    private sealed class ModelConfigConverter : JsonConverter<ModelConfig>
    {
        public override ModelConfig Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            try
            {
                return Deserialize(document.RootElement.GetRawText(), "model");
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new JsonException(e.Message, e);
            }
        }

        public override void Write(Utf8JsonWriter writer, ModelConfig value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value, Compact);
    }
}
