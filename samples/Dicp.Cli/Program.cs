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

root.Options.Add(CliOutput.QuietOption);
root.Options.Add(CliOutput.VerboseOption);

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // A bad command line is a user error: one line per problem and exit code 2 (not System.CommandLine's help and 1).
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"error: {error.Message}");
    return 2;
}
try
{
    CliOutput.Configure(parsed);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

// Ctrl+C cancels the running command; give a training step time to finish and its checkpoint time to be written.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(120) });
