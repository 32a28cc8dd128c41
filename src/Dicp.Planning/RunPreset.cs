using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;

namespace Dicp;

/// <summary>The data of a run (a configuration's <c>data</c> section): which histories to train on and how they were (or are to be) collected.</summary>
/// <param name="Environment">The task family: darkroom, darkroom-permuted, dark-key-to-door, point-robot, metaworld-ml1-…</param>
/// <param name="SplitSeed">The train/test split seed (reference: Darkroom 0, the others 4).</param>
/// <param name="TrainRatio">The train fraction of the split.</param>
/// <param name="Streams">Streams per task used for training (the first ones).</param>
/// <param name="StepsPerStream">Steps per stream used for training (the first ones).</param>
/// <param name="MaxTrainTasks">Use only the first this many train tasks of the split (null: all collected).</param>
/// <param name="MaxTestTasks">Use only the first this many test tasks for the test loss (null: all collected).</param>
/// <param name="CollectSeed">The base seed of the collection (task i uses seed + i).</param>
public sealed record DataConfig(
    string Environment = "darkroom",
    int SplitSeed = 0,
    double TrainRatio = 0.9,
    int Streams = 100,
    int StepsPerStream = 1000,
    int? MaxTrainTasks = null,
    int? MaxTestTasks = null,
    int CollectSeed = 0);

/// <summary>The in-context evaluation of a run (a configuration's <c>evaluation</c> section).</summary>
/// <param name="Episodes">Episodes per test task, back to back (reference: 50; 100 with planning).</param>
/// <param name="Greedy">Act greedily instead of sampling from the policy.</param>
/// <param name="Seed">Seeds environments and action sampling.</param>
/// <param name="MaxTasks">Evaluate only the first this many tasks of the split (null: all).</param>
/// <param name="DuringTrainingEpisodes">Episodes of the in-context evaluation during training (0: none).</param>
public sealed record EvaluationConfig(int Episodes = 50, bool Greedy = false, int Seed = 0, int? MaxTasks = null, int DuringTrainingEpisodes = 0);

/// <summary>
/// A whole run as the shipped configurations describe one: the model, the data it trains on, the trainer's settings, the
/// in-context evaluation and the planner (the sections <c>model</c>, <c>data</c>, <c>training</c>, <c>evaluation</c>,
/// <c>planner</c> of a run configuration). <see cref="Presets"/> holds every shipped one.
/// </summary>
/// <param name="Name">The configuration's name, e.g. <c>dicp-ad-darkroom</c>.</param>
/// <param name="Model">The model.</param>
/// <param name="Data">The histories.</param>
/// <param name="Training">The trainer's settings.</param>
/// <param name="Evaluation">The in-context evaluation.</param>
/// <param name="Planner">The planner (null settings: the library's defaults).</param>
public sealed record RunPreset(string Name, ModelConfig Model, DataConfig Data, TrainerOptions Training, EvaluationConfig Evaluation, PlannerConfig Planner);
