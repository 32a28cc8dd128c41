using System.Buffers.Binary;
using System.Diagnostics;
using System.Xml.Linq;
using Dicp.Cli.Plotting;
using Xunit;

namespace Dicp.Cli.Tests;

/// <summary>Learning curves (Student-t bands), the ScottPlot chart in PNG and SVG, and <c>dicp plot</c>'s handling of bad input.</summary>
public sealed class ChartTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("dicp-chart-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>
    /// dicp plot --at: the table's means and intervals are the curve's at those episodes (two runs 0, 4 and 2, 6 at
    /// episode 2: mean 3, t(0.975, 1) · s / √2 = 12.706 · 1 = 12.71 each side), a dash past a curve's last episode.
    /// </summary>
    [Fact]
    public void TableAtEpisodesPrintsMeansAndIntervals()
    {
        var a = LearningCurve.FromReturns("AD", [[0.0, 4, 9], [2.0, 2, 10]]);
        var b = LearningCurve.FromReturns("DICP-AD", [[1.0], [3.0], [5.0]]);
        var lines = PlotCommand.Table([a, b], [2, 3]).TrimEnd().Split(Environment.NewLine);
        Assert.Equal(4, lines.Length);
        Assert.Equal("| curve | runs | episode 2 (mean [95 % interval]) | episode 3 (mean [95 % interval]) |", lines[0]);
        Assert.Equal("| AD | 2 | 3.00 [-9.71, 15.71] | 9.50 [3.15, 15.85] |", lines[2]);
        Assert.Equal("| DICP-AD | 3 | — | — |", lines[3]);
        Assert.Equal([10, 50], PlotCommand.ParseEpisodes("10, 50"));
        foreach (var bad in new[] { "", "0", "ten", "10,-1" })
            Assert.Contains("--at", Assert.Throws<ArgumentException>(() => PlotCommand.ParseEpisodes(bad)).Message);
    }

    [Fact]
    public void LearningCurveHasStudentTConfidenceBand()
    {
        // Two runs, three episodes. Episode 1: returns 1 and 3 → mean 2, s = √2, t(0.975, 1) = 12.7062.
        double[][] returns = [[1, 0, 5], [3, 0, 7]];
        var c = LearningCurve.FromReturns("ad", returns, stepsPerEpisode: 20);
        Assert.Equal([20.0, 40.0, 60.0], c.X);
        Assert.Equal([2.0, 0.0, 6.0], c.Mean);
        Assert.Equal(2, c.Runs);
        var half = 12.706204736 * Math.Sqrt(2) / Math.Sqrt(2);
        Assert.Equal(2 - half, c.Lower[0], 6);
        Assert.Equal(2 + half, c.Upper[0], 6);
        Assert.Equal(0.0, c.Lower[1], 12);
        // Five runs at 90 %: t(0.95, 4) = 2.131847.
        var d = LearningCurve.FromReturns("x", [[1.0], [2.0], [3.0], [4.0], [5.0]], confidence: 0.9);
        Assert.Equal(3 + 2.131847 * Math.Sqrt(2.5) / Math.Sqrt(5), d.Upper[0], 5);
        Assert.Throws<ArgumentException>(() => LearningCurve.FromReturns("x", [[1.0, 2.0], [1.0]]));
        Assert.Throws<ArgumentException>(() => LearningCurve.FromReturns("x", Array.Empty<double[]>()));
        Assert.Throws<ArgumentException>(() => LearningCurve.FromReturns("x", [[1.0]], confidence: 1.5));
        Assert.Throws<ArgumentException>(() => LearningCurve.FromReturns("x", [[1.0, double.NaN]]));
    }

    [Fact]
    public void BandsAreClippedToTheFeasibleReturnsAndTheAxisStaysNearThem()
    {
        // 0/1 rewards, two runs: the raw t-interval of episode 1 spans about [-11.2, 14.2]; returns lie in [0, 10].
        var c = LearningCurve.FromReturns("AD", [[0.0, 4, 9], [2.0, 6, 10]]);
        Assert.True(c.Lower[0] < -10 && c.Upper[0] > 10);
        var clipped = c.ClipTo(0, 10);
        Assert.All(clipped.Lower.Concat(clipped.Upper), v => Assert.InRange(v, 0, 10));
        Assert.Equal(c.Mean, clipped.Mean);

        var plot = LearningCurveChart.Build([c], new ChartOptions(YMin: 0, YMax: 10), [new ReferenceLine("optimal", 10)]);
        var limits = plot.Axes.GetLimits();
        Assert.InRange(limits.Bottom, -0.5, 0);
        Assert.InRange(limits.Top, 10, 11);
        Assert.Equal((1.0, 3.0), (limits.Left, limits.Right));
    }

    [Fact]
    public void PngAndSvgAreChosenByTheExtensionAndSayWhatTheBandIs()
    {
        var a = LearningCurve.FromReturns("AD", [[1.0, 2, 3], [2.0, 3, 5]]);
        var b = LearningCurve.FromReturns("DICP-AD <beam>", [[2.0, 4, 6], [3.0, 5, 8]]);
        var png = Path.Combine(_root, "c.png");
        var svg = Path.Combine(_root, "c.SVG");
        LearningCurveChart.Save(png, [a, b], new ChartOptions(Title: "Darkroom", Width: 640, Height: 400), [new ReferenceLine("optimal", 10)]);
        LearningCurveChart.Save(svg, [a, b], new ChartOptions(Title: "Darkroom"), [new ReferenceLine("optimal", 10)]);

        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal((640, 400), (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20))));

        var doc = XDocument.Load(svg);
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        var text = string.Join("|", doc.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value));
        Assert.Contains("DICP-AD <beam>: mean of 2 runs, band 95 % t-interval", text);
        Assert.Contains("optimal (10)", text);
        Assert.Contains("Darkroom", text);

        var e = Assert.Throws<ArgumentException>(() => LearningCurveChart.Save(Path.Combine(_root, "c.jpg"), [a]));
        Assert.Contains(".jpg", e.Message);
        Assert.False(File.Exists(Path.Combine(_root, "c.jpg")));
        Assert.Throws<ArgumentException>(() => LearningCurveChart.Build([]));
        Assert.Throws<ArgumentException>(() => LearningCurveChart.Build([a with { Mean = [1.0, double.NaN, 2.0] }]));
    }

    /// <summary>
    /// --panels method: one panel per method (AD with DICP-AD + beam, DPT with DICP-DPT + beam), on one x and one y range;
    /// the PNG is the grid of panels, the SVG nests one svg per panel whose clip-path ids stay distinct and resolvable.
    /// </summary>
    [Fact]
    public void PanelsPairEachMethodWithItsDicpVersionOnSharedAxes()
    {
        Assert.Equal("AD", PlotCommand.MethodOf("DICP-AD + beam"));
        Assert.Equal("AD", PlotCommand.MethodOf("AD"));
        Assert.Equal("DPT", PlotCommand.MethodOf("DICP-DPT"));
        Assert.Equal("IDT", PlotCommand.MethodOf("IDT + sampling"));
        Assert.Equal("DICP-", PlotCommand.MethodOf("DICP-"));
        Assert.Equal((1, 1), PanelChart.Grid(1));
        Assert.Equal((3, 1), PanelChart.Grid(3));
        Assert.Equal((3, 2), PanelChart.Grid(4));

        // Runs that agree have no band: the AD panel alone would end below 11 (its curves and the optimal line at 10).
        var ad = LearningCurve.FromReturns("AD", [[1.0, 2, 3], [1.0, 2, 3]]);
        var dicpAd = LearningCurve.FromReturns("DICP-AD + beam", [[2.0, 4, 6, 7], [2.0, 4, 6, 7]]);
        var dpt = LearningCurve.FromReturns("DPT", [[0.0, 1, 12], [0.0, 1, 13]]);
        var panels = new[]
        {
            new ChartPanel("Darkroom: AD", [ad, dicpAd], [new ReferenceLine("optimal", 10)]),
            new ChartPanel("Darkroom: DPT", [dpt], [new ReferenceLine("optimal", 10)]),
        };
        var plots = PanelChart.Build(panels, new ChartOptions(YMin: 0));
        var limits = plots.Select(p => p.Axes.GetLimits()).ToArray();
        Assert.Equal(limits[0], limits[1]);
        Assert.Equal((1.0, 4.0), (limits[0].Left, limits[0].Right)); // the union of both panels' episodes
        Assert.True(LearningCurveChart.Build([ad, dicpAd], new ChartOptions(YMin: 0), [new ReferenceLine("optimal", 10)]).Axes.GetLimits().Top < 11);
        Assert.True(limits[0].Top > 13, $"top {limits[0].Top} cuts DPT's 12.5"); // DPT's range is the AD panel's too

        var png = Path.Combine(_root, "p.png");
        var svg = Path.Combine(_root, "p.svg");
        PanelChart.Save(png, panels, new ChartOptions(Width: 300, Height: 200));
        PanelChart.Save(svg, panels, new ChartOptions(Width: 300, Height: 200));
        var bytes = File.ReadAllBytes(png);
        Assert.Equal((600, 200), (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20))));
        var doc = XDocument.Load(svg);
        Assert.Equal("600", doc.Root!.Attribute("width")!.Value);
        var nested = doc.Root.Elements().Where(e => e.Name.LocalName == "svg").ToArray();
        Assert.Equal(["0", "300"], nested.Select(e => e.Attribute("x")!.Value));
        var ids = doc.Descendants().Select(e => e.Attribute("id")?.Value).OfType<string>().ToArray();
        Assert.NotEmpty(ids);
        Assert.Equal(ids.Length, ids.Distinct().Count());
        var refs = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(svg), @"url\(#([^)]+)\)").Select(m => m.Groups[1].Value).ToArray();
        Assert.NotEmpty(refs);
        Assert.All(refs, r => Assert.Contains(r, ids));
        var text = string.Join("|", doc.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value));
        Assert.Contains("Darkroom: AD", text);
        Assert.Contains("Darkroom: DPT", text);
        Assert.Throws<ArgumentException>(() => PanelChart.Build([], new ChartOptions()));
    }

    private string Write(string name, string json)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Runs the built <c>dicp</c> tool as a user would.</summary>
    private static (int Code, string Out, string Err) Dicp(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dicp.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    [Fact]
    public void PlotCommandWritesThePngAndAnswersBadInputWithOneLineAndExitCode2()
    {
        var a = Write("a.json", """{"label": "AD", "returns": [[0, 1, 3], [1, 2, 4]], "steps_per_episode": 20, "optimal_return": 5}""");
        var b = Write("b.json", """{"label": "DICP-AD", "returns": [[1, 3, 5], [2, 4, 5]], "steps_per_episode": 20, "optimal_return": 5}""");
        var png = Path.Combine(_root, "curves.png");
        var ok = Dicp("plot", a, b, "--out", png);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Contains("2 curves", ok.Out);
        Assert.Equal(0x89, File.ReadAllBytes(png)[0]);

        var badValue = Write("bad-value.json", """{"label": "AD", "returns": [[0, "x"]]}""");
        var badSteps = Write("bad-steps.json", """{"returns": [[0, 1]], "steps_per_episode": -3}""");
        var notJson = Write("not-json.json", "{ returns: ");
        (string[] Args, string[] Named)[] cases =
        [
            (["plot", a, "--out", Path.Combine(_root, "curves.gif")], ["curves.gif", ".gif"]),
            (["plot", Path.Combine(_root, "missing.json"), "--out", png], ["missing.json"]),
            (["plot", badValue, "--out", png], ["bad-value.json", "returns[0][1]"]),
            (["plot", badSteps, "--out", png], ["bad-steps.json", "steps_per_episode"]),
            (["plot", notJson, "--out", png], ["not-json.json", "not valid JSON"]),
            (["plot", a, "--out", png, "--confidence", "1.5"], ["--confidence"]),
            (["plot", a, "--out", png, "--metric", "success"], ["a.json", "'successes'"]),
        ];
        foreach (var (args, named) in cases)
        {
            var r = Dicp(args);
            Assert.True(r.Code == 2, $"{string.Join(' ', args)} exited with {r.Code}: {r.Err}");
            var lines = r.Err.TrimEnd().Split('\n');
            Assert.Single(lines);
            Assert.StartsWith("error: ", lines[0]);
            foreach (var n in named) Assert.Contains(n, lines[0]);
        }
    }
}
