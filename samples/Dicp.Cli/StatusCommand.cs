using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Dicp.Training;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp status RUN [RUN ...] [--json]</c>: where each run directory stands, read from its files without touching them:
/// whether a process is training it now, its last logged step and checkpoint of how many, the recent rate and the time
/// left, the last training and test loss, and the checkpoint's numerics history.
/// </summary>
internal static class StatusCommand
{
    /// <summary>One run directory's state.</summary>
    /// <param name="Run">The directory as given.</param>
    /// <param name="State"><c>training</c> (a process holds its lock), <c>done</c> (final model written, all steps), <c>stopped</c>, or <c>not started</c>.</param>
    /// <param name="Step">The last step in <c>metrics.csv</c> (0: none).</param>
    /// <param name="CheckpointStep">The checkpoint's step (0: none); a resume starts there.</param>
    /// <param name="Steps">The run's total steps (its <c>run-config.json</c>).</param>
    /// <param name="StepsPerSecond">The rate of the last <c>timing.csv</c> row (NaN: none).</param>
    /// <param name="EtaSeconds">The time left at that rate while training (NaN otherwise).</param>
    /// <param name="Loss">The last logged training loss (NaN: none).</param>
    /// <param name="TestLoss">The last logged test loss (NaN: none).</param>
    /// <param name="Numerics">The checkpoint's kernel numerics history (null: not recorded).</param>
    internal sealed record RunStatus(string Run, string State, int Step, int CheckpointStep, int Steps, double StepsPerSecond,
        double EtaSeconds, double Loss, double TestLoss, string? Numerics);

    public static Command Create()
    {
        var runs = new Argument<string[]>("run") { Description = "Run directories (written by dicp train).", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "One JSON object per run instead of the table." };
        var cmd = new Command("status", "Show where run directories stand: training now or stopped, step of steps, rate and time left, losses, numerics.") { runs, json };
        cmd.SetAction((parse, ct) => Task.FromResult(Run(parse.GetValue(runs)!, parse.GetValue(json))));
        return cmd;
    }

    /// <summary>Prints the status of each run; returns the exit code (0, or 2 when a directory is not a readable run).</summary>
    internal static int Run(IReadOnlyList<string> runs, bool json)
    {
        try
        {
            var all = runs.Select(Read).ToArray();
            if (json)
            {
                foreach (var s in all) Console.Out.WriteLine(ToJson(s));
                return 0;
            }
            string[] header = ["RUN", "STATE", "STEP", "CHECKPOINT", "STEPS/S", "LEFT", "LOSS", "TEST LOSS", "NUMERICS"];
            var rows = all.Select(s => new[]
            {
                s.Run, s.State, $"{Count(s.Step)} / {Count(s.Steps)}", Count(s.CheckpointStep), Number(s.StepsPerSecond, "F2"),
                Duration(s.EtaSeconds), Number(s.Loss, "F4"), Number(s.TestLoss, "F4"), s.Numerics ?? "",
            }).ToArray();
            var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
            foreach (var row in rows.Prepend(header))
                Console.Out.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
            return 0;
        }
        catch (Exception e) when (CliErrors.IsUserError(e))
        {
            return CliErrors.Report(e);
        }
    }

    /// <summary>Reads one run directory's files (nothing is written or locked for longer than an instant).</summary>
    /// <exception cref="ConfigException">Not a run directory.</exception>
    /// <exception cref="InvalidDataException">The checkpoint, metrics or timing file is malformed (named).</exception>
    internal static RunStatus Read(string run)
    {
        if (!Directory.Exists(run)) throw new ConfigException($"{run}: no such run directory.");
        var steps = RunConfig.ReadRun(run).Training.Steps;
        var checkpointPath = TrainingCheckpoint.PathIn(run);
        var checkpoint = File.Exists(checkpointPath) ? TrainingCheckpoint.Read(checkpointPath) : null;
        var metrics = LastRows(Path.Combine(run, Trainer.MetricsFileName));
        var timing = LastRows(Path.Combine(run, Trainer.TimingFileName));
        var step = metrics.Rows.Count > 0 ? (int)Cell(metrics, metrics.Rows[^1], "step") : 0;
        var rate = timing.Rows.Count > 0 ? Cell(timing, timing.Rows[^1], "steps_per_second") : double.NaN;
        var training = RunDirectoryLock.IsInUse(run);
        var done = File.Exists(Path.Combine(run, Trainer.ModelFileName)) && checkpoint is not null && checkpoint.Step >= steps;
        var state = training ? "training" : done ? "done" : checkpoint is null && step == 0 ? "not started" : "stopped";
        var eta = training && rate > 0 ? (steps - step) / rate : double.NaN;
        return new RunStatus(run, state, step, checkpoint?.Step ?? 0, steps, rate, eta,
            LastValue(metrics, "loss"), LastValue(metrics, "test_loss"), checkpoint?.Numerics);
    }

    private sealed record Csv(string Path, string[] Columns, List<string[]> Rows);

    /// <summary>The header and the last rows of a CSV file (an absent file: none). A row cut off by a crash is ignored.</summary>
    private static Csv LastRows(string path)
    {
        if (!File.Exists(path)) return new Csv(path, [], []);
        var lines = File.ReadAllLines(path);
        var columns = lines.Length > 0 ? lines[0].Split(',') : [];
        var rows = lines.Skip(1).TakeLast(200).Select(l => l.Split(',')).Where(r => r.Length == columns.Length).ToList();
        return new Csv(path, columns, rows);
    }

    private static double Cell(Csv csv, string[] row, string column)
    {
        var i = Array.IndexOf(csv.Columns, column);
        if (i < 0) throw new InvalidDataException($"{csv.Path}: no column '{column}'.");
        if (row[i].Length == 0) return double.NaN;
        return double.TryParse(row[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
            : throw new InvalidDataException($"{csv.Path}: column '{column}' holds '{row[i]}', not a number.");
    }

    /// <summary>The last non-empty value of a column among the last rows (NaN: none, or no such column).</summary>
    private static double LastValue(Csv csv, string column)
    {
        if (!csv.Columns.Contains(column)) return double.NaN;
        for (var r = csv.Rows.Count - 1; r >= 0; r--)
            if (Cell(csv, csv.Rows[r], column) is var v && !double.IsNaN(v)) return v;
        return double.NaN;
    }

    private static string Count(int n) => n.ToString("N0", CultureInfo.InvariantCulture).Replace(',', ' ');

    private static string Number(double v, string format) => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);

    private static string Duration(double seconds) => double.IsNaN(seconds) ? "–"
        : seconds < 3600 ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:F0} min")
        : string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600:F1} h");

    private static string ToJson(RunStatus s)
    {
        static double? Finite(double v) => double.IsFinite(v) ? v : null;
        return JsonSerializer.Serialize(new
        {
            run = s.Run, state = s.State, step = s.Step, checkpoint_step = s.CheckpointStep, steps = s.Steps,
            steps_per_second = Finite(s.StepsPerSecond), eta_seconds = Finite(s.EtaSeconds), loss = Finite(s.Loss),
            test_loss = Finite(s.TestLoss), numerics = s.Numerics,
        });
    }
}
