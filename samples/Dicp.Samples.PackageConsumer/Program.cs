// Uses Dicp from its NuGet packages: a Darkroom goal, a small (untrained) DICP-AD model, and two in-context episodes
// acting with beam-search planning through the model's world-model heads.
using System.Reflection;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.Models;
using Dicp.Planning;

var tasks = new DarkroomTasks();
var (_, test) = tasks.Split(seed: 0, trainRatio: 0.9);
var model = InContextModels.Create(new ModelConfig(Model: "ad", Dynamics: true, NTransit: 8, Layers: 1), seed: 0);
model.Network.Eval();
var planner = new BeamSearchPlanner(new BeamSearchOptions(BeamWidth: 3, FirstActions: 2, Horizon: 2, Seed: 1));
var result = InContextEvaluator.Run(model, [tasks.Create(test[0])], planner, new EvaluationOptions(Episodes: 2));

var version = typeof(IInContextModel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
Console.WriteLine($"Dicp.Core {version}: {model.Name} with {model.Network.ParameterCount()} parameters, planner {planner.Name}");
Console.WriteLine($"returns on goal {test[0]}: {string.Join(", ", result.Returns[0])}");
