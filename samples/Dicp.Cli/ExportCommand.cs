using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dicp.Data;
using Dicp.IO;
using Dicp.Training;
using Dicp.Cli.Plotting;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp export --run RUN --data DATA --out models/NAME [--results FILE ...] [--force]</c>: makes a shipped model
/// folder from a finished run — the model (<c>model.safetensors</c>: weights and model configuration), the run's
/// configuration and identity, the evaluation results given, and <c>model-card.json</c>: the data's identity
/// (environment, split, streams × steps, collection seed, SHA-256 of the manifest and of every history file), the
/// training steps and final metrics, and each result's mean return at episodes 10 and 50 with 95 % intervals.
/// </summary>
/// <remarks>
/// <c>dicp evaluate --run models/NAME --expect models/NAME/FILE</c> (with the planner and seed the file records)
/// reproduces a shipped result exactly, without data or training. The folder is written in a temporary sibling and
/// renamed, so a crash leaves either the old folder or the new one.
/// </remarks>
internal static class ExportCommand
{
    /// <summary>The card's file name in a shipped model folder.</summary>
    public const string CardFileName = "model-card.json";

    /// <summary>The card's format tag.</summary>
    public const string CardFormat = "dicp-model-card-1";

    /// <summary>The episodes (1-based) whose mean return the card states: the paper's steps 200 and 1000 on Darkroom.</summary>
    internal static readonly int[] CardEpisodes = [10, 50];

    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Finished run directory (with model.safetensors).", Required = true };
        var data = new Option<string>("--data") { Description = "The history collection the run was trained on (its identity goes into the card).", Required = true };
        var output = new Option<string>("--out") { Description = "The shipped model folder, e.g. models/dicp-ad-darkroom.", Required = true };
        var results = new Option<string[]>("--results") { Description = "Results files of dicp evaluate to ship with the model (copied under their file names).", AllowMultipleArgumentsPerToken = true };
        var force = new Option<bool>("--force") { Description = "Replace an existing folder." };
        var cmd = new Command("export", "Make a shipped model folder (model, configuration, data identity, metrics, results) from a finished run.")
            { run, data, output, results, force };
        cmd.SetAction((parse, _) => Task.FromResult(Run(parse.GetValue(run)!, parse.GetValue(data)!, parse.GetValue(output)!,
            parse.GetValue(results) ?? [], parse.GetValue(force))));
        return cmd;
    }

    /// <summary>Runs the command; returns the exit code (0 done, 2 bad input).</summary>
    internal static int Run(string runDir, string dataDir, string outDir, string[] results, bool force)
    {
        try
        {
            var model = Path.Combine(runDir, Trainer.ModelFileName);
            if (!File.Exists(model)) throw new ConfigException($"{runDir}: no {Trainer.ModelFileName}; only a finished run can be exported.");
            var identity = RunIdentity.TryRead(runDir) ?? throw new ConfigException($"{runDir}: no {RunIdentity.FileName}; train it with this Dicp first.");
            _ = RunConfig.ReadRun(runDir);
            var manifest = HistoryManifest.Read(dataDir);
            var card = new JsonObject
            {
                ["format"] = CardFormat,
                ["name"] = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir))),
                ["model"] = identity.Model.DeepClone(),
                ["data"] = DataIdentity(identity, manifest, dataDir),
                ["training"] = TrainingSummary(runDir, identity),
                ["results"] = new JsonArray([.. results.Select(r => (JsonNode)ResultSummary(r))]),
            };
            if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any() && !force)
                throw new ConfigException($"--out {outDir}: exists and is not empty (add --force to replace it).");
            var full = Path.GetFullPath(outDir);
            var staging = full + $".tmp-{Environment.ProcessId}";
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            Directory.CreateDirectory(staging);
            foreach (var f in new[] { Trainer.ModelFileName, RunConfig.FileName, RunIdentity.FileName })
                File.Copy(Path.Combine(runDir, f), Path.Combine(staging, f));
            foreach (var r in results) File.Copy(r, Path.Combine(staging, Path.GetFileName(r)), overwrite: true);
            File.WriteAllText(Path.Combine(staging, CardFileName), card.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
            Directory.Move(staging, full);
            Console.Out.WriteLine($"wrote {outDir}: {Trainer.ModelFileName} ({new FileInfo(Path.Combine(full, Trainer.ModelFileName)).Length / 1024} KB), " +
                $"{CardFileName}, {results.Length} results file(s)");
            return 0;
        }
        catch (Exception e) when (CliErrors.IsUserError(e) || e is HistoryFormatException)
        {
            return CliErrors.Report(e is HistoryFormatException ? new ConfigException(e.Message, e) : e);
        }
    }

    /// <summary>The data's identity: the run's recorded data section, checked against the collection, plus content hashes.</summary>
    private static JsonObject DataIdentity(RunIdentity identity, HistoryManifest manifest, string dataDir)
    {
        var d = identity.Data;
        string Get(string key) => d[key]?.ToJsonString() ?? "null";
        void Check(string key, object value)
        {
            var recorded = Get(key);
            var actual = JsonSerializer.Serialize(value);
            if (recorded != actual)
                throw new ConfigException($"--data {dataDir}: its manifest's {key} is {actual} but the run was trained on {recorded}; give the collection it was trained on.");
        }
        Check("environment", manifest.Environment);
        var collection = d["collection"] as JsonObject ?? throw new ConfigException($"{RunIdentity.FileName}: data.collection is missing.");
        if (collection["seed"]?.GetValue<int>() != manifest.Seed || collection["streams"]?.GetValue<int>() != manifest.Streams
            || collection["steps_per_stream"]?.GetValue<int>() != manifest.StepsPerStream || collection["algorithm"]?.GetValue<string>() != manifest.Algorithm)
            throw new ConfigException($"--data {dataDir}: collected with seed {manifest.Seed}, {manifest.Streams} streams × {manifest.StepsPerStream} steps by " +
                $"{manifest.Algorithm}, but the run's data.collection is {collection.ToJsonString()}; give the collection it was trained on.");
        var files = new JsonObject();
        foreach (var t in manifest.Tasks.OrderBy(t => t.File, StringComparer.Ordinal))
            files[t.File] = Sha256(Path.Combine(dataDir, t.File));
        var histories = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(files.ToJsonString())));
        return new JsonObject
        {
            ["environment"] = manifest.Environment,
            ["split_seed"] = d["split_seed"]?.DeepClone(),
            ["train_ratio"] = d["train_ratio"]?.DeepClone(),
            ["streams"] = d["streams"]?.DeepClone(),
            ["steps_per_stream"] = d["steps_per_stream"]?.DeepClone(),
            ["collection_seed"] = manifest.Seed,
            ["collection_streams"] = manifest.Streams,
            ["collection_steps_per_stream"] = manifest.StepsPerStream,
            ["algorithm"] = manifest.Algorithm,
            ["manifest_sha256"] = Sha256(Path.Combine(dataDir, HistoryFormat.ManifestFileName)),
            ["histories_sha256"] = histories,
            ["train_tasks"] = d["train_tasks"]?.DeepClone(),
            ["test_tasks"] = d["test_tasks"]?.DeepClone(),
        };
    }

    private static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>Steps trained, the last row of metrics.csv and the last row that has test metrics.</summary>
    private static JsonObject TrainingSummary(string runDir, RunIdentity identity)
    {
        var path = Path.Combine(runDir, Trainer.MetricsFileName);
        if (!File.Exists(path)) throw new ConfigException($"{path}: missing; the run has no metrics.");
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        if (lines.Length < 2) throw new ConfigException($"{path}: no metric rows.");
        var header = lines[0].Split(',');
        JsonObject Row(string line)
        {
            var cells = line.Split(',');
            var o = new JsonObject();
            for (var i = 0; i < header.Length && i < cells.Length; i++)
                if (cells[i].Length > 0) o[header[i]] = double.Parse(cells[i], CultureInfo.InvariantCulture);
            return o;
        }
        var last = Row(lines[^1]);
        var testIndex = Array.IndexOf(header, "test_loss");
        var lastTest = testIndex < 0 ? null : lines.Skip(1).Reverse().FirstOrDefault(l => l.Split(',') is var c && c.Length > testIndex && c[testIndex].Length > 0);
        return new JsonObject
        {
            ["steps"] = last["step"]?.DeepClone(),
            ["options"] = identity.Training.DeepClone(),
            ["final"] = last,
            ["final_test"] = lastTest is null ? null : Row(lastTest),
        };
    }

    /// <summary>What the card says of a results file: planner, settings and the mean return at <see cref="CardEpisodes"/> with a 95 % t-interval over tasks.</summary>
    private static JsonObject ResultSummary(string path)
    {
        var returns = PlotCommand.ReadResults(path).Returns;
        var json = ResultsCheck.ReadObject(path);
        int episodes = returns[0].Length;
        var curve = LearningCurve.FromReturns("", returns);
        var at = new JsonObject();
        foreach (var k in CardEpisodes.Where(k => k <= episodes))
            at[k.ToString(CultureInfo.InvariantCulture)] = Interval(curve, k - 1);
        at["all"] = Interval(LearningCurve.FromReturns("", returns.Select(r => new[] { r.Average() }).ToArray()), 0);
        return new JsonObject
        {
            ["file"] = Path.GetFileName(path),
            ["label"] = json["label"]?.DeepClone(),
            ["planner"] = json["planner"]?.DeepClone(),
            ["planner_settings"] = json["planner_settings"]?.DeepClone(),
            ["episodes"] = episodes,
            ["seed"] = json["seed"]?.DeepClone(),
            ["tasks"] = returns.Length,
            ["mean_return_at_episode"] = at,
        };
    }

    /// <summary>Mean of episode <paramref name="j"/> of <paramref name="curve"/> and the half-width of its 95 % Student-t interval over the runs.</summary>
    private static JsonObject Interval(LearningCurve curve, int j) => new()
    {
        ["mean"] = Math.Round(curve.Mean[j], 4),
        ["ci95"] = Math.Round(curve.Upper[j] - curve.Mean[j], 4),
        ["n"] = curve.Runs,
    };
}
