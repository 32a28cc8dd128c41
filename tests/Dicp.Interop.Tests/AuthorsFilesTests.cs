using System.Collections;
using System.Text.Json;
using Dicp.Data;
using Dicp.Models;
using Xunit;

namespace Dicp.Interop.Tests;

/// <summary>The authors' files (made by tools/make_authors_fixtures.py with Debian's python3-torch and python3-h5py in
/// the layout their collect_data.py and train.py write) read in .NET without Python.</summary>
public sealed class AuthorsFilesTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    private static JsonElement Expected() => JsonDocument.Parse(File.ReadAllText(Fixture("authors-expected.json"))).RootElement;

    private static float[] Floats(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetSingle())];

    [Fact]
    public void HistoryImportsIntoDicpsFormatStreamMajor()
    {
        var expected = Expected().GetProperty("history");
        int tasks = expected.GetProperty("tasks").GetInt32(), streams = expected.GetProperty("streams").GetInt32(), steps = expected.GetProperty("steps").GetInt32();
        var dir = Directory.CreateTempSubdirectory("dicp-interop-").FullName;
        try
        {
            var options = new AuthorsHistoryOptions("darkroom", [[1, 2], [3, 4]], Train: [0], Test: [1]);
            var manifest = AuthorsHistoryImport.Import(Fixture("authors-darkroom.hdf5"), dir, options);
            Assert.Equal((streams, steps, tasks), (manifest.Streams, manifest.StepsPerStream, manifest.Tasks.Count));
            for (var i = 0; i < tasks; i++)
            {
                var h = TaskHistory.Read(Path.Combine(dir, manifest.Tasks[i].File));
                var e = expected.GetProperty("data")[i];
                Assert.Equal(options.Tasks[i], h.Info.Task);
                Assert.Equal(Floats(e.GetProperty("states")), h.States);
                Assert.Equal(Floats(e.GetProperty("actions")), h.Actions);
                Assert.Equal(Floats(e.GetProperty("rewards")), h.Rewards);
                Assert.Equal(Floats(e.GetProperty("next_states")), h.NextStates);
                Assert.Equal(e.GetProperty("dones").EnumerateArray().Select(v => (byte)v.GetInt32()), h.Dones);
                Assert.Equal(e.GetProperty("optimal_actions").EnumerateArray().Select(v => v.GetInt32()), h.OptimalActions!);
            }
            // Dicp's own reader and window sampler accept the import.
            using var data = HistoryDataset.Open(dir, HistorySplit.Train);
            var sampler = new WindowSampler(data, steps: 4, batchSize: 3, seed: 0);
            var batch = sampler.Next();
            Assert.NotNull(batch.OptimalActions);
            Assert.All(batch.States, v => Assert.InRange(v, 0f, 8f));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void HistoryImportRejectsATaskListOfTheWrongLength()
    {
        var dir = Directory.CreateTempSubdirectory("dicp-interop-").FullName;
        try
        {
            var e = Assert.Throws<ArgumentException>(() => AuthorsHistoryImport.Import(Fixture("authors-darkroom.hdf5"), dir,
                new AuthorsHistoryOptions("darkroom", [[1, 2]], [0], [])));
            Assert.Contains("2 task groups", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void CheckpointStateDictLoadsWithOffsetsAndStridesAndFitsDicpsModel()
    {
        var expected = Expected().GetProperty("checkpoint");
        var state = PtCheckpoint.LoadStateDict(Fixture("authors-ckpt-10.pt"));
        Assert.Equal(expected.EnumerateObject().Select(p => p.Name).Order(), state.Keys.Order());
        foreach (var p in expected.EnumerateObject())
        {
            Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()), state[p.Name].Shape.ToArray());
            Assert.Equal(Floats(p.Value.GetProperty("values")), state[p.Name].ToArray());
        }
        // The reference keys load strictly into Dicp's DICP-AD of the same sizes.
        var model = InContextModels.Create(new ModelConfig(Model: "ad", Dynamics: true, NTransit: 10, EmbeddingDim: 8, Layers: 1, Heads: 2, Inner: 16), seed: 0);
        model.Network.LoadStateDict(state, strict: true);
        Assert.Equal(state["pred_reward.bias"].ToArray(), model.Network.StateDict()["pred_reward.bias"].ToArray());
    }

    [Fact]
    public void CheckpointKeepsStepAndOptimizerState()
    {
        var root = Assert.IsAssignableFrom<IDictionary>(PtCheckpoint.Load(Fixture("authors-ckpt-10.pt")));
        Assert.Equal(Expected().GetProperty("checkpoint_step").GetInt32(), Convert.ToInt32(root["step"]));
        var optimizer = Assert.IsAssignableFrom<IDictionary>(root["optimizer"]);
        var groups = Assert.IsAssignableFrom<IEnumerable>(optimizer["param_groups"]).Cast<IDictionary>().ToList();
        Assert.Equal(0.01, Convert.ToDouble(groups[0]["lr"]), 12);
    }

    [Fact]
    public void NotAPyTorchFileIsRejectedNamingTheFile()
    {
        var e = Assert.Throws<InvalidDataException>(() => PtCheckpoint.Load(Fixture("authors-darkroom.hdf5")));
        Assert.Contains("authors-darkroom.hdf5", e.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => PtCheckpoint.LoadStateDict(Fixture("authors-ckpt-10.pt"), key: "weights"));
        Assert.Contains("'weights'", e2.Message);
    }
}
