using System.CommandLine;
using System.Text.Json;
using Dicp.Cli.Plotting;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp plot results.json [more.json …] --out curves.png</c>: learning curves of runs on one chart, PNG or SVG by the
/// extension of <c>--out</c>.
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
        var cmd = new Command("plot", "Draw the learning curves (mean return per episode with a confidence band) of one or more evaluations as PNG or SVG; "
            + "files with the same label (e.g. one per evaluation seed) are pooled into one curve.")
            { files, output, xAxis, title, confidence };
        cmd.SetAction((parse, _) =>
        {
            try
            {
                var outPath = parse.GetValue(output)!;
                var n = Run(parse.GetValue(files)!, outPath, parse.GetValue(xAxis) == "steps", parse.GetValue(title)!, parse.GetValue(confidence));
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

    /// <summary>Reads, pools and draws <paramref name="files"/> into <paramref name="outPath"/>; returns the number of curves.</summary>
    /// <exception cref="ArgumentException">An unknown image extension or a confidence outside (0, 1).</exception>
    /// <exception cref="InvalidDataException">A results file that is not what <c>dicp evaluate</c> writes (the message names file and field).</exception>
    /// <exception cref="IOException">A missing or unreadable file.</exception>
    internal static int Run(IReadOnlyList<string> files, string outPath, bool steps, string title, double confidence)
    {
        LearningCurveChart.FormatOf(outPath); // fail before reading anything
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentException($"--confidence must lie in (0, 1), got {confidence}.");
        var curves = new List<LearningCurve>();
        var references = new List<ReferenceLine>();
        var inputs = Pool(files.Select(ReadResults));
        foreach (var r in inputs)
        {
            if (steps && r.StepsPerEpisode == 0)
                throw new InvalidDataException($"Results file '{r.Source}' has no 'steps_per_episode', which --x steps needs.");
            curves.Add(LearningCurve.FromReturns(r.Label, r.Returns, confidence, steps ? r.StepsPerEpisode : 0));
            if (r.OptimalReturn is { } opt && references.All(x => Math.Abs(x.Y - opt) > 1e-9))
                references.Add(new ReferenceLine("optimal", opt));
        }
        var (yMin, yMax) = FeasibleRange(inputs);
        LearningCurveChart.Save(outPath, curves, new ChartOptions(Title: title, XLabel: steps ? "environment steps" : "episode", YMin: yMin, YMax: yMax), references);
        if (LearningCurveChart.FontWarning(outPath) is { } warning) Console.Error.WriteLine(warning);
        return curves.Count;
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

    /// <summary>What the chart needs from a results file.</summary>
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

    /// <summary>Reads <c>returns</c> (tasks × episodes) and labels from a results file, with errors naming file and field.</summary>
    internal static PlotInput ReadResults(string path)
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
            return new PlotInput(label, rows, stepsPerEpisode, optimal, path);
        }
    }
}
