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
    public async Task TinyQuickstartWritesEveryOutputAndARerunReusesWhatIsFinished()
    {
        var dir = Path.Combine(_root, "qs");
        var console = new StringWriter();
        var outcome = await QuickstartCommand.RunAsync(Tiny(dir) with { Quiet = false }, CancellationToken.None, console);

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

        // The charts: an SVG with the legend and a PNG; the table has a title and the timings list every stage.
        var svgText = string.Join("|", XDocument.Load(outcome.Chart).Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value));
        Assert.Contains("DICP-AD + beam search: mean of 8 runs, band 95 % t-interval", svgText);
        Assert.Equal(0x89, File.ReadAllBytes(outcome.ChartPng)[0]);
        Assert.StartsWith("Mean return of ", outcome.Summary);
        Assert.Contains("optimal", outcome.Summary);
        Assert.Equal(["collection", "training", "evaluation, policy", "evaluation, beam search"], outcome.Timings.Select(t => t.Stage));
        Assert.All(outcome.Timings, t => Assert.Equal("", t.Note));
        Assert.Contains("Time per stage", outcome.Summary);

        // Everything printed fits 80 columns (the output folder's path aside).
        var printed = console.ToString().Split('\n');
        Assert.Contains(printed, l => l.StartsWith("Mean return of ", StringComparison.Ordinal));
        Assert.All(printed.Where(l => !l.Contains(_root, StringComparison.Ordinal)), l => Assert.True(l.TrimEnd().Length <= QuickstartDisplay.Columns, $"{l.Length} columns: {l}"));

        // A rerun reuses every stage: histories, the trained model, and both evaluations (same model and settings).
        var again = await QuickstartCommand.RunAsync(Tiny(dir), CancellationToken.None);
        Assert.Equal(["reused", "reused", "reused", "reused"], again.Timings.Select(t => t.Note));
        Assert.Equal(File.ReadAllText(outcome.WithPlanning), File.ReadAllText(again.WithPlanning));
        Assert.Equal(metrics, File.ReadAllLines(Path.Combine(again.RunDirectory, Trainer.MetricsFileName)));

        // A deleted evaluation is recomputed and reproduces its returns exactly.
        File.Delete(outcome.WithPlanning);
        var third = await QuickstartCommand.RunAsync(Tiny(dir), CancellationToken.None);
        Assert.Equal(["reused", "reused", "reused", ""], third.Timings.Select(t => t.Note));
        Assert.Equal(beam.Returns, PlotCommand.ReadResults(third.WithPlanning).Returns);

        // Other evaluation settings (more episodes) rerun both evaluations; the model is reused.
        var longer = await QuickstartCommand.RunAsync(Tiny(dir) with { Episodes = 5 }, CancellationToken.None);
        Assert.Equal(["reused", "reused", "", ""], longer.Timings.Select(t => t.Note));
        Assert.Equal(5, PlotCommand.ReadResults(longer.WithoutPlanning).Returns[0].Length);
    }

    [Fact]
    public void SummaryTableHasOneColumnPerEpisodeBlock()
    {
        double[] a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], b = [2, 2, 2, 2, 2, 2, 2, 2, 2, 4];
        Assert.Equal([(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)], QuickstartCommand.Blocks(10));
        var text = QuickstartCommand.Summary("Mean return", [("policy", a), ("beam", b)], 15);
        var lines = text.TrimEnd().Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.Equal("Mean return", lines[0]);
        lines = lines[1..];
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
