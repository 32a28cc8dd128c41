using System.Globalization;
using Spectre.Console;

namespace Dicp.Cli;

/// <summary>The quickstart's console output: stage progress bars (Spectre.Console) or plain lines when quiet or redirected.</summary>
internal sealed class QuickstartDisplay(bool quiet)
{
    private readonly bool _bars = !quiet && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public void Header(RunConfig c, int trainTasks, int testTasks, string output)
    {
        if (quiet) return;
        if (!_bars)
        {
            Console.Out.WriteLine($"Dicp quickstart: DICP-AD on Darkroom, {trainTasks} train goals, {testTasks} held-out goals -> {Path.GetFullPath(output)}");
            return;
        }
        AnsiConsole.MarkupLine($"[bold]Dicp quickstart[/]: DICP-AD on Darkroom, {trainTasks} train goals, {testTasks} held-out goals → [blue]{Markup.Escape(Path.GetFullPath(output))}[/]");
        AnsiConsole.MarkupLine($"[grey]model: {c.Model.Layers} layers, d {c.Model.EmbeddingDim}, n_transit {c.Model.NTransit}; planner: {c.Planner.Name} (k {c.Planner.BeamK}, l {c.Planner.BeamL}, horizon {c.Planner.Horizon})[/]");
    }

    public void Line(string text)
    {
        if (quiet) return;
        if (_bars) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(text)}[/]");
        else Console.Out.WriteLine(text);
    }

    /// <summary>Runs one stage, showing its progress out of <paramref name="total"/>.</summary>
    public async Task<T> Stage<T>(string title, int total, Func<Action<int>, Task<T>> work)
    {
        if (quiet) return await work(_ => { });
        if (!_bars)
        {
            Console.Out.WriteLine(title + " …");
            var last = -1;
            var gate = new object();
            var r = await work(done =>
            {
                var decile = (int)(10L * done / Math.Max(1, total));
                lock (gate)
                    if (decile > last) { last = decile; Console.Out.WriteLine($"  {done}/{total}"); }
            });
            return r;
        }
        T result = default!;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(1, total));
                result = await work(done => task.Value = Math.Min(total, done));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Mean return per block of episodes, with and without planning, next to the optimal return.</summary>
    public void Table(IReadOnlyList<(string Label, double[] Mean)> rows, double optimal)
    {
        if (quiet || Console.IsOutputRedirected)
        {
            Console.Out.Write(QuickstartCommand.Summary(rows, optimal));
            return;
        }
        var blocks = QuickstartCommand.Blocks(rows[0].Mean.Length);
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]mean return on held-out goals, per block of episodes[/]");
        table.AddColumn("episodes");
        foreach (var b in blocks) table.AddColumn(new TableColumn($"{b.From + 1}–{b.To}").RightAligned());
        foreach (var (label, mean) in rows)
            table.AddRow([Markup.Escape(label), .. blocks.Select(b => QuickstartCommand.BlockMean(mean, b).ToString("F2", CultureInfo.InvariantCulture))]);
        table.AddRow(["[grey]optimal[/]", .. blocks.Select(_ => $"[grey]{optimal.ToString("F2", CultureInfo.InvariantCulture)}[/]")]);
        AnsiConsole.Write(table);
    }
}
