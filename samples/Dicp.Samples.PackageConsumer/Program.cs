// Uses Dicp from its NuGet packages for the whole workflow: PPO learning histories on a few Darkroom goals → a small
// DICP-AD trained on them → saved → loaded back → evaluated in context on a held-out goal with beam-search planning.
// Tiny sizes, so it runs in seconds and learns little; Presets holds the shipped settings (DicpAdDarkroomSmall learns).
using System.Reflection;
using Dicp;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;

var dir = Directory.CreateTempSubdirectory("dicp-sample-").FullName;
var tasks = new DarkroomTasks();
var (train, test) = tasks.Split(seed: 0, trainRatio: 0.9);
await new HistoryCollector(tasks, new HistoryCollectionOptions(Path.Combine(dir, "data"), train[..3], Streams: 2, StepsPerStream: 100)).RunAsync();

var model = InContextModels.Create(Presets.DicpAdDarkroomSmall.Model with { NTransit = 8, Layers = 1 }, seed: 0);
using (var histories = HistoryDataset.Open(Path.Combine(dir, "data"), train[..3]))
    new Trainer(model, histories, test: null, new TrainerOptions(Steps: 20, BatchSize: 8, LogInterval: 10), Path.Combine(dir, "run")).Run();
model.Save(Path.Combine(dir, "model.safetensors"));

var loaded = InContextModels.Load(Path.Combine(dir, "model.safetensors"));
var planner = Planners.Create(Presets.DicpAdDarkroomSmall.Planner with { BeamK = 3, Horizon = 2 }, loaded, seed: 1);
var result = InContextEvaluator.Run(loaded, [tasks.Create(test[0])], planner, new EvaluationOptions(Episodes: 2));

var version = typeof(IInContextModel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
Console.WriteLine($"Dicp.Core {version}: {loaded.Name} with {loaded.Network.ParameterCount()} parameters (n_transit {loaded.Config!.NTransit}), planner {planner.Name}");
Console.WriteLine($"returns on goal {test[0]}: {string.Join(", ", result.Returns[0])}");
Directory.Delete(dir, recursive: true);
