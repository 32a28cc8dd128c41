using System.CommandLine;
using Dicp.Cli;

var root = new RootCommand("dicp — Distillation for In-Context Planning on .NET.");

var steps = new Option<int>("--steps") { Description = "Training steps.", DefaultValueFactory = _ => 600 };
var seed = new Option<int>("--seed") { Description = "Seed for initialisation and data.", DefaultValueFactory = _ => 0 };
var batch = new Option<int>("--batch") { Description = "Sequences per step.", DefaultValueFactory = _ => 32 };
var demo = new Command("demo", "Train a small Transformer on a copy task with Dicp's engine and print its loss falling.") { steps, seed, batch };
demo.SetAction((parse, ct) =>
{
    var r = EngineDemo.Run(new EngineDemo.Options(Steps: parse.GetValue(steps), Batch: parse.GetValue(batch), Seed: parse.GetValue(seed)), Console.Out, ct);
    return Task.FromResult(r.HeldOutAccuracy > 0.5 ? 0 : 1);
});
root.Subcommands.Add(demo);
root.Subcommands.Add(TasksCommand.Create());
root.Subcommands.Add(CollectCommand.Create());
root.Subcommands.Add(PlotCommand.Create());
root.Subcommands.Add(QuickstartCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(StatusCommand.Create());

root.Options.Add(CliOutput.QuietOption);
root.Options.Add(CliOutput.VerboseOption);

var parsed = root.Parse(args);
try
{
    CliOutput.Configure(parsed);
    if (Dicp.EngineEnvironment.Problem() is { } problem) throw new ArgumentException(problem);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

// A command line that does not parse (unknown option, missing or bad value): one line per problem, exit code 2.
if (parsed.Errors.Count > 0)
{
    var help = $"(see dicp {(parsed.CommandResult.Command == root ? "" : parsed.CommandResult.Command.Name + " ")}--help)";
    for (var i = 0; i < parsed.Errors.Count; i++)
        Console.Error.WriteLine("error: " + string.Join(' ', parsed.Errors[i].Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Replace("as expected type 'System.Nullable`1[System.Int32]'", "as an integer", StringComparison.Ordinal)
            .Replace("as expected type 'System.Int32'", "as an integer", StringComparison.Ordinal)
            .Replace("as expected type 'System.Nullable`1[System.Double]'", "as a number", StringComparison.Ordinal)
            + (i == parsed.Errors.Count - 1 ? " " + help : ""));
    return 2;
}

// SIGINT / SIGTERM cancel the running command, which stops at its next safe point (CliSignals); an exception that
// escapes a command is one line (CliErrors): exit code 2 for bad input, 1 otherwise, the stack trace only with --verbose.
using var signals = CliSignals.Install();
try
{
    var code = await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, CliSignals.Token);
    return CliSignals.ExitCode(code);
}
catch (OperationCanceledException) when (CliSignals.Received != 0)
{
    Console.Error.WriteLine("interrupted.");
    return 128 + CliSignals.Received;
}
catch (Exception e)
{
    return CliErrors.Report(e);
}
