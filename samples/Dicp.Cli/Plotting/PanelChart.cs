using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ScottPlot;
using SkiaSharp;

namespace Dicp.Cli.Plotting;

/// <summary>One panel of a <see cref="PanelChart"/>: its title, its curves and its reference lines.</summary>
/// <param name="Title">The title above the panel.</param>
/// <param name="Curves">The panel's curves (at least one).</param>
/// <param name="References">Horizontal reference lines, e.g. the optimal return.</param>
internal sealed record ChartPanel(string Title, IReadOnlyList<LearningCurve> Curves, IReadOnlyList<ReferenceLine> References);

/// <summary>
/// Learning-curve charts side by side, at most <see cref="MaxColumns"/> to a row, as the paper's Figure 2 sets each
/// method next to its DICP version: every panel is a <see cref="LearningCurveChart"/> and all of them share one x and one
/// y range, so that heights compare across panels. Written as PNG (the panels drawn onto one bitmap) or SVG (each panel
/// a nested <c>svg</c> element, its ids prefixed so that clip paths of different panels never collide).
/// </summary>
internal static partial class PanelChart
{
    /// <summary>Panels per row.</summary>
    public const int MaxColumns = 3;

    /// <summary>Columns and rows of the grid that holds <paramref name="panels"/> panels.</summary>
    public static (int Columns, int Rows) Grid(int panels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(panels);
        var columns = Math.Min(panels, MaxColumns);
        return (columns, (panels + columns - 1) / columns);
    }

    /// <summary>One plot per panel (<paramref name="options"/> with the panel's title), all on the union of their axis limits.</summary>
    /// <exception cref="ArgumentException">No panels, or a panel that <see cref="LearningCurveChart.Build"/> rejects.</exception>
    public static Plot[] Build(IReadOnlyList<ChartPanel> panels, ChartOptions options)
    {
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0) throw new ArgumentException("A panel chart needs at least one panel.", nameof(panels));
        var plots = panels.Select(p => LearningCurveChart.Build(p.Curves, options with { Title = p.Title }, p.References)).ToArray();
        var limits = plots.Select(p => p.Axes.GetLimits()).ToArray();
        double left = limits.Min(l => l.Left), right = limits.Max(l => l.Right), bottom = limits.Min(l => l.Bottom), top = limits.Max(l => l.Top);
        foreach (var p in plots)
        {
            p.Axes.SetLimits(left, right, bottom, top);
            p.Axes.Right.MinimumSize = 24; // room for the last x tick label, which the next panel would cover
        }
        return plots;
    }

    /// <summary>Renders the panels as <c>png</c> or <c>svg</c> bytes, each panel <see cref="ChartOptions.Width"/> × <see cref="ChartOptions.Height"/>.</summary>
    public static byte[] Render(string format, IReadOnlyList<ChartPanel> panels, ChartOptions options)
    {
        var plots = Build(panels, options);
        var (columns, rows) = Grid(plots.Length);
        return format switch
        {
            "png" => Png(plots, columns, rows, options.Width, options.Height),
            "svg" => Svg(plots, columns, rows, options.Width, options.Height),
            _ => throw new ArgumentException($"Unknown image format '{format}'; use png or svg."),
        };
    }

    /// <summary>Renders the panels in the format <paramref name="path"/>'s extension names and writes them atomically.</summary>
    /// <exception cref="ArgumentException">An extension other than <c>.png</c> or <c>.svg</c>, or panels <see cref="Build"/> rejects.</exception>
    public static void Save(string path, IReadOnlyList<ChartPanel> panels, ChartOptions options)
    {
        LearningCurveChart.WriteImage(path, Render(LearningCurveChart.FormatOf(path), panels, options));
    }

    private static byte[] Png(Plot[] plots, int columns, int rows, int width, int height)
    {
        using var bitmap = new SKBitmap(columns * width, rows * height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            for (var i = 0; i < plots.Length; i++)
            {
                using var panel = SKBitmap.Decode(plots[i].GetImageBytes(width, height, ImageFormat.Png));
                canvas.DrawBitmap(panel, i % columns * width, i / columns * height);
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static byte[] Svg(Plot[] plots, int columns, int rows, int width, int height)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"{columns * width}\" height=\"{rows * height}\">\n");
        for (var i = 0; i < plots.Length; i++)
        {
            var xml = XmlDeclaration().Replace(plots[i].GetSvgXml(width, height), "");
            xml = IdReference().Replace(xml, m => m.Value + $"p{i}_"); // ids are per document: one namespace per panel
            var open = xml.IndexOf("<svg ", StringComparison.Ordinal);
            if (open < 0) throw new InvalidOperationException("ScottPlot's SVG has no <svg> element.");
            sb.Append(xml, 0, open).Append(inv, $"<svg x=\"{i % columns * width}\" y=\"{i / columns * height}\" ").Append(xml, open + 5, xml.Length - open - 5).Append('\n');
        }
        return Encoding.UTF8.GetBytes(sb.Append("</svg>\n").ToString());
    }

    [GeneratedRegex(@"^\s*<\?xml[^>]*\?>\s*")]
    private static partial Regex XmlDeclaration();

    /// <summary>Where an id is defined or referenced: <c>id="</c>, <c>url(#</c>, <c>href="#</c>.</summary>
    [GeneratedRegex(@"\bid=""|url\(#|href=""#")]
    private static partial Regex IdReference();
}
