using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Dicp.IO;

namespace Dicp.Data;

/// <summary>One task of a <see cref="HistoryManifest"/>.</summary>
/// <param name="Index">The task's index in the family's canonical order.</param>
/// <param name="Task">The task's parameters (e.g. the goal cell).</param>
/// <param name="File">The history file, relative to the manifest.</param>
public sealed record ManifestTask(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("task")] int[] Task,
    [property: JsonPropertyName("file")] string File);

/// <summary>The train/test split recorded in a <see cref="HistoryManifest"/>.</summary>
/// <param name="Seed">The split seed.</param>
/// <param name="TrainRatio">The train fraction.</param>
/// <param name="Train">The train task indices (shuffled order).</param>
/// <param name="Test">The test task indices (shuffled order).</param>
public sealed record ManifestSplit(
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("train_ratio")] double TrainRatio,
    [property: JsonPropertyName("train")] int[] Train,
    [property: JsonPropertyName("test")] int[] Test);

/// <summary>
/// <c>manifest.json</c>: what a history directory holds and how it was made. Written atomically; contains no
/// timestamps, so equal collections have byte-identical manifests.
/// </summary>
/// <param name="FormatVersion">The history format version (<see cref="HistoryFormat.Version"/>).</param>
/// <param name="Environment">The task family, e.g. <c>darkroom</c>.</param>
/// <param name="Tasks">The collected tasks.</param>
/// <param name="Split">The train/test split of the family.</param>
/// <param name="Algorithm">The source algorithm's name.</param>
/// <param name="Hyperparameters">The source algorithm's hyperparameters.</param>
/// <param name="Seed">The base seed; task <c>i</c>'s learner uses <c>Seed + i</c>.</param>
/// <param name="Streams">Streams per task.</param>
/// <param name="StepsPerStream">Steps per stream.</param>
public sealed record HistoryManifest(
    [property: JsonPropertyName("format_version")] int FormatVersion,
    [property: JsonPropertyName("environment")] string Environment,
    [property: JsonPropertyName("tasks")] IReadOnlyList<ManifestTask> Tasks,
    [property: JsonPropertyName("split")] ManifestSplit Split,
    [property: JsonPropertyName("algorithm")] string Algorithm,
    [property: JsonPropertyName("hyperparameters")] JsonObject Hyperparameters,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("streams")] int Streams,
    [property: JsonPropertyName("steps_per_stream")] int StepsPerStream)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The manifest as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Writes <see cref="HistoryFormat.ManifestFileName"/> in <paramref name="directory"/> atomically.</summary>
    public void Write(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllText(Path.Combine(directory, HistoryFormat.ManifestFileName), ToJson() + "\n");
    }

    /// <summary>Reads the manifest of <paramref name="directory"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no manifest.</exception>
    /// <exception cref="HistoryFormatException">It is not valid JSON, lacks a field or has another format version.</exception>
    public static HistoryManifest Read(string directory)
    {
        var path = Path.Combine(directory, HistoryFormat.ManifestFileName);
        HistoryManifest? m;
        try
        {
            m = JsonSerializer.Deserialize<HistoryManifest>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new HistoryFormatException(path, e.Path, $"invalid manifest JSON: {e.Message}", e);
        }
        if (m is null) throw new HistoryFormatException(path, null, "the manifest is null.");
        if (m.FormatVersion != HistoryFormat.Version)
            throw new HistoryFormatException(path, "format_version", $"format version {m.FormatVersion} is not supported (this Dicp reads version {HistoryFormat.Version}).");
        if (m.Environment is null || m.Tasks is null || m.Split is null || m.Algorithm is null || m.Hyperparameters is null)
            throw new HistoryFormatException(path, null, "a required field (environment, tasks, split, algorithm, hyperparameters) is missing.");
        return m;
    }
}
