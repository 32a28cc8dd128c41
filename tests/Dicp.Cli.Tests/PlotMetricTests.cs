using Xunit;

namespace Dicp.Cli.Tests;

/// <summary><c>dicp plot --metric</c>: success and cumulative success curves from the <c>successes</c> of a results file.</summary>
public sealed class PlotMetricTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("dicp-plot-metric-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string name, string json)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllText(path, json);
        return path;
    }

    private const string TwoTasks = """
        {"label": "DICP-AD", "returns": [[1, 2, 3, 4], [5, 6, 7, 8]], "steps_per_episode": 100,
         "successes": [[false, true, false, false], [false, false, false, true]]}
        """;

    [Fact]
    public void SuccessIsZeroOnePerEpisodeAndCumulativeIsTheRunningMaximum()
    {
        var file = Write("a.json", TwoTasks);
        Assert.Equal([[1, 2, 3, 4], [5, 6, 7, 8]], PlotCommand.ReadResults(file).Returns);
        Assert.Equal([[0, 1, 0, 0], [0, 0, 0, 1]], PlotCommand.ReadResults(file, PlotCommand.PlotMetric.Success).Returns);
        var cumulative = PlotCommand.ReadResults(file, PlotCommand.PlotMetric.CumulativeSuccess).Returns;
        Assert.Equal([[0, 1, 1, 1], [0, 0, 0, 1]], cumulative);
        // The pooled curve's mean is the reference's cumulative success rate, as the evaluator computes it.
        var expected = Dicp.Evaluation.EvaluationResult.CumulativeSuccessRate([[false, true, false, false], [false, false, false, true]]);
        var mean = Enumerable.Range(0, 4).Select(k => cumulative.Average(r => r[k])).ToArray();
        Assert.Equal(expected, mean);
        Assert.Equal([0, 0.5, 0.5, 1], mean);
    }

    [Fact]
    public void MissingOrMalformedSuccessesNameTheFileAndField()
    {
        var none = Write("none.json", """{"label": "AD", "returns": [[1, 2]]}""");
        var e = Assert.Throws<InvalidDataException>(() => PlotCommand.ReadResults(none, PlotCommand.PlotMetric.Success));
        Assert.Contains("none.json", e.Message);
        Assert.Contains("'successes'", e.Message);
        var bad = Write("bad.json", """{"label": "AD", "returns": [[1, 2]], "successes": [[true, 1]]}""");
        e = Assert.Throws<InvalidDataException>(() => PlotCommand.ReadResults(bad, PlotCommand.PlotMetric.CumulativeSuccess));
        Assert.Contains("successes[0][1]", e.Message);
        var shape = Write("shape.json", """{"label": "AD", "returns": [[1, 2]], "successes": [[true]]}""");
        e = Assert.Throws<InvalidDataException>(() => PlotCommand.ReadResults(shape, PlotCommand.PlotMetric.Success));
        Assert.Contains("shape of 'returns'", e.Message);
    }

    [Fact]
    public void SuccessChartIsWrittenAndAnUnknownMetricIsRejected()
    {
        var png = Path.Combine(_root, "success.png");
        Assert.Equal(1, PlotCommand.Run([Write("a.json", TwoTasks)], png, steps: true, "t", 0.95, PlotCommand.PlotMetric.CumulativeSuccess));
        Assert.Equal(0x89, File.ReadAllBytes(png)[0]);
        Assert.Throws<ArgumentException>(() => PlotCommand.ParseMetric("successes"));
    }
}
