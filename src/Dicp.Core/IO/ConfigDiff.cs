using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dicp.IO;

/// <summary>One key whose value differs between a stored configuration and a given one.</summary>
/// <param name="Key">The dotted key, e.g. <c>model.heads</c>.</param>
/// <param name="Stored">The stored value as JSON (null: the key is absent there).</param>
/// <param name="Given">The given value as JSON (null: the key is absent there).</param>
public sealed record ConfigDifference(string Key, string? Stored, string? Given)
{
    /// <summary><c>key stored → given</c>, long values shortened.</summary>
    public override string ToString() => $"{Key} {Short(Stored)} → {Short(Given)}";

    private static string Short(string? v) => v is null ? "(absent)" : v.Length <= 48 ? v : v[..45] + "...";
}

/// <summary>Key-by-key comparison of two JSON configurations (objects are walked, arrays and values compared whole).</summary>
public static class ConfigDiff
{
    /// <summary>The keys whose values differ, in the order they appear (stored keys first, then keys only given).</summary>
    /// <param name="stored">The recorded configuration.</param>
    /// <param name="given">The configuration asked for now.</param>
    /// <param name="prefix">Prepended to every key (e.g. <c>model</c>).</param>
    public static IReadOnlyList<ConfigDifference> Compare(JsonNode? stored, JsonNode? given, string prefix = "")
    {
        var result = new List<ConfigDifference>();
        Walk(stored, given, prefix, result);
        return result;
    }

    /// <summary>Compares two objects serialised with the same options.</summary>
    public static IReadOnlyList<ConfigDifference> Compare<T>(T stored, T given, JsonSerializerOptions options, string prefix = "") =>
        Compare(JsonSerializer.SerializeToNode(stored, options), JsonSerializer.SerializeToNode(given, options), prefix);

    /// <summary>The differences as one line: <c>model.heads 4 → 2, model.layers 2 → 1</c>.</summary>
    public static string Describe(IEnumerable<ConfigDifference> differences) => string.Join(", ", differences);

    private static void Walk(JsonNode? a, JsonNode? b, string key, List<ConfigDifference> result)
    {
        if (a is JsonObject oa && b is JsonObject ob)
        {
            foreach (var (k, v) in oa) Walk(v, ob.TryGetPropertyValue(k, out var w) ? w : Absent, Join(key, k), result);
            foreach (var (k, w) in ob)
                if (!oa.ContainsKey(k)) Walk(Absent, w, Join(key, k), result);
            return;
        }
        if (!Same(a, b)) result.Add(new ConfigDifference(key, Text(a), Text(b)));
    }

    // A marker for "the key is absent" (distinct from a JSON null value).
    private static readonly JsonNode Absent = JsonValue.Create("\u0000absent")!;

    private static string Join(string prefix, string key) => prefix.Length == 0 ? key : prefix + "." + key;

    private static string? Text(JsonNode? n) => ReferenceEquals(n, Absent) ? null : n?.ToJsonString() ?? "null";

    private static bool Same(JsonNode? a, JsonNode? b)
    {
        if (ReferenceEquals(a, Absent) || ReferenceEquals(b, Absent)) return ReferenceEquals(a, b);
        if (a is JsonValue va && b is JsonValue vb && va.GetValueKind() == JsonValueKind.Number && vb.GetValueKind() == JsonValueKind.Number)
            return double.Parse(va.ToJsonString(), CultureInfo.InvariantCulture) == double.Parse(vb.ToJsonString(), CultureInfo.InvariantCulture);
        return JsonNode.DeepEquals(a, b);
    }
}
