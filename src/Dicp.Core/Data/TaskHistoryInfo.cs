using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dicp.Data;

/// <summary>What a task's history file says about itself (its safetensors metadata).</summary>
/// <param name="Environment">The task family, e.g. <c>darkroom</c>.</param>
/// <param name="TaskIndex">The task's index in the family's canonical order.</param>
/// <param name="Task">The task's parameters (<c>ITaskSet.Describe</c>), e.g. the goal cell.</param>
/// <param name="Algorithm">The source algorithm's name, e.g. <c>ppo</c>.</param>
/// <param name="HyperparametersJson">The source algorithm's hyperparameters as a JSON object.</param>
/// <param name="Seed">The seed of the learner (base seed + task index).</param>
/// <param name="Streams">The number of streams S.</param>
/// <param name="StepsPerStream">The number of steps T per stream.</param>
public sealed record TaskHistoryInfo(string Environment, int TaskIndex, int[] Task, string Algorithm, string HyperparametersJson, int Seed, int Streams, int StepsPerStream)
{
    /// <summary>Whether two descriptions agree (the task array compared by value).</summary>
    public bool Matches(TaskHistoryInfo other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Environment == other.Environment && TaskIndex == other.TaskIndex && Task.AsSpan().SequenceEqual(other.Task)
            && Algorithm == other.Algorithm && HyperparametersJson == other.HyperparametersJson && Seed == other.Seed
            && Streams == other.Streams && StepsPerStream == other.StepsPerStream;
    }

    /// <summary>
    /// The metadata keys on which this description differs from <paramref name="expected"/>, each as
    /// <c>key: VALUE (expected EXPECTED)</c>; hyperparameters are compared as JSON (key order and number spelling
    /// ignored) and named per differing key. Empty when they agree.
    /// </summary>
    public IReadOnlyList<string> Differences(TaskHistoryInfo expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var d = new List<string>();
        void Add<T>(string key, T mine, T theirs)
        {
            if (!EqualityComparer<T>.Default.Equals(mine, theirs))
                d.Add(string.Create(CultureInfo.InvariantCulture, $"{key} {mine} (expected {theirs})"));
        }
        Add("environment", Environment, expected.Environment);
        Add("task_index", TaskIndex, expected.TaskIndex);
        if (!Task.AsSpan().SequenceEqual(expected.Task))
            d.Add($"task [{string.Join(",", Task)}] (expected [{string.Join(",", expected.Task)}])");
        Add("algorithm", Algorithm, expected.Algorithm);
        d.AddRange(HyperparameterDifferences(HyperparametersJson, expected.HyperparametersJson).Select(x => $"{x.Key} {x.Value} (expected {x.Expected})"));
        Add("seed", Seed, expected.Seed);
        Add("streams", Streams, expected.Streams);
        Add("steps_per_stream", StepsPerStream, expected.StepsPerStream);
        return d;
    }

    /// <summary>The hyperparameter keys (<c>hyperparameters.KEY</c>) whose values differ between two JSON objects.</summary>
    internal static IEnumerable<(string Key, string Value, string Expected)> HyperparameterDifferences(string json, string expectedJson)
    {
        if (json == expectedJson) return [];
        JsonObject? a, b;
        try
        {
            a = JsonNode.Parse(json) as JsonObject;
            b = JsonNode.Parse(expectedJson) as JsonObject;
        }
        catch (JsonException)
        {
            a = b = null;
        }
        if (a is null || b is null) return [("hyperparameters", json, expectedJson)];
        return HyperparameterDifferences(a, b);
    }

    /// <summary>The keys whose values differ between two hyperparameter objects (numbers compared by value).</summary>
    internal static IEnumerable<(string Key, string Value, string Expected)> HyperparameterDifferences(JsonObject a, JsonObject b)
    {
        var keys = a.Select(p => p.Key).Union(b.Select(p => p.Key)).Order(StringComparer.Ordinal);
        foreach (var k in keys)
        {
            var x = a[k];
            var y = b[k];
            if (!SameValue(x, y))
                yield return ($"hyperparameters.{k}", x?.ToJsonString() ?? "(missing)", y?.ToJsonString() ?? "(missing)");
        }
    }

    private static bool SameValue(JsonNode? x, JsonNode? y)
    {
        if (x is JsonValue vx && y is JsonValue vy && vx.GetValueKind() == JsonValueKind.Number && vy.GetValueKind() == JsonValueKind.Number)
            return vx.GetValue<double>() == vy.GetValue<double>();
        return JsonNode.DeepEquals(x, y);
    }
}
