using System.Text.Json;
using System.Text.Json.Nodes;
using Dicp.Data;
using Dicp.IO;
using Dicp.Models;
using Dicp.Training;

namespace Dicp.Cli;

/// <summary>
/// <c>run-identity.json</c>: what a run directory was trained as, written once when the run starts and never rewritten —
/// the model configuration, the data's identity (environment, split seed and ratio, the collection's settings from its
/// manifest, the train and test tasks used, streams and steps per stream used) and the trainer options it started with.
/// </summary>
/// <remarks>
/// A rerun of <c>dicp train</c> (or <c>dicp quickstart</c>) into the directory must have the same <c>model</c> and
/// <c>data</c> sections, or it is refused naming the keys that differ; trainer options may change (a warning names them).
/// A run directory written before identities existed (<c>run-config.json</c> only) is adopted on its first rerun: the
/// identity is built from its stored <c>run-config.json</c> and the data's manifest, after checking that the stored
/// configuration agrees with the one given.
/// </remarks>
internal sealed record RunIdentity(
    string Format,
    JsonObject Model,
    JsonObject Data,
    JsonObject Training)
{
    /// <summary>The file's name in a run directory.</summary>
    public const string FileName = "run-identity.json";

    /// <summary>The format tag.</summary>
    public const string CurrentFormat = "dicp-run-identity-1";

    /// <summary>The identity of a run of <paramref name="config"/> on the datasets opened for it.</summary>
    public static RunIdentity Of(RunConfig config, HistoryDataset train, HistoryDataset? test)
    {
        var m = train.Manifest;
        var collection = new JsonObject
        {
            ["format_version"] = m.FormatVersion,
            ["algorithm"] = m.Algorithm,
            ["seed"] = m.Seed,
            ["streams"] = m.Streams,
            ["steps_per_stream"] = m.StepsPerStream,
            ["hyperparameters"] = m.Hyperparameters.DeepClone(),
        };
        var data = new JsonObject
        {
            ["environment"] = m.Environment,
            ["split_seed"] = m.Split.Seed,
            ["train_ratio"] = m.Split.TrainRatio,
            ["streams"] = train.Streams,
            ["steps_per_stream"] = train.StepsPerStream,
            ["train_tasks"] = new JsonArray([.. train.Tasks.Select(t => (JsonNode)t.Info.TaskIndex)]),
            ["test_tasks"] = new JsonArray([.. (test?.Tasks ?? []).Select(t => (JsonNode)t.Info.TaskIndex)]),
            ["collection"] = collection,
        };
        return new RunIdentity(CurrentFormat, Node(config.Model), data, Node(config.Training));
    }

    private static JsonObject Node<T>(T value) => JsonSerializer.SerializeToNode(value, RunConfig.Json)!.AsObject();

    /// <summary>The path of the identity of <paramref name="runDirectory"/>.</summary>
    public static string PathIn(string runDirectory) => Path.Combine(runDirectory, FileName);

    /// <summary>Reads the identity of a run directory, or null when it has none (a run of an earlier Dicp).</summary>
    /// <exception cref="ConfigException">The file is unreadable or malformed.</exception>
    public static RunIdentity? TryRead(string runDirectory)
    {
        var path = PathIn(runDirectory);
        if (!File.Exists(path)) return Directory.Exists(path) ? throw new ConfigException($"{path}: a directory where the run's identity file belongs.") : null;
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new JsonException("null");
            JsonObject Section(string key) => o[key] as JsonObject ?? throw new JsonException($"section '{key}' is missing");
            var format = o["format"]?.GetValue<string>();
            if (format != CurrentFormat) throw new JsonException($"format '{format}' is not '{CurrentFormat}'");
            return new RunIdentity(format, Section("model"), Section("data"), Section("training"));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new ConfigException($"{path}: invalid run identity: {e.Message}", e);
        }
    }

    /// <summary>Writes the identity atomically (only ever once per run directory).</summary>
    public void Write(string runDirectory)
    {
        var o = new JsonObject
        {
            ["format"] = Format,
            ["model"] = Model.DeepClone(),
            ["data"] = Data.DeepClone(),
            ["training"] = Training.DeepClone(),
        };
        AtomicFile.WriteAllText(PathIn(runDirectory), o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The model configuration the run was trained with.</summary>
    /// <exception cref="ConfigException">The stored section is not a valid model configuration.</exception>
    public ModelConfig ModelConfig(string runDirectory)
    {
        try
        {
            return Model.Deserialize<ModelConfig>(RunConfig.Json) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{PathIn(runDirectory)}: section 'model' is not a model configuration: {e.Message}", e);
        }
    }

    /// <summary>The split the run was trained with (seed, train ratio).</summary>
    public (int Seed, double TrainRatio) Split => (Data["split_seed"]!.GetValue<int>(), Data["train_ratio"]!.GetValue<double>());

    /// <summary>
    /// Checks that <paramref name="config"/> may train in <paramref name="runDirectory"/> on the opened datasets and
    /// records the run's identity on its first run (or adopts a run directory of an earlier Dicp); returns the warnings
    /// and notices to print.
    /// </summary>
    /// <exception cref="ConfigException">The model or the data differ from the run's (every differing key is named).</exception>
    public static IReadOnlyList<string> Establish(string runDirectory, RunConfig config, HistoryDataset train, HistoryDataset? test)
    {
        var messages = new List<string>();
        var given = Of(config, train, test);
        var stored = TryRead(runDirectory);
        var configPath = Path.Combine(runDirectory, RunConfig.FileName);
        var previous = File.Exists(configPath) ? RunConfig.ReadRun(runDirectory) : null;
        if (stored is null && previous is not null)
        {
            // A run of an earlier Dicp: its run-config.json is what it was trained with.
            var differences = ConfigDiff.Compare(Node(previous.Model), Node(config.Model), "model")
                .Concat(ConfigDiff.Compare(Node(previous.Data), Node(config.Data), "data")).ToList();
            if (differences.Count > 0)
                throw new ConfigException($"{configPath}: the run was trained with another configuration ({ConfigDiff.Describe(differences)}, stored → given); " +
                    "its files are left unchanged: use another --out, or give the configuration it was trained with.");
            stored = given with { Training = Node(previous.Training) };
            stored.Write(runDirectory);
            messages.Add($"note: {runDirectory} was written by an earlier Dicp without {FileName}; adopted its {RunConfig.FileName} and the data's manifest as the run's identity.");
        }
        else if (stored is null)
        {
            given.Write(runDirectory);
        }
        else
        {
            var differences = ConfigDiff.Compare(stored.Model, given.Model, "model").Concat(ConfigDiff.Compare(stored.Data, given.Data, "data")).ToList();
            if (differences.Count > 0)
                throw new ConfigException($"{PathIn(runDirectory)}: the run was trained with another {Describe(differences)} ({ConfigDiff.Describe(differences)}, stored → given); " +
                    "its files are left unchanged: use another --out, or give the configuration and data it was trained with.");
        }
        if (previous is not null)
        {
            var training = ConfigDiff.Compare(Node(previous.Training), Node(config.Training), "training");
            if (training.Count > 0)
                messages.Add($"warning: {runDirectory}: trainer options changed since the last run ({ConfigDiff.Describe(training)}); applying them, so the run differs from one trained with the new options from the start.");
            var other = ConfigDiff.Compare(Node(previous.Evaluation), Node(config.Evaluation), "evaluation")
                .Concat(ConfigDiff.Compare(Node(previous.Planner), Node(config.Planner), "planner")).ToList();
            if (other.Count > 0) messages.Add($"note: {configPath}: evaluation settings updated ({ConfigDiff.Describe(other)}).");
        }
        return messages;
    }

    private static string Describe(IEnumerable<ConfigDifference> d)
    {
        var sections = d.Select(x => x.Key.Split('.')[0]).Distinct().ToArray();
        return sections.Length == 2 ? "model and data" : sections[0] == "model" ? "model configuration" : "data";
    }
}
