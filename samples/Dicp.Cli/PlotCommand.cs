using System.CommandLine;
using System.Text.Json;
using Dicp.Metrics;

namespace Dicp.Cli;

/// <summary><c>dicp plot results.json [more.json …] --out curves.svg</c>: learning curves of runs on one chart.</summary>
internal static class PlotCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("results") { Description = "results.json files written by 'dicp evaluate'.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "The SVG file to write.", DefaultValueFactory = _ => "curves.svg" };
        var xAxis = new Option<string>("--x") { Description = "x axis: episodes or steps (environment steps).", DefaultValueFactory = _ => "episodes" };
        xAxis.AcceptOnlyFromAmong("episodes", "steps");
        var title = new Option<string>("--title") { Description = "Chart title.", DefaultValueFactory = _ => "In-context learning curves" };
        var confidence = new Option<double>("--confidence") { Description = "Confidence level of the bands.", DefaultValueFactory = _ => 0.95 };
        var cmd = new Command("plot", "Draw the learning curves (mean return per episode with a confidence band) of one or more evaluations as SVG; "
            + "files with the same label (e.g. one per evaluation seed) are pooled into one curve.")
            { files, output, xAxis, title, confidence };
        cmd.SetAction((parse, _) =>
        {
            var steps = parse.GetValue(xAxis) == "steps";
            var curves = new List<LearningCurve>();
            var references = new List<ReferenceLine>();
            foreach (var r in Pool(parse.GetValue(files)!.Select(ReadResults)))
            {
                curves.Add(LearningCurve.FromReturns(r.Label, r.Returns, parse.GetValue(confidence), steps ? r.StepsPerEpisode : 0));
                if (r.OptimalReturn is { } opt && references.All(x => Math.Abs(x.Y - opt) > 1e-9))
                    references.Add(new ReferenceLine("optimal", opt));
            }
            var outPath = parse.GetValue(output)!;
            LearningCurveChart.SaveSvg(outPath, curves,
                new ChartOptions(Title: parse.GetValue(title)!, XLabel: steps ? "environment steps" : "episode"), references);
            Console.Out.WriteLine($"wrote {outPath} ({curves.Count} curve{(curves.Count == 1 ? "" : "s")})");
            return Task.FromResult(0);
        });
        return cmd;
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
            if (!root.TryGetProperty("returns", out var returns) || returns.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"Results file '{path}' has no 'returns' array (tasks × episodes).");
            var rows = returns.EnumerateArray().Select(row => row.ValueKind == JsonValueKind.Array
                ? row.EnumerateArray().Select(v => v.GetDouble()).ToArray()
                : throw new InvalidDataException($"Results file '{path}': 'returns' must be an array of arrays.")).ToArray();
            var label = root.TryGetProperty("label", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString()! : Path.GetFileNameWithoutExtension(path);
            var stepsPerEpisode = root.TryGetProperty("steps_per_episode", out var s) && s.TryGetInt32(out var si) ? si : 0;
            double? optimal = root.TryGetProperty("optimal_return", out var o) && o.ValueKind == JsonValueKind.Number ? o.GetDouble() : null;
            if (rows.Length == 0 || rows.Any(r => r.Length != rows[0].Length || r.Length == 0))
                throw new InvalidDataException($"Results file '{path}': 'returns' must hold at least one run, every run with the same (positive) number of episodes.");
            return new PlotInput(label, rows, stepsPerEpisode, optimal, path);
        }
    }
}
