using System.Globalization;
using System.Text.Json;
using Dicp.IO;

namespace Dicp.Data;

/// <summary>What a validated history header says: the description, the sizes and whether optimal actions are stored.</summary>
internal sealed record HistoryLayout(TaskHistoryInfo Info, int ObservationSize, int ActionSize, bool HasOptimalActions);

/// <summary>
/// Header checks shared by <see cref="TaskHistory.Read"/> and <see cref="MappedTaskHistory.Open"/>: metadata keys,
/// format version, dtypes and shapes, each failure naming the file and the field.
/// </summary>
internal static class HistoryValidation
{
    /// <summary>Validates the metadata and the array descriptions of a history file.</summary>
    /// <param name="path">The file, for messages.</param>
    /// <param name="metadata">The safetensors metadata.</param>
    /// <param name="describe">The dtype and shape of an array, or null when the file lacks it.</param>
    public static HistoryLayout Validate(string path, IReadOnlyDictionary<string, string> metadata, Func<string, SafeTensorInfo?> describe)
    {
        var version = MetaInt(path, metadata, "format_version");
        if (version != HistoryFormat.Version)
            throw new HistoryFormatException(path, "format_version", $"format version {version} is not supported (this Dicp reads version {HistoryFormat.Version}).");
        int s = MetaInt(path, metadata, "streams"), t = MetaInt(path, metadata, "steps_per_stream");
        if (s <= 0) throw new HistoryFormatException(path, "streams", $"must be positive, got {s}.");
        if (t <= 0) throw new HistoryFormatException(path, "steps_per_stream", $"must be positive, got {t}.");
        int[] task;
        try
        {
            task = JsonSerializer.Deserialize<int[]>(Meta(path, metadata, "task")) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new HistoryFormatException(path, "task", "is not a JSON array of integers.", e);
        }
        var info = new TaskHistoryInfo(Meta(path, metadata, "environment"), MetaInt(path, metadata, "task_index"), task, Meta(path, metadata, "algorithm"),
            Meta(path, metadata, "hyperparameters"), MetaInt(path, metadata, "seed"), s, t);

        var obs = Shape(path, describe, HistoryFormat.States, SafeTensorDType.F32, s, t, -1)[2];
        var act = Shape(path, describe, HistoryFormat.Actions, SafeTensorDType.F32, s, t, -1)[2];
        Shape(path, describe, HistoryFormat.Rewards, SafeTensorDType.F32, s, t);
        Shape(path, describe, HistoryFormat.NextStates, SafeTensorDType.F32, s, t, obs);
        Shape(path, describe, HistoryFormat.Dones, SafeTensorDType.U8, s, t);
        var hasOptimal = describe(HistoryFormat.OptimalActions) is not null;
        if (hasOptimal) Shape(path, describe, HistoryFormat.OptimalActions, SafeTensorDType.I32, s, t);
        if (obs <= 0 || act <= 0) throw new HistoryFormatException(path, obs <= 0 ? HistoryFormat.States : HistoryFormat.Actions, "has an empty last dimension.");
        return new HistoryLayout(info, obs, act, hasOptimal);
    }

    /// <summary>Throws unless every done flag is 0 or 1.</summary>
    public static void CheckDones(string path, ReadOnlySpan<byte> dones)
    {
        var bad = dones.IndexOfAnyExcept((byte)0, (byte)1);
        if (bad >= 0) throw new HistoryFormatException(path, HistoryFormat.Dones, $"holds {dones[bad]} at flat index {bad}; dones are 0 or 1.");
    }

    /// <summary>Checks dtype and shape <c>[s, t(, k)]</c> (<c>k = −1</c>: any) and returns the shape.</summary>
    private static int[] Shape(string path, Func<string, SafeTensorInfo?> describe, string name, SafeTensorDType dtype, int s, int t, int? k = null)
    {
        var info = describe(name) ?? throw new HistoryFormatException(path, name, "is missing.");
        if (info.DType != dtype) throw new HistoryFormatException(path, name, $"has dtype {info.DType}, expected {dtype}.");
        var rank = k is null ? 2 : 3;
        var ok = info.Shape.Length == rank && info.Shape[0] == s && info.Shape[1] == t && (k is null or -1 || info.Shape[2] == k);
        if (!ok)
        {
            var expected = k is null ? $"[{s}, {t}]" : k == -1 ? $"[{s}, {t}, *]" : $"[{s}, {t}, {k}]";
            throw new HistoryFormatException(path, name, $"has shape [{string.Join(", ", info.Shape)}], expected {expected}.");
        }
        return info.Shape;
    }

    private static string Meta(string path, IReadOnlyDictionary<string, string> m, string key) =>
        m.TryGetValue(key, out var v) ? v : throw new HistoryFormatException(path, key, "is missing from the metadata.");

    private static int MetaInt(string path, IReadOnlyDictionary<string, string> m, string key)
    {
        var v = Meta(path, m, key);
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
            ? i : throw new HistoryFormatException(path, key, $"'{v}' is not an integer.");
    }
}
