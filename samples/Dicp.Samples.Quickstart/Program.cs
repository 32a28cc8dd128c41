// The Darkroom pipeline of `dicp quickstart` through Dicp's public API: PPO learning histories → DICP-AD → in-context
// evaluation on held-out goals, with and without beam-search planning.
// Usage: dotnet run -c Release --project samples/Dicp.Samples.Quickstart -- [output directory] [--tiny]
using Dicp;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;

var dir = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "dicp-sample";
var tiny = args.Contains("--tiny"); // seconds instead of minutes: for smoke tests, learns little
var tasks = new DarkroomTasks();
var (train, test) = tasks.Split(seed: 0, trainRatio: 0.9); // the reference's split: 73 train goals, 8 held out
if (tiny) train = train[..4];

// 1. Learning histories: one PPO learner per goal, 20 streams in lock-step, every transition recorded.
var data = Path.Combine(dir, "data");
await new HistoryCollector(tasks, new HistoryCollectionOptions(data, [.. train, .. test], Streams: tiny ? 4 : 20,
    StepsPerStream: tiny ? 200 : 1000)).RunAsync();

// 2. DICP-AD: Algorithm Distillation with world-model heads (reward, next state), trained on the train goals.
var model = InContextModels.Create(Presets.DicpAdDarkroomSmall.Model, seed: 0); // n_transit 40, 2 layers, SwiGLU 64, no dropout
using (var histories = HistoryDataset.Open(data, train))
{
    var options = new TrainerOptions(Steps: tiny ? 40 : 6000, BatchSize: 64, LearningRate: 1e-2f, LogInterval: 500, CheckpointInterval: 1000);
    new Trainer(model, histories, test: null, options, Path.Combine(dir, "run")).Run(); // writes run/model.safetensors
}
model = InContextModels.Load(Path.Combine(dir, "run")); // the trained model, as another program would load it

// 3. In context on the held-out goals: the policy alone, then beam search with the in-context world model.
var evaluation = new EvaluationOptions(Episodes: tiny ? 3 : 30);
foreach (var name in new[] { "none", "beam" }) // beam: K 10, L 5, horizon 8 (the library's defaults, the reference's)
{
    var planner = Planners.Create(new PlannerConfig(name), model);
    var result = InContextEvaluator.Run(model, test.Select(tasks.Create).ToArray(), planner, evaluation);
    result.Save(Path.Combine(dir, $"results-{planner.Name}.json"));
    var m = result.MeanReturnPerEpisode;
    Console.WriteLine($"{planner.Name,-5} first episode {m[0]:F2}, last episode {m[^1]:F2}, mean {m.Average():F2}");
}
