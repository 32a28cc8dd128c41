using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Dicp.Core.Tests.TestUtil;
using Xunit;

namespace Dicp.Cli.Tests;

/// <summary>
/// <c>dicp export</c> (a shipped model folder with its card) and <c>dicp evaluate --expect</c> (a shipped result
/// reproduced exactly), on a tiny run; and every model shipped in the repository's <c>models/</c> folder reproducing the
/// first episodes of each of its results files.
/// </summary>
public sealed class ShippedModelsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dicp-ship-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void ExportWritesTheCardAndEvaluateExpectReproducesTheShippedResult()
    {
        var (data, config) = PipelineTests.WriteTinyDicpAd(_root);
        var run = Path.Combine(_root, "run");
        Assert.Equal(0, TrainCommand.Run(config, data, run, null, null, CancellationToken.None));
        var beam = Path.Combine(_root, "beam.json");
        Assert.Equal(0, EvaluateCommand.Run(run, null, "test", beam, false, null, new EvaluateCommand.PlannerOverrides(null), null, CancellationToken.None));

        var shipped = Path.Combine(_root, "models", "dicp-ad-tiny");
        Assert.Equal(0, ExportCommand.Run(run, data, shipped, [beam], force: false));
        var card = JsonNode.Parse(File.ReadAllText(Path.Combine(shipped, ExportCommand.CardFileName)))!.AsObject();
        Assert.Equal(ExportCommand.CardFormat, card["format"]!.GetValue<string>());
        Assert.Equal("dicp-ad-tiny", card["name"]!.GetValue<string>());
        Assert.Equal(4, card["training"]!["steps"]!.GetValue<double>());
        Assert.NotNull(card["training"]!["final_test"]!["test_loss"]);
        var d = card["data"]!;
        Assert.Equal("darkroom", d["environment"]!.GetValue<string>());
        Assert.Equal(Hash(Path.Combine(data, "manifest.json")), d["manifest_sha256"]!.GetValue<string>());
        Assert.Equal(64, d["histories_sha256"]!.GetValue<string>().Length);
        var result = card["results"]![0]!;
        Assert.Equal("beam.json", result["file"]!.GetValue<string>());
        var returns = PlotCommand.ReadResults(beam).Returns;
        Assert.Equal(returns.Average(r => r.Average()), result["mean_return_at_episode"]!["all"]!["mean"]!.GetValue<double>(), 4);
        foreach (var f in new[] { "model.safetensors", "run-config.json", "run-identity.json", "beam.json" })
            Assert.True(File.Exists(Path.Combine(shipped, f)), f);

        // Refuses to overwrite, and refuses a collection the run was not trained on.
        Assert.Equal(2, ExportCommand.Run(run, data, shipped, [beam], force: false));
        var other = Path.Combine(_root, "other");
        SyntheticHistories.WriteDarkroom(other, [24, 48, 26, 75, 38, 51], streams: 2, steps: 100, [24, 48, 26, 75], [38, 51]);
        Assert.Equal(2, ExportCommand.Run(run, other, Path.Combine(_root, "models", "x"), [], force: false));

        // The shipped folder evaluates without data or training, to the same returns (all episodes and a prefix).
        var shippedBeam = Path.Combine(shipped, "beam.json");
        Assert.Equal(0, Expect(shipped, 2, shippedBeam));
        Assert.Equal(0, Expect(shipped, 1, shippedBeam));
        Assert.False(File.Exists(Path.Combine(shipped, "results.json")));

        // --expect alone re-runs the file as it was made: its planner (here none, though the run's configuration plans),
        // its episode count and its seed; a planner or seed on the command line that contradicts the file is refused.
        var none = Path.Combine(_root, "none.json");
        Assert.Equal(0, EvaluateCommand.Run(run, 3, "test", none, false, 5, new EvaluateCommand.PlannerOverrides("none"), null, CancellationToken.None));
        Assert.Equal(0, EvaluateCommand.Run(shipped, null, "test", null, false, null, new EvaluateCommand.PlannerOverrides(null), null,
            CancellationToken.None, expect: none));
        Assert.Equal(2, EvaluateCommand.Run(shipped, null, "test", null, false, 0, new EvaluateCommand.PlannerOverrides(null), null,
            CancellationToken.None, expect: none));
        Assert.Equal(2, EvaluateCommand.Run(shipped, null, "test", null, false, null, new EvaluateCommand.PlannerOverrides("beam"), null,
            CancellationToken.None, expect: none));

        // A changed return is found (exit 1); other settings or more episodes than the file holds are user errors (exit 2).
        var tampered = Path.Combine(_root, "tampered.json");
        var json = JsonNode.Parse(File.ReadAllText(shippedBeam))!.AsObject();
        json["returns"]![1]![1] = returns[1][1] + 1;
        File.WriteAllText(tampered, json.ToJsonString());
        Assert.Equal(1, Expect(shipped, 2, tampered));
        Assert.Equal(0, Expect(shipped, 1, tampered));
        Assert.Equal(2, Expect(shipped, 3, shippedBeam));
        Assert.Equal(2, EvaluateCommand.Run(shipped, 2, "test", null, false, seed: 1, new EvaluateCommand.PlannerOverrides(null), null, CancellationToken.None,
            expect: shippedBeam));
        Assert.Equal(2, EvaluateCommand.Run(shipped, 2, "test", null, false, null, new EvaluateCommand.PlannerOverrides("none"), null, CancellationToken.None,
            expect: shippedBeam));
    }

    /// <summary>
    /// Every folder of the repository's <c>models/</c> reproduces each of its results files over the first episodes that
    /// include planning (policy-only files: three episodes), with the planner and seed its card records.
    /// </summary>
    [Fact]
    public void EveryShippedModelReproducesItsShippedResults()
    {
        var models = Path.Combine(RepositoryRoot(), "models");
        var folders = Directory.GetDirectories(models).Where(f => File.Exists(Path.Combine(f, ExportCommand.CardFileName))).OrderBy(f => f).ToArray();
        Assert.NotEmpty(folders);
        foreach (var folder in folders)
        {
            var card = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, ExportCommand.CardFileName)))!.AsObject();
            var results = card["results"]!.AsArray();
            Assert.NotEmpty(results);
            foreach (var r in results)
            {
                var file = Path.Combine(folder, r!["file"]!.GetValue<string>());
                var planner = r["planner"]!.GetValue<string>();
                var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
                var stepsPerEpisode = json["steps_per_episode"]!.GetValue<int>();
                var nTransit = card["model"]!["n_transit"]!.GetValue<int>();
                // The first planned step is n_transit: check through the episode that holds it.
                var episodes = Math.Min(r["episodes"]!.GetValue<int>(), planner == "none" ? 3 : nTransit / stepsPerEpisode + 1);
                // Planner and seed: the file's (--expect), which the card records too.
                Assert.Equal(planner, json["planner"]!.GetValue<string>());
                Assert.Equal(r["seed"]!.GetValue<int>(), json["seed"]!.GetValue<int>());
                // The card's documented means are the file's: mean over the held-out goals of each listed episode.
                var returns = json["returns"]!.AsArray().Select(t => t!.AsArray().Select(x => x!.GetValue<double>()).ToArray()).ToArray();
                Assert.Equal(r["tasks"]!.GetValue<int>(), returns.Length);
                foreach (var (key, value) in r["mean_return_at_episode"]!.AsObject())
                {
                    if (key == "all") continue;
                    var episode = int.Parse(key, System.Globalization.CultureInfo.InvariantCulture);
                    Assert.Equal(returns.Average(t => t[episode - 1]), value!["mean"]!.GetValue<double>(), 3);
                }
                var code = EvaluateCommand.Run(folder, episodes, "test", null, false, null,
                    new EvaluateCommand.PlannerOverrides(null), null, CancellationToken.None, expect: file);
                Assert.True(code == 0, $"{folder}: {file} not reproduced (exit {code})");
            }
        }
    }

    private static int Expect(string run, int episodes, string file) =>
        EvaluateCommand.Run(run, episodes, "test", null, false, null, new EvaluateCommand.PlannerOverrides(null), null, CancellationToken.None, expect: file);

    private static string Hash(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Dicp.sln"))) return d.FullName;
        throw new InvalidOperationException("Dicp.sln not found above the test's folder.");
    }
}
