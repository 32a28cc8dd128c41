using System.Globalization;
using System.Security;
using System.Text;
using Dicp.IO;

namespace Dicp.Metrics;

/// <summary>A horizontal reference line on a chart, e.g. the optimal return.</summary>
/// <param name="Label">The legend entry.</param>
/// <param name="Y">The line's height.</param>
public sealed record ReferenceLine(string Label, double Y);

/// <summary>Settings of a <see cref="LearningCurveChart"/>.</summary>
/// <param name="Title">The title above the plot.</param>
/// <param name="XLabel">The x axis label.</param>
/// <param name="YLabel">The y axis label.</param>
/// <param name="Width">The image width in pixels.</param>
/// <param name="Height">The image height in pixels.</param>
public sealed record ChartOptions(string Title = "In-context learning curves", string XLabel = "episode",
    string YLabel = "mean return", int Width = 720, int Height = 440);

/// <summary>
/// Draws learning curves (mean lines with shaded confidence bands, as in the paper's Figure 2) and reference lines as
/// a self-contained SVG image.
/// </summary>
public static class LearningCurveChart
{
    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

    /// <summary>Renders the chart as SVG text.</summary>
    /// <exception cref="ArgumentException">No curves, or a curve whose arrays differ in length or hold a non-finite value.</exception>
    public static string RenderSvg(IReadOnlyList<LearningCurve> curves, ChartOptions? options = null, IReadOnlyList<ReferenceLine>? references = null)
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

        double xMin = curves.Min(c => c.X.Min()), xMax = curves.Max(c => c.X.Max());
        double yMin = Math.Min(curves.Min(c => c.Lower.Min()), references.Count > 0 ? references.Min(r => r.Y) : double.MaxValue);
        double yMax = Math.Max(curves.Max(c => c.Upper.Max()), references.Count > 0 ? references.Max(r => r.Y) : double.MinValue);
        if (xMax <= xMin) xMax = xMin + 1;
        if (yMax <= yMin) { yMax += 0.5; yMin -= 0.5; }
        var (yTicks, yLo, yHi) = NiceTicks(yMin, yMax);
        var (xTicks, xLo, xHi) = NiceTicks(xMin, xMax);

        // The legend sits right of the plot: wide enough for its longest label (≈ 7 px per character at 12 px).
        var longest = curves.Select(c => c.Label.Length).Concat(references.Select(r => r.Label.Length)).Max();
        int left = 64, right = Math.Max(120, 56 + 7 * longest), top = 40, bottom = 52;
        double pw = options.Width - left - right, ph = options.Height - top - bottom;
        double Px(double x) => left + (x - xLo) / (xHi - xLo) * pw;
        double Py(double y) => top + (1 - (y - yLo) / (yHi - yLo)) * ph;

        var s = new StringBuilder();
        s.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{options.Width}\" height=\"{options.Height}\" viewBox=\"0 0 {options.Width} {options.Height}\" font-family=\"sans-serif\" font-size=\"12\">\n"));
        s.Append(Inv($"<rect width=\"{options.Width}\" height=\"{options.Height}\" fill=\"white\"/>\n"));
        s.Append(Inv($"<text x=\"{left + pw / 2:F1}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{Esc(options.Title)}</text>\n"));
        foreach (var t in yTicks)
        {
            s.Append(Inv($"<line x1=\"{left}\" x2=\"{left + pw:F1}\" y1=\"{Py(t):F1}\" y2=\"{Py(t):F1}\" stroke=\"#e5e5e5\"/>\n"));
            s.Append(Inv($"<text x=\"{left - 6}\" y=\"{Py(t) + 4:F1}\" text-anchor=\"end\">{Fmt(t)}</text>\n"));
        }
        foreach (var t in xTicks)
        {
            s.Append(Inv($"<line x1=\"{Px(t):F1}\" x2=\"{Px(t):F1}\" y1=\"{top}\" y2=\"{top + ph:F1}\" stroke=\"#f0f0f0\"/>\n"));
            s.Append(Inv($"<text x=\"{Px(t):F1}\" y=\"{top + ph + 16:F1}\" text-anchor=\"middle\">{Fmt(t)}</text>\n"));
        }
        s.Append(Inv($"<rect x=\"{left}\" y=\"{top}\" width=\"{pw:F1}\" height=\"{ph:F1}\" fill=\"none\" stroke=\"#444\"/>\n"));
        s.Append(Inv($"<text x=\"{left + pw / 2:F1}\" y=\"{options.Height - 12}\" text-anchor=\"middle\">{Esc(options.XLabel)}</text>\n"));
        s.Append(Inv($"<text transform=\"translate(16 {top + ph / 2:F1}) rotate(-90)\" text-anchor=\"middle\">{Esc(options.YLabel)}</text>\n"));

        var legendY = top + 8.0;
        foreach (var r in references)
        {
            s.Append(Inv($"<line x1=\"{left}\" x2=\"{left + pw:F1}\" y1=\"{Py(r.Y):F1}\" y2=\"{Py(r.Y):F1}\" stroke=\"#555\" stroke-dasharray=\"6 4\"/>\n"));
            s.Append(Inv($"<line x1=\"{left + pw + 12:F1}\" x2=\"{left + pw + 36:F1}\" y1=\"{legendY:F1}\" y2=\"{legendY:F1}\" stroke=\"#555\" stroke-dasharray=\"6 4\"/>\n"));
            s.Append(Inv($"<text x=\"{left + pw + 42:F1}\" y=\"{legendY + 4:F1}\">{Esc(r.Label)}</text>\n"));
            legendY += 18;
        }
        for (var i = 0; i < curves.Count; i++)
        {
            var c = curves[i];
            var color = Palette[i % Palette.Length];
            var band = new StringBuilder();
            for (var j = 0; j < c.X.Length; j++) band.Append(Inv($"{Px(c.X[j]):F1},{Py(c.Upper[j]):F1} "));
            for (var j = c.X.Length - 1; j >= 0; j--) band.Append(Inv($"{Px(c.X[j]):F1},{Py(c.Lower[j]):F1} "));
            s.Append(Inv($"<polygon points=\"{band.ToString().TrimEnd()}\" fill=\"{color}\" fill-opacity=\"0.18\" stroke=\"none\"/>\n"));
            var line = new StringBuilder();
            for (var j = 0; j < c.X.Length; j++) line.Append(Inv($"{Px(c.X[j]):F1},{Py(c.Mean[j]):F1} "));
            s.Append(Inv($"<polyline points=\"{line.ToString().TrimEnd()}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>\n"));
            s.Append(Inv($"<line x1=\"{left + pw + 12:F1}\" x2=\"{left + pw + 36:F1}\" y1=\"{legendY:F1}\" y2=\"{legendY:F1}\" stroke=\"{color}\" stroke-width=\"3\"/>\n"));
            s.Append(Inv($"<text x=\"{left + pw + 42:F1}\" y=\"{legendY + 4:F1}\">{Esc(c.Label)}</text>\n"));
            legendY += 18;
        }
        s.Append("</svg>\n");
        return s.ToString();
    }

    /// <summary>Renders the chart and writes it atomically to <paramref name="path"/>.</summary>
    public static void SaveSvg(string path, IReadOnlyList<LearningCurve> curves, ChartOptions? options = null, IReadOnlyList<ReferenceLine>? references = null) =>
        AtomicFile.WriteAllText(path, RenderSvg(curves, options, references));

    /// <summary>Round ticks (1, 2 or 5 × 10^k apart) covering [lo, hi], and the axis range they span.</summary>
    internal static (double[] Ticks, double Lo, double Hi) NiceTicks(double lo, double hi, int target = 6)
    {
        var raw = (hi - lo) / target;
        if (!(raw > 0)) throw new ArgumentException($"Tick range [{lo}, {hi}] is empty.");
        var mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var f = raw / mag; // in [1, 10)
        var step = (f switch { < 1.5 => 1, < 3.5 => 2, < 7.5 => 5, _ => 10 }) * mag;
        double a = Math.Floor(lo / step) * step, b = Math.Ceiling(hi / step) * step;
        var n = (int)Math.Round((b - a) / step);
        var ticks = new double[n + 1];
        for (var i = 0; i <= n; i++) ticks[i] = a + i * step;
        return (ticks, a, b);
    }

    private static string Fmt(double v) => Math.Abs(v) >= 1e4 || (Math.Abs(v) < 1e-3 && v != 0)
        ? v.ToString("0.##E0", CultureInfo.InvariantCulture) : Math.Round(v, 6).ToString("0.###", CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Esc(string s) => SecurityElement.Escape(s) ?? "";
}
