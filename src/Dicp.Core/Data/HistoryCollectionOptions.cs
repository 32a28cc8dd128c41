using Dicp.Rl;

namespace Dicp.Data;

/// <summary>Settings of a <see cref="HistoryCollector"/> run.</summary>
/// <param name="OutputDirectory">Where the task files and <c>manifest.json</c> go (created if missing).</param>
/// <param name="TaskIndices">The tasks to collect (null: all tasks of the family).</param>
/// <param name="Streams">Streams (parallel copies of a task) per learner (100).</param>
/// <param name="StepsPerStream">Environment steps per stream (1000).</param>
/// <param name="Seed">Base seed; task <c>i</c>'s learner and environments use <c>Seed + i</c> (0).</param>
/// <param name="MaxParallelism">Tasks collected at once (0: <see cref="Environment.ProcessorCount"/>).</param>
/// <param name="SplitSeed">The train/test split seed written to the manifest (null: the family's default).</param>
/// <param name="TrainRatio">The train fraction written to the manifest (null: the family's default).</param>
/// <param name="Ppo">PPO's hyperparameters (null: <see cref="PpoOptions.ForEnvironment"/> of the family's name).</param>
/// <param name="Algorithm">The source algorithm: <c>"ppo"</c> (<see cref="Rl.Ppo"/>, the default) or <c>"sac"</c>
/// (<see cref="Rl.Sac"/>, box action spaces only).</param>
/// <param name="Sac">SAC's hyperparameters when <paramref name="Algorithm"/> is <c>"sac"</c> (null:
/// <see cref="SacOptions.ForEnvironment"/> of the family's name).</param>
/// <param name="Shard">Collect only this shard of the tasks (null: all of them); see <see cref="CollectionShard"/>.</param>
/// <param name="HistoriesFrom">Another collection's directory whose task files to reuse (null: none). The histories do not
/// depend on the train/test split (task <c>i</c>'s learner is seeded by <c>Seed + i</c> alone), so another split of the
/// same histories needs no collection: each of this run's tasks that the output directory lacks and whose file there is a
/// valid history of the requested settings is hard-linked (copied where a link is impossible) into the output directory
/// and skipped; the others are collected. A file there made with other settings is an error; an invalid one is ignored.
/// Linked files are never modified in place (a re-collection replaces a file by renaming), so the two directories stay
/// independent.</param>
public sealed record HistoryCollectionOptions(
    string OutputDirectory,
    IReadOnlyList<int>? TaskIndices = null,
    int Streams = 100,
    int StepsPerStream = 1000,
    int Seed = 0,
    int MaxParallelism = 0,
    int? SplitSeed = null,
    double? TrainRatio = null,
    PpoOptions? Ppo = null,
    string Algorithm = "ppo",
    SacOptions? Sac = null,
    CollectionShard? Shard = null,
    string? HistoriesFrom = null)
{
    /// <summary>The algorithm names <see cref="Algorithm"/> accepts.</summary>
    public static IReadOnlyList<string> Algorithms { get; } = ["ppo", "sac"];
}
