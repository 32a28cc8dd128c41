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
        if (m.Streams <= 0) throw new HistoryFormatException(path, "streams", $"must be positive, got {m.Streams}.");
        if (m.StepsPerStream <= 0) throw new HistoryFormatException(path, "steps_per_stream", $"must be positive, got {m.StepsPerStream}.");
        var seen = new HashSet<int>();
        for (var i = 0; i < m.Tasks.Count; i++)
        {
            var t = m.Tasks[i];
            if (t is null || t.Task is null || t.File is null)
                throw new HistoryFormatException(path, $"tasks[{i}]", "lacks index, task or file.");
            if (!seen.Add(t.Index))
                throw new HistoryFormatException(path, $"tasks[{i}].index", $"task {t.Index} is listed twice.");
            if (t.File != HistoryFormat.TaskFileName(t.Index))
                throw new HistoryFormatException(path, $"tasks[{i}].file", $"is '{t.File}', expected '{HistoryFormat.TaskFileName(t.Index)}' for task {t.Index}.");
        }
        return m;
    }

    /// <summary>The metadata the history file of <paramref name="task"/> must carry to belong to this collection.</summary>
    public TaskHistoryInfo Expected(ManifestTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return new TaskHistoryInfo(Environment, task.Index, task.Task, Algorithm, Hyperparameters.ToJsonString(), unchecked(Seed + task.Index), Streams, StepsPerStream);
    }

    /// <summary>
    /// The collection settings on which <paramref name="requested"/> differs from this manifest (environment, algorithm,
    /// hyperparameters by key, seed, streams, steps per stream, split seed and ratio), each as <c>key: THIS (requested R)</c>.
    /// The task lists are not compared.
    /// </summary>
    public IReadOnlyList<string> SettingsDifferences(HistoryManifest requested)
    {
        ArgumentNullException.ThrowIfNull(requested);
        var d = new List<string>();
        void Add<T>(string key, T mine, T theirs)
        {
            if (!EqualityComparer<T>.Default.Equals(mine, theirs))
                d.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{key} {mine} in the directory, {theirs} requested"));
        }
        Add("environment", Environment, requested.Environment);
        Add("algorithm", Algorithm, requested.Algorithm);
        d.AddRange(TaskHistoryInfo.HyperparameterDifferences(Hyperparameters, requested.Hyperparameters)
            .Select(x => $"{x.Key} {x.Value} in the directory, {x.Expected} requested"));
        Add("seed", Seed, requested.Seed);
        Add("streams", Streams, requested.Streams);
        Add("steps_per_stream", StepsPerStream, requested.StepsPerStream);
        Add("split.seed", Split.Seed, requested.Split.Seed);
        Add("split.train_ratio", Split.TrainRatio, requested.Split.TrainRatio);
        return d;
    }
}
