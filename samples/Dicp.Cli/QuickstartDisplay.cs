using Spectre.Console;

namespace Dicp.Cli;

/// <summary>
/// The quickstart's console output, at most 80 columns wide: stage progress bars (Spectre.Console) on an interactive
/// terminal, plain lines when quiet, redirected or writing to <paramref name="plain"/>.
/// </summary>
internal sealed class QuickstartDisplay(bool quiet, TextWriter? plain = null)
{
    /// <summary>The widest line the display writes itself (paths of the user's choosing aside).</summary>
    public const int Columns = 80;

    private readonly TextWriter _out = plain ?? Console.Out;
    private readonly bool _bars = plain is null && !quiet && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public void Header(RunConfig c, int trainTasks, int testTasks, string output)
    {
        if (quiet) return;
        var head = $"Dicp quickstart: DICP-AD on Darkroom, {trainTasks} train goals, {testTasks} held-out goals";
        var model = $"model: {c.Model.Layers} layers, d {c.Model.EmbeddingDim}, n_transit {c.Model.NTransit}; "
            + $"planner: {c.Planner.Name} (k {c.Planner.Resolved().BeamK}, l {c.Planner.Resolved().BeamL}, horizon {c.Planner.Resolved().Horizon})";
        var dir = $"output: {Path.GetFullPath(output)}";
        if (_bars)
        {
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(head)}[/]");
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(model)}[/]");
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(dir)}[/]");
        }
        else
        {
            _out.WriteLine(head);
            _out.WriteLine(model);
            _out.WriteLine(dir);
        }
    }

    public void Line(string text)
    {
        if (quiet) return;
        if (_bars) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(text)}[/]");
        else _out.WriteLine(text);
    }

    /// <summary>Several lines as they are (the timings).</summary>
    public void Block(string text)
    {
        if (quiet) return;
        if (_bars) AnsiConsole.Write(new Text(text));
        else _out.Write(text);
    }

    /// <summary>
    /// Runs one stage, showing its progress out of <paramref name="total"/>: a bar of fixed width (name, bar, percent,
    /// elapsed, remaining: about 70 columns), or a plain line per tenth done.
    /// </summary>
    public async Task<T> Stage<T>(string name, int total, Func<Action<int>, Task<T>> work)
    {
        if (quiet) return await work(_ => { });
        if (!_bars)
        {
            var last = -1;
            var gate = new object();
            return await work(done =>
            {
                var decile = (int)(10L * done / Math.Max(1, total));
                lock (gate)
                    if (decile > last) { last = decile; _out.WriteLine($"   {name}: {done}/{total}"); }
            });
        }
        T result = default!;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 30 }, new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("   " + Markup.Escape(name.PadRight(16)), maxValue: Math.Max(1, total));
                result = await work(done => task.Value = Math.Min(total, done));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>The table of mean return per block of episodes, with and without planning, next to the optimal return.</summary>
    public void Table(string title, IReadOnlyList<(string Label, double[] Mean)> rows, double optimal)
    {
        // The results go to standard output even when quiet: they are what the command is for.
        var text = QuickstartCommand.Summary(title, rows, optimal);
        if (_bars)
        {
            var lines = text.Split('\n', 2);
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(lines[0])}[/]");
            AnsiConsole.Write(new Text(lines[1]));
        }
        else _out.Write(text);
    }
}
