using Xunit;

namespace Dicp.Cli.Tests;

/// <summary><c>dicp plot</c> pools result files that share a label (one per evaluation seed) into one curve.</summary>
public sealed class PlotPoolingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("dicp-plot-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string name, string label, string returns, int stepsPerEpisode = 20)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllText(path, $$"""{"label": "{{label}}", "returns": {{returns}}, "steps_per_episode": {{stepsPerEpisode}}, "optimal_return": 17.25}""");
        return path;
    }

    [Fact]
    public void FilesWithTheSameLabelBecomeOneCurveOfAllTheirRuns()
    {
        var a0 = PlotCommand.ReadResults(Write("a0.json", "IDT", "[[1, 2, 3], [0, 0, 1]]"));
        var b0 = PlotCommand.ReadResults(Write("b0.json", "DICP-IDT + beam", "[[2, 4, 6]]"));
        var a1 = PlotCommand.ReadResults(Write("a1.json", "IDT", "[[5, 5, 5]]"));
        var pooled = PlotCommand.Pool([a0, b0, a1]);
        Assert.Equal(["IDT", "DICP-IDT + beam"], pooled.Select(p => p.Label));
        Assert.Equal([[1, 2, 3], [0, 0, 1], [5, 5, 5]], pooled[0].Returns);
        Assert.Equal(17.25, pooled[0].OptimalReturn);
        Assert.Single(pooled[1].Returns);
    }

    [Fact]
    public void PoolingRunsOfDifferentLengthsNamesBothFiles()
    {
        var a = PlotCommand.ReadResults(Write("a.json", "AD", "[[1, 2, 3]]"));
        var b = PlotCommand.ReadResults(Write("b.json", "AD", "[[1, 2]]"));
        var e = Assert.Throws<InvalidDataException>(() => PlotCommand.Pool([a, b]));
        Assert.Contains("a.json", e.Message);
        Assert.Contains("b.json", e.Message);
        Assert.Contains("--label", e.Message);
    }

    [Fact]
    public void RaggedOrEmptyReturnsAreRejectedWithTheFileName()
    {
        var e = Assert.Throws<InvalidDataException>(() => PlotCommand.ReadResults(Write("ragged.json", "AD", "[[1, 2, 3], [1]]")));
        Assert.Contains("ragged.json", e.Message);
        Assert.Throws<InvalidDataException>(() => PlotCommand.ReadResults(Write("empty.json", "AD", "[]")));
    }
}
