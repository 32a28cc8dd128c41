using System.Xml.Linq;
using Dicp.IO;
using Dicp.Training;
using Xunit;

namespace Dicp.Cli.Tests;

/// <summary><c>dicp quickstart</c> end to end at a tiny size, and the plot command on its results.</summary>
public sealed class QuickstartTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dicp-quickstart-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private QuickstartCommand.Options Tiny(string dir) =>
        new(dir, Steps: 30, Episodes: 4, Streams: 4, StepsPerStream: 100, TrainTasks: 3, Quiet: true);

    [Fact]
    public async Task TinyQuickstartWritesEveryOutputAndAResumedRunReproducesIt()
    {
        var dir = Path.Combine(_root, "qs");
        var outcome = await QuickstartCommand.RunAsync(Tiny(dir), CancellationToken.None);

        // Histories: 3 train goals + the 8 held-out goals of split seed 0.
        Assert.Equal(11, Directory.GetFiles(outcome.DataDirectory, "task-*.safetensors").Length);
        // Training: metrics, TensorBoard events, the final model with the reference's keys.
        var metrics = File.ReadAllLines(Path.Combine(outcome.RunDirectory, Trainer.MetricsFileName));
        Assert.StartsWith("step,lr,loss,grad_norm", metrics[0]);
        Assert.Equal("30", metrics[^1].Split(',')[0]);
        Assert.Single(Directory.GetFiles(Path.Combine(outcome.RunDirectory, "tensorboard")));
        var weights = SafeTensors.Load(Path.Combine(outcome.RunDirectory, Trainer.ModelFileName));
        Assert.Contains("transformer.blocks.0.attn.attn.weight", weights.Keys);
        Assert.Contains("pred_next_state.weight", weights.Keys);

        // Results: 8 tasks × 4 episodes each, with the labels and the optimal return the plot reads.
        var none = PlotCommand.ReadResults(outcome.WithoutPlanning);
        var beam = PlotCommand.ReadResults(outcome.WithPlanning);
        Assert.Equal((8, 4), (none.Returns.Length, none.Returns[0].Length));
        Assert.Equal((8, 4), (beam.Returns.Length, beam.Returns[0].Length));
        Assert.Equal("DICP-AD (policy)", none.Label);
        Assert.Equal(20, none.StepsPerEpisode);
        Assert.InRange(none.OptimalReturn!.Value, 10, 20);
        Assert.All(none.Returns.SelectMany(r => r), v => Assert.InRange(v, 0, 20));

        // The chart: one band and one line per curve, the optimal line.
        var svg = XDocument.Load(outcome.Chart);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(2, svg.Descendants(ns + "polyline").Count());
        Assert.Contains("optimal", outcome.Summary);

        // Everything is on disk: a rerun resumes every stage and reproduces the results exactly.
        var again = await QuickstartCommand.RunAsync(Tiny(dir), CancellationToken.None);
        Assert.Equal(File.ReadAllText(outcome.WithPlanning), File.ReadAllText(again.WithPlanning));
        Assert.Equal(metrics, File.ReadAllLines(Path.Combine(again.RunDirectory, Trainer.MetricsFileName)));
    }

    [Fact]
    public void SummaryTableHasOneColumnPerEpisodeBlock()
    {
        double[] a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], b = [2, 2, 2, 2, 2, 2, 2, 2, 2, 4];
        Assert.Equal([(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)], QuickstartCommand.Blocks(10));
        var text = QuickstartCommand.Summary([("policy", a), ("beam", b)], 15);
        var lines = text.TrimEnd().Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Contains("9-10", lines[0]);
        Assert.EndsWith("9.50", lines[1]);
        Assert.EndsWith("3.00", lines[2]);
        Assert.EndsWith("15.00", lines[3]);
    }

    [Fact]
    public void AConfigurationWithoutDynamicsIsRefused()
    {
        var path = Path.Combine(_root, "ad.yaml");
        Directory.CreateDirectory(_root);
        File.WriteAllText(path, "model:\n  model: ad\n  dynamics: false\ndata:\n  environment: darkroom\n");
        var e = Assert.Throws<ConfigException>(() => QuickstartCommand.LoadConfig(new QuickstartCommand.Options(_root, Config: path)));
        Assert.Contains("dynamics", e.Message);
    }
}
