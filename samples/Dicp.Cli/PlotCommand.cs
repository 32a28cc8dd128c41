using System.CommandLine;
using System.Text.Json;
using Dicp.Cli.Plotting;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp plot results.json [more.json …] --out curves.png [--metric return|success|cumulative-success] [--panels none|method]</c>:
/// learning curves of runs on one chart, or one panel per method side by side, PNG or SVG by the extension of <c>--out</c>.
/// </summary>
internal static class PlotCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("results") { Description = "results.json files written by 'dicp evaluate' or 'dicp quickstart'.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "The image to write: .png or .svg (the extension chooses).", DefaultValueFactory = _ => "curves.png" };
        var xAxis = new Option<string>("--x") { Description = "x axis: episodes or steps (environment steps).", DefaultValueFactory = _ => "episodes" };
        xAxis.AcceptOnlyFromAmong("episodes", "steps");
        var title = new Option<string>("--title") { Description = "Chart title.", DefaultValueFactory = _ => "In-context learning curves" };
        var confidence = new Option<double>("--confidence") { Description = "Confidence level of the bands (a Student-t interval of the mean).", DefaultValueFactory = _ => 0.95 };
        var metric = new Option<string>("--metric")
        {
            Description = "y axis: return (mean return per episode), success (the fraction of runs whose episode succeeded) or cumulative-success "
                + "(the fraction solved in at least one episode so far: the reference's Meta-World metric); the success metrics need 'successes' in every file.",
            DefaultValueFactory = _ => "return",
        };
        metric.AcceptOnlyFromAmong("return", "success", "cumulative-success");
        var at = new Option<string?>("--at")
        {
            Description = "Also print a Markdown table of each curve's mean and confidence interval at these episodes (comma-separated, 1-based; "
                + "e.g. 10,50: Darkroom's steps 200 and 1 000) to standard output.",
        };
        var panels = new Option<string>("--panels")
        {
            Description = "none: every curve on one chart; method: one panel per method, side by side on one y range as the paper's Figure 2 "
                + "(a curve's method is its label before ' + ', without a leading 'DICP-': AD with DICP-AD + beam, DPT with DICP-DPT + beam; "
                + "in each panel the method's own curves come first).",
            DefaultValueFactory = _ => "none",
        };
        panels.AcceptOnlyFromAmong("none", "method");
        var cmd = new Command("plot", "Draw the learning curves (mean return or success rate per episode with a confidence band) of one or more evaluations as PNG or SVG; "
            + "files with the same label (e.g. one per evaluation seed) are pooled into one curve.")
            { files, output, xAxis, title, confidence, metric, at, panels };
        cmd.SetAction((parse, _) =>
        {
            try
            {
                var outPath = parse.GetValue(output)!;
                var episodes = parse.GetValue(at) is { } list ? ParseEpisodes(list) : null;
                var n = Run(parse.GetValue(files)!, outPath, parse.GetValue(xAxis) == "steps", parse.GetValue(title)!, parse.GetValue(confidence),
                    ParseMetric(parse.GetValue(metric)!), episodes, byMethod: parse.GetValue(panels) == "method");
                Console.Out.WriteLine($"wrote {outPath} ({n} curve{(n == 1 ? "" : "s")})");
                return Task.FromResult(0);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(2);
            }
        });
        return cmd;
    }

    /// <summary>What a chart's y axis shows.</summary>
    internal enum PlotMetric
    {
        /// <summary>The return of each episode (<c>returns</c>).</summary>
        Return,

        /// <summary>1 where the episode succeeded, else 0 (<c>successes</c>): the curve is the per-episode success rate.</summary>
        Success,

        /// <summary>1 from a run's first successful episode on (a running maximum of <c>successes</c>): the reference's Meta-World metric.</summary>
        CumulativeSuccess,
    }

    internal static PlotMetric ParseMetric(string name) => name switch
    {
        "return" => PlotMetric.Return,
        "success" => PlotMetric.Success,
        "cumulative-success" => PlotMetric.CumulativeSuccess,
        _ => throw new ArgumentException($"--metric must be return, success or cumulative-success, got '{name}'."),
    };

    /// <summary>Reads, pools and draws <paramref name="files"/> into <paramref name="outPath"/>; returns the number of curves.</summary>
    /// <exception cref="ArgumentException">An unknown image extension or a confidence outside (0, 1).</exception>
    /// <exception cref="InvalidDataException">A results file that is not what <c>dicp evaluate</c> writes (the message names file and field).</exception>
    /// <exception cref="IOException">A missing or unreadable file.</exception>
    internal static int Run(IReadOnlyList<string> files, string outPath, bool steps, string title, double confidence, PlotMetric metric = PlotMetric.Return,
        IReadOnlyList<int>? tableAt = null, bool byMethod = false)
    {
        LearningCurveChart.FormatOf(outPath); // fail before reading anything
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentException($"--confidence must lie in (0, 1), got {confidence}.");
        var curves = new List<LearningCurve>();
        var references = new List<ReferenceLine>();
        var inputs = Pool(files.Select(f => ReadResults(f, metric)));
        foreach (var r in inputs)
        {
            if (steps && r.StepsPerEpisode == 0)
                throw new InvalidDataException($"Results file '{r.Source}' has no 'steps_per_episode', which --x steps needs.");
            curves.Add(LearningCurve.FromReturns(r.Label, r.Returns, confidence, steps ? r.StepsPerEpisode : 0));
            if (metric == PlotMetric.Return && r.OptimalReturn is { } opt && references.All(x => Math.Abs(x.Y - opt) > 1e-9))
                references.Add(new ReferenceLine("optimal", opt));
        }
        var (yMin, yMax) = metric == PlotMetric.Return ? FeasibleRange(inputs) : (0, 1);
        var yLabel = metric switch
        {
            PlotMetric.Success => "success rate",
            PlotMetric.CumulativeSuccess => "cumulative success rate", // solved at least once so far (a longer label is cut at the chart's height)
            _ => "mean return",
        };
        if (tableAt is not null) Console.Out.Write(Table(curves, tableAt));
        var chart = new ChartOptions(Title: title, XLabel: steps ? "environment steps" : "episode", YLabel: yLabel, YMin: yMin, YMax: yMax);
        if (byMethod)
            PanelChart.Save(outPath, [.. curves.GroupBy(c => MethodOf(c.Label)).Select(g => new ChartPanel($"{title}: {g.Key}",
                [.. g.OrderBy(c => c.Label.StartsWith("DICP-", StringComparison.OrdinalIgnoreCase) ? 1 : 0)], references))], // the method first, in every panel the same colour
                chart with { Width = 640 });
        else
            LearningCurveChart.Save(outPath, curves, chart, references);
        if (LearningCurveChart.FontWarning(outPath) is { } warning) Console.Error.WriteLine(warning);
        return curves.Count;
    }

    /// <summary>
    /// The method a curve belongs to, for <c>--panels method</c>: its label before the first <c>" + "</c> (the planner),
    /// without a leading <c>DICP-</c>: "DICP-AD + beam", "DICP-AD" and "AD" are all "AD".
    /// </summary>
    internal static string MethodOf(string label)
    {
        var plus = label.IndexOf(" + ", StringComparison.Ordinal);
        var method = (plus >= 0 ? label[..plus] : label).Trim();
        return method.StartsWith("DICP-", StringComparison.OrdinalIgnoreCase) && method.Length > 5 ? method[5..] : method;
    }

    /// <summary>The 1-based episodes of <c>--at</c> ("10,50"), with an error naming the option and the value.</summary>
    /// <exception cref="ArgumentException">An empty list, or an entry that is not a positive integer.</exception>
    internal static int[] ParseEpisodes(string list)
    {
        var parts = list.Split(',', StringSplitOptions.TrimEntries);
        var episodes = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out episodes[i]) || episodes[i] < 1)
                throw new ArgumentException($"--at {list}: '{parts[i]}' is not a positive episode number; give e.g. --at 10,50.");
        return episodes;
    }

    /// <summary>
    /// A Markdown table: one row per curve (its label and the runs each mean pools), one column per episode of
    /// <paramref name="episodes"/>: the mean and its confidence interval (the band of the chart, not clipped), or a dash
    /// past the curve's last episode.
    /// </summary>
    internal static string Table(IReadOnlyList<LearningCurve> curves, IReadOnlyList<int> episodes)
    {
        var c = curves.Count > 0 ? curves[0].Confidence : 0.95;
        var sb = new System.Text.StringBuilder();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        sb.Append("| curve | runs |");
        foreach (var e in episodes) sb.Append(inv, $" episode {e} (mean [{c * 100:0.#} % interval]) |");
        sb.AppendLine().Append("|---|---|");
        foreach (var _ in episodes) sb.Append("---|");
        sb.AppendLine();
        foreach (var curve in curves)
        {
            sb.Append(inv, $"| {curve.Label} | {curve.Runs} |");
            foreach (var e in episodes)
                sb.Append(e <= curve.Mean.Length ? string.Format(inv, " {0:F2} [{1:F2}, {2:F2}] |", curve.Mean[e - 1], curve.Lower[e - 1], curve.Upper[e - 1]) : " — |");
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>
    /// The range a mean return can take: 0 from below when every return seen is non-negative (the benchmarks' rewards
    /// are), and the highest optimal return from above when every file states one.
    /// </summary>
    internal static (double? Min, double? Max) FeasibleRange(IReadOnlyList<PlotInput> inputs)
    {
        double? min = inputs.All(r => r.Returns.All(row => row.All(v => v >= 0))) ? 0 : null;
        double? max = inputs.All(r => r.OptimalReturn is not null) ? inputs.Max(r => r.OptimalReturn!.Value) : null;
        return (min, max);
    }

    /// <summary>What the chart needs from a results file: <paramref name="Returns"/> holds the chosen metric's value per run and episode.</summary>
    internal sealed record PlotInput(string Label, double[][] Returns, int StepsPerEpisode, double? OptimalReturn, string Source = "");

    /// <summary>
    /// One curve per label, in order of first appearance: the runs (rows of <c>returns</c>) of every file with that label
    /// pooled, so that evaluations with different seeds make one curve whose band spans all their runs.
    /// </summary>
    /// <exception cref="InvalidDataException">Files of one label disagree on episodes per run or steps per episode.</exception>
    internal static List<PlotInput> Pool(IEnumerable<PlotInput> inputs)
    {
        var pooled = new List<PlotInput>();
        foreach (var r in inputs)
        {
            var i = pooled.FindIndex(p => p.Label == r.Label);
            if (i < 0) { pooled.Add(r); continue; }
            var p = pooled[i];
            int episodes = p.Returns[0].Length, other = r.Returns.Length > 0 ? r.Returns[0].Length : 0;
            if (other != episodes || r.StepsPerEpisode != p.StepsPerEpisode)
                throw new InvalidDataException($"Results '{r.Source}' and '{p.Source}' share the label '{r.Label}' but not the episodes per run " +
                    $"({other} vs {episodes}) or steps per episode ({r.StepsPerEpisode} vs {p.StepsPerEpisode}); give them different labels (dicp evaluate --label).");
            pooled[i] = p with { Returns = [.. p.Returns, .. r.Returns], OptimalReturn = p.OptimalReturn ?? r.OptimalReturn };
        }
        return pooled;
    }

    /// <summary>
    /// Reads <c>returns</c> (tasks × episodes) and labels from a results file, with errors naming file and field; for the
    /// success metrics the values are <c>successes</c> (tasks × episodes of true/false) as 0/1, running-maximised over
    /// episodes for <see cref="PlotMetric.CumulativeSuccess"/>.
    /// </summary>
    internal static PlotInput ReadResults(string path, PlotMetric metric = PlotMetric.Return)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Results file '{path}' does not exist.", path);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Results file '{path}' is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"Results file '{path}' holds a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object.");
            if (!root.TryGetProperty("returns", out var returns) || returns.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"Results file '{path}' has no 'returns' array (tasks × episodes).");
            var rows = returns.EnumerateArray().Select((row, i) => row.ValueKind == JsonValueKind.Array
                ? row.EnumerateArray().Select((v, j) => v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d) ? d
                    : throw new InvalidDataException($"Results file '{path}': 'returns[{i}][{j}]' is {v.GetRawText()}, not a finite number.")).ToArray()
                : throw new InvalidDataException($"Results file '{path}': 'returns[{i}]' must be an array of returns (tasks × episodes).")).ToArray();
            var label = root.TryGetProperty("label", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString()! : Path.GetFileNameWithoutExtension(path);
            var stepsPerEpisode = 0;
            if (root.TryGetProperty("steps_per_episode", out var s) && !(s.ValueKind == JsonValueKind.Number && s.TryGetInt32(out stepsPerEpisode) && stepsPerEpisode > 0))
                throw new InvalidDataException($"Results file '{path}': 'steps_per_episode' is {s.GetRawText()}, not a positive integer.");
            double? optimal = null;
            if (root.TryGetProperty("optimal_return", out var o) && o.ValueKind != JsonValueKind.Null)
                optimal = o.ValueKind == JsonValueKind.Number && o.TryGetDouble(out var od) && double.IsFinite(od) ? od
                    : throw new InvalidDataException($"Results file '{path}': 'optimal_return' is {o.GetRawText()}, not a finite number.");
            if (rows.Length == 0 || rows.Any(r => r.Length != rows[0].Length || r.Length == 0))
                throw new InvalidDataException($"Results file '{path}': 'returns' must hold at least one run, every run with the same (positive) number of episodes.");
            if (metric != PlotMetric.Return) rows = ReadSuccesses(root, path, rows, metric == PlotMetric.CumulativeSuccess);
            return new PlotInput(label, rows, stepsPerEpisode, optimal, path);
        }
    }

    /// <summary>The <c>successes</c> array as 0/1 rows of the same shape as <paramref name="returns"/>; running maxima when <paramref name="cumulative"/>.</summary>
    private static double[][] ReadSuccesses(JsonElement root, string path, double[][] returns, bool cumulative)
    {
        if (!root.TryGetProperty("successes", out var successes) || successes.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"Results file '{path}' has no 'successes' array (tasks × episodes), which --metric success and cumulative-success need; " +
                "dicp evaluate writes it for environments with a success criterion (Meta-World, point-robot).");
        var rows = successes.EnumerateArray().Select((row, i) => row.ValueKind == JsonValueKind.Array
            ? row.EnumerateArray().Select((v, j) => v.ValueKind switch
            {
                JsonValueKind.True => 1.0,
                JsonValueKind.False => 0.0,
                _ => throw new InvalidDataException($"Results file '{path}': 'successes[{i}][{j}]' is {v.GetRawText()}, not true or false."),
            }).ToArray()
            : throw new InvalidDataException($"Results file '{path}': 'successes[{i}]' must be an array of true/false (tasks × episodes).")).ToArray();
        if (rows.Length != returns.Length || rows.Where((r, i) => r.Length != returns[i].Length).Any())
            throw new InvalidDataException($"Results file '{path}': 'successes' must have the shape of 'returns' ({returns.Length} × {returns[0].Length}).");
        if (cumulative)
            foreach (var r in rows)
                for (var j = 1; j < r.Length; j++) r[j] = Math.Max(r[j], r[j - 1]); // solved at least once so far
        return rows;
    }
}
