using System.Text.Json;
using System.Text.Json.Nodes;
using Dicp.Evaluation;
using Dicp.Planning;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp evaluate --expect FILE</c>: checks that a fresh evaluation reproduces a results file — the same planner,
/// planner settings, seed and tasks, and bit-identical returns for every episode evaluated (a run of fewer episodes
/// checks the file's first ones: episodes do not depend on how many follow).
/// </summary>
internal static class ResultsCheck
{
    /// <summary>A results file as a JSON object (errors name the file).</summary>
    /// <exception cref="InvalidDataException">Missing, not JSON, or not an object.</exception>
    public static JsonObject ReadObject(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Results file '{path}' does not exist.", path);
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"Results file '{path}' does not hold a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Results file '{path}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// What a results file says of how it was made, for the settings the command line leaves open: planner name, episodes
    /// per task, seed, imagination reserve, and the greedy / deterministic / plan-before-full-window flags (null or false
    /// where the file does not say). Other planner settings (beam K, samples, horizon) come from the run's configuration,
    /// as for any evaluation, and <see cref="CheckSettings"/> refuses a file whose settings differ.
    /// </summary>
    public sealed record FileSettings(string? Planner, int? Episodes, int? Seed, int? ImaginationReserve, bool Greedy, bool Deterministic,
        bool FirstStep);

    /// <summary>Reads <see cref="FileSettings"/> from a results file (errors name the file).</summary>
    /// <exception cref="ConfigException">A planner name this build does not know.</exception>
    public static FileSettings ReadSettings(string path)
    {
        var json = ReadObject(path);
        int? Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;
        bool Flag(string key) => json["planner_settings"]?[key] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
        var planner = json["planner"] is JsonValue p && p.TryGetValue<string>(out var name) ? name : null;
        if (planner is not null && !Planners.Names.Contains(planner))
            throw new ConfigException($"--expect {path}: its planner \"{planner}\" is not one of {string.Join(", ", Planners.Names)}.");
        var firstStep = json["planner_settings"]?["planning_start"] is JsonValue s && s.TryGetValue<string>(out var start)
            && start == PlanningStart.FirstStep.Name();
        return new FileSettings(planner, Int(json["episodes"]), Int(json["seed"]), Int(json["imagination_reserve"]), Flag("greedy"),
            Flag("deterministic"), firstStep);
    }

    /// <summary>
    /// Null when every evaluated return of <paramref name="result"/> equals the file's (<paramref name="expected"/>, as
    /// <see cref="CheckSettings"/> returned them before the evaluation, which checked the settings and the sizes), else a
    /// one-line description of the first difference.
    /// </summary>
    public static string? Compare(EvaluationResult result, IReadOnlyList<int> taskIndices, double[][] expected, string expectPath)
    {
        var episodes = result.Returns[0].Length;
        for (var t = 0; t < expected.Length; t++)
            for (var k = 0; k < episodes; k++)
                if ((float)expected[t][k] != result.Returns[t][k])
                    return $"differs from {expectPath}: task {taskIndices[t]} (row {t}), episode {k + 1}: expected {expected[t][k]}, got {result.Returns[t][k]}";
        return null;
    }

    /// <summary>
    /// Throws unless <paramref name="expectPath"/> was made with these settings — planner, planner settings, seed,
    /// imagination reserve, tasks — and holds at least <paramref name="episodes"/> episodes per task; returns its returns.
    /// Run before the evaluation, so that a mismatch costs no evaluation; <see cref="Compare"/> then compares the returns.
    /// </summary>
    /// <exception cref="ConfigException">The file's settings, tasks or episode count do not allow the comparison (the message names the key).</exception>
    public static double[][] CheckSettings(string planner, IReadOnlyDictionary<string, object> plannerSettings, int seed, int imaginationReserve,
        IReadOnlyList<int> taskIndices, int episodes, string expectPath)
    {
        var expected = PlotCommand.ReadResults(expectPath).Returns;
        var json = ReadObject(expectPath);
        void Same(string key, JsonNode? now)
        {
            var was = json[key]?.ToJsonString() ?? "null";
            if (was != (now?.ToJsonString() ?? "null"))
                throw new ConfigException($"--expect {expectPath}: its {key} is {was}, this evaluation's is {now?.ToJsonString() ?? "null"}; evaluate with the file's settings.");
        }
        Same("planner", JsonValue.Create(planner));
        Same("planner_settings", JsonSerializer.SerializeToNode(plannerSettings));
        Same("seed", JsonValue.Create(seed));
        Same("task_indices", JsonSerializer.SerializeToNode(taskIndices));
        var reserve = json["imagination_reserve"] is JsonValue r && r.TryGetValue<int>(out var v) ? v : 0; // absent: the whole window
        if (reserve != imaginationReserve)
            throw new ConfigException($"--expect {expectPath}: its imagination_reserve is {reserve}, this evaluation's is {imaginationReserve}; " +
                "evaluate with the file's settings (--imagination-reserve or planner.imagination_reserve).");
        if (expected.Length != taskIndices.Count || episodes > expected[0].Length)
            throw new ConfigException($"--expect {expectPath}: holds {expected.Length} tasks × {expected[0].Length} episodes; this evaluation has " +
                $"{taskIndices.Count} × {episodes} (use --episodes ≤ {expected[0].Length}).");
        return expected;
    }
}
