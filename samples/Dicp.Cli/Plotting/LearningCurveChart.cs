using Dicp.IO;
using ScottPlot;

namespace Dicp.Cli.Plotting;

/// <summary>A horizontal reference line on a chart, e.g. the optimal return.</summary>
/// <param name="Label">The legend entry.</param>
/// <param name="Y">The line's height.</param>
internal sealed record ReferenceLine(string Label, double Y);

/// <summary>Settings of a <see cref="LearningCurveChart"/>.</summary>
/// <param name="Title">The title above the plot.</param>
/// <param name="XLabel">The x axis label.</param>
/// <param name="YLabel">The y axis label.</param>
/// <param name="Width">The image width in pixels.</param>
/// <param name="Height">The image height in pixels.</param>
/// <param name="YMin">The lowest feasible value of y (e.g. 0 for non-negative rewards), or null when unknown.</param>
/// <param name="YMax">The highest feasible value of y (e.g. the optimal return), or null when unknown.</param>
internal sealed record ChartOptions(string Title = "In-context learning curves", string XLabel = "episode", string YLabel = "mean return",
    int Width = 800, int Height = 560, double? YMin = null, double? YMax = null);

/// <summary>
/// Learning curves as in the paper's Figure 2 — a mean line per curve over a shaded confidence band, reference lines
/// such as the optimal return — drawn with ScottPlot and written as PNG or SVG.
/// </summary>
internal static class LearningCurveChart
{
    /// <summary>The file extensions <see cref="Save"/> understands.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".svg"];

    /// <summary>The image format of <paramref name="path"/>, from its extension.</summary>
    /// <exception cref="ArgumentException">Neither <c>.png</c> nor <c>.svg</c>.</exception>
    public static string FormatOf(string path)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        return Extensions.Contains(ext) ? ext[1..]
            : throw new ArgumentException($"Output '{path}': unknown image extension '{ext}'; use .png or .svg.");
    }

    /// <summary>Builds the plot: bands (clipped to the feasible y range), mean lines, reference lines, legend.</summary>
    /// <exception cref="ArgumentException">No curves, or a curve whose arrays differ in length or hold a non-finite value.</exception>
    public static Plot Build(IReadOnlyList<LearningCurve> curves, ChartOptions? options = null, IReadOnlyList<ReferenceLine>? references = null)
    {
        ArgumentNullException.ThrowIfNull(curves);
        if (curves.Count == 0) throw new ArgumentException("A chart needs at least one curve.", nameof(curves));
        options ??= new ChartOptions();
        references ??= [];
        foreach (var c in curves)
        {
            var n = c.X.Length;
            if (n == 0 || c.Mean.Length != n || c.Lower.Length != n || c.Upper.Length != n)
                throw new ArgumentException($"Curve '{c.Label}' has X, Mean, Lower and Upper of lengths {c.X.Length}, {c.Mean.Length}, {c.Lower.Length}, {c.Upper.Length}; they must be equal and non-zero.", nameof(curves));
            if (c.X.Concat(c.Mean).Concat(c.Lower).Concat(c.Upper).Any(v => !double.IsFinite(v)))
                throw new ArgumentException($"Curve '{c.Label}' holds a non-finite value.", nameof(curves));
        }

        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < curves.Count; i++)
        {
            var c = curves[i].ClipTo(options.YMin, options.YMax);
            var color = palette.GetColor(i);
            if (c.Runs > 1)
            {
                var band = plot.Add.FillY(c.X, c.Lower, c.Upper);
                band.FillStyle.Color = color.WithAlpha(0.2);
                band.LineStyle.Width = 0;
            }
            var line = plot.Add.ScatterLine(c.X, c.Mean);
            line.Color = color;
            line.LineWidth = 2;
            line.LegendText = c.Runs > 1
                ? $"{c.Label}: mean of {c.Runs} runs, band {c.Confidence * 100:0.#} % t-interval"
                : $"{c.Label} (1 run, no band)";
        }
        foreach (var r in references)
        {
            var h = plot.Add.HorizontalLine(r.Y);
            h.Color = Colors.DimGray;
            h.LinePattern = LinePattern.Dashed;
            h.LineWidth = 1.5f;
            h.LegendText = $"{r.Label} ({r.Y:0.##})";
        }

        plot.Title(options.Title);
        plot.XLabel(options.XLabel);
        plot.YLabel(options.YLabel);
        plot.ShowLegend(Edge.Bottom); // below the axes: never over the curves
        plot.Legend.Orientation = Orientation.Vertical;

        // x: exactly the data; y: the data and reference lines, never far outside the feasible range.
        double xMin = curves.Min(c => c.X.Min()), xMax = curves.Max(c => c.X.Max());
        if (xMax <= xMin) xMax = xMin + 1;
        var clipped = curves.Select(c => c.ClipTo(options.YMin, options.YMax)).ToArray();
        double yLo = clipped.Min(c => c.Lower.Min()), yHi = clipped.Max(c => c.Upper.Max());
        foreach (var r in references) (yLo, yHi) = (Math.Min(yLo, r.Y), Math.Max(yHi, r.Y));
        if (options.YMin is { } lo) yLo = Math.Min(yLo, lo);
        if (yHi <= yLo) yHi = yLo + 1;
        var pad = 0.05 * (yHi - yLo);
        plot.Axes.SetLimits(xMin, xMax, options.YMin is { } min && yLo >= min ? min - pad / 5 : yLo - pad, yHi + pad);
        return plot;
    }

    /// <summary>
    /// A warning when a PNG would be written on a machine without any font (its text would be blank; an SVG names its
    /// fonts and the viewer draws them), else null.
    /// </summary>
    public static string? FontWarning(string path) =>
        FormatOf(path) == "png" && SkiaSharp.SKFontManager.Default.FontFamilyCount == 0
            ? $"warning: no fonts on this machine, so the text of {path} is blank; install one (Debian: apt-get install fonts-dejavu-core) or use the SVG."
            : null;

    /// <summary>Renders the chart as <c>png</c> or <c>svg</c> bytes.</summary>
    public static byte[] Render(string format, IReadOnlyList<LearningCurve> curves, ChartOptions? options = null, IReadOnlyList<ReferenceLine>? references = null)
    {
        options ??= new ChartOptions();
        var plot = Build(curves, options, references);
        return format switch
        {
            "png" => plot.GetImageBytes(options.Width, options.Height, ImageFormat.Png),
            "svg" => System.Text.Encoding.UTF8.GetBytes(plot.GetSvgXml(options.Width, options.Height)),
            _ => throw new ArgumentException($"Unknown image format '{format}'; use png or svg."),
        };
    }

    /// <summary>Renders the chart in the format <paramref name="path"/>'s extension names and writes it atomically.</summary>
    /// <exception cref="ArgumentException">An extension other than <c>.png</c> or <c>.svg</c>, or curves <see cref="Build"/> rejects.</exception>
    public static void Save(string path, IReadOnlyList<LearningCurve> curves, ChartOptions? options = null, IReadOnlyList<ReferenceLine>? references = null)
    {
        WriteImage(path, Render(FormatOf(path), curves, options, references));
    }

    /// <summary>Writes rendered image bytes to <paramref name="path"/> atomically, creating its folder.</summary>
    internal static void WriteImage(string path, byte[] bytes)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        AtomicFile.WriteAllBytes(path, bytes);
    }
}
