using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dicp.Environments;
using Dicp.IO;
using Dicp.Rl;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dicp.Data;

/// <summary>
/// Collects source-algorithm (PPO or SAC, <see cref="HistoryCollectionOptions.Algorithm"/>) learning histories for tasks of an <see cref="ITaskSet"/>, several tasks in parallel, one learner per
/// task (seed = base seed + task index) driving <see cref="HistoryCollectionOptions.Streams"/> copies of the task in
/// lock-step. Resumable: a task whose file already exists and validates against the requested settings is skipped;
/// files are written atomically, so an interrupted run leaves only complete files (and temporaries that the next run on
/// those tasks removes). Several collectors may share one directory (each its own <see cref="HistoryCollectionOptions.Shard"/>):
/// the manifest is merged under a file lock, and a collector whose settings disagree with the directory's fails before
/// any work.
/// </summary>
public sealed class HistoryCollector
{
    private readonly ITaskSet _tasks;
    private readonly HistoryCollectionOptions _o;
    private readonly ILogger<HistoryCollector> _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly PpoOptions _ppo;
    private readonly SacOptions _sac;
    private readonly string _algorithm;
    private readonly int[] _indices;
    private readonly int _probeIndex;

    /// <summary>Creates the collector.</summary>
    /// <param name="tasks">The task family.</param>
    /// <param name="options">What to collect and where.</param>
    /// <param name="loggerFactory">Creates the collector's and the learners' loggers (default: none).</param>
    /// <exception cref="ArgumentException">An option is invalid or a task index is out of range.</exception>
    public HistoryCollector(ITaskSet tasks, HistoryCollectionOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.OutputDirectory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Streams);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.StepsPerStream);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxParallelism);
        _tasks = tasks;
        _o = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<HistoryCollector>();
        _ppo = options.Ppo ?? PpoOptions.ForEnvironment(tasks.Name);
        _ppo.Validate();
        _sac = options.Sac ?? SacOptions.ForEnvironment(tasks.Name);
        _sac.Validate();
        _algorithm = (options.Algorithm ?? "").ToLowerInvariant();
        if (!HistoryCollectionOptions.Algorithms.Contains(_algorithm))
            throw new ArgumentException($"Unknown source algorithm '{options.Algorithm}'; expected one of: {string.Join(", ", HistoryCollectionOptions.Algorithms)}.", nameof(options));
        var indices = options.TaskIndices ?? Enumerable.Range(0, tasks.Count).ToArray();
        foreach (var i in indices)
            if ((uint)i >= (uint)tasks.Count)
                throw new ArgumentException($"Task index {i} is outside [0, {tasks.Count}) of '{tasks.Name}'.", nameof(options));
        int[] all = [.. indices.Distinct().Order()];
        if (all.Length == 0) throw new ArgumentException("No tasks to collect.", nameof(options));
        _probeIndex = all[0];
        _indices = options.Shard is { } shard ? shard.Select(all) : all;
    }

    /// <summary>The tasks of this run (of its shard, when <see cref="HistoryCollectionOptions.Shard"/> is set), ascending.</summary>
    public IReadOnlyList<int> TaskIndices => _indices;

    /// <summary>The collection's lock file inside the output directory (it stays there, empty): collectors of shards of one
    /// directory take turns reading and rewriting its manifest under it.</summary>
    public const string CollectionLockFileName = ".collect.lock";

    /// <summary>How long <see cref="RunAsync"/> waits for another collector's lock on the directory before failing (2 minutes).</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Under the directory's lock: checks the settings against an existing manifest, removes temporary files that
    /// interrupted runs left for this run's tasks, takes the valid task files it lacks from
    /// <see cref="HistoryCollectionOptions.HistoriesFrom"/> when set, checks this run's existing task files, and writes the manifest (the
    /// union of the tasks it lists and this run's). Then collects every task of this run that lacks a valid file, up to
    /// <see cref="HistoryCollectionOptions.MaxParallelism"/> at once. Several collectors (disjoint shards) may run on one
    /// directory at once.
    /// </summary>
    /// <param name="progress">Receives a report when a task starts, after each learner update, and when it completes or is skipped (from worker threads).</param>
    /// <param name="cancellationToken">Stops the run between steps; finished files stay, unfinished tasks leave nothing.</param>
    /// <exception cref="InvalidOperationException">The directory holds a manifest or a task file made with different settings (the message names them).</exception>
    /// <exception cref="IOException">The output directory is a file, a task file's path is a directory, the directory cannot be written or locked, or the histories directory does not exist.</exception>
    /// <exception cref="ArgumentException">The histories directory is the output directory.</exception>
    /// <exception cref="UnauthorizedAccessException">The output directory is not writable.</exception>
    /// <exception cref="CollectionCanceledException">Cancelled; it carries the tasks finished so far.</exception>
    public async Task<CollectionResult> RunAsync(IProgress<CollectionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var sw = Stopwatch.StartNew();
        var dir = _o.OutputDirectory;
        if (File.Exists(dir)) throw new IOException($"Output directory '{dir}' is an existing file.");
        if (_o.HistoriesFrom is { } from)
        {
            if (!Directory.Exists(from)) throw new IOException($"The histories directory '{from}' does not exist.");
            if (string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(from)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)), StringComparison.Ordinal))
                throw new ArgumentException($"The histories directory '{from}' is the output directory itself.");
        }
        Directory.CreateDirectory(dir);
        var hyper = Probe().Hyperparameters;
        var hyperJson = JsonSerializer.Serialize(hyper);
        var infos = _indices.ToDictionary(i => i, i =>
            new TaskHistoryInfo(_tasks.Name, i, _tasks.Describe(i), _algorithm, hyperJson, unchecked(_o.Seed + i), _o.Streams, _o.StepsPerStream));
        HashSet<int> existing;
        int[] reused = [];
        var reusedByCopy = 0;
        using (DirectoryLock.Acquire(dir, CollectionLockFileName, "collector", LockTimeout, cancellationToken))
        {
            var manifest = MergeManifest(JsonSerializer.SerializeToNode(hyper)!.AsObject());
            RemoveStaleTemporaries();
            if (_o.HistoriesFrom is not null) (reused, reusedByCopy) = Reuse(_o.HistoriesFrom, infos);
            existing = [.. _indices.Where(i => IsDone(Path.Combine(dir, HistoryFormat.TaskFileName(i)), infos[i]))];
            manifest.Write(dir);
        }

        var collected = new ConcurrentBag<int>();
        var skipped = new ConcurrentBag<int>();
        var finished = 0;
        var total = _indices.Length;
        var parallelism = _o.MaxParallelism > 0 ? _o.MaxParallelism : Environment.ProcessorCount;
        _logger.LogInformation("Collecting {Count} '{Environment}' tasks ({Streams} streams × {Steps} steps, seed {Seed}) into {Directory} with {Parallelism} workers",
            total, _tasks.Name, _o.Streams, _o.StepsPerStream, _o.Seed, dir, parallelism);
        var po = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken };
        try
        {
            await Parallel.ForEachAsync(_indices, po, (index, ct) =>
            {
                var info = infos[index];
                var path = Path.Combine(dir, HistoryFormat.TaskFileName(index));
                if (existing.Contains(index))
                {
                    skipped.Add(index);
                    progress?.Report(new CollectionProgress(CollectionEvent.Skipped, index, _o.StepsPerStream, _o.StepsPerStream, Interlocked.Increment(ref finished), total, double.NaN));
                    _logger.LogInformation("Task {Index} {Task}: valid history exists, skipped", index, Describe(info.Task));
                    return ValueTask.CompletedTask;
                }
                progress?.Report(new CollectionProgress(CollectionEvent.Started, index, 0, _o.StepsPerStream, Volatile.Read(ref finished), total, double.NaN));
                var taskWatch = Stopwatch.StartNew();
                var mean = CollectTask(index, info, path, progress, () => Volatile.Read(ref finished), total, ct);
                collected.Add(index);
                progress?.Report(new CollectionProgress(CollectionEvent.Completed, index, _o.StepsPerStream, _o.StepsPerStream, Interlocked.Increment(ref finished), total, mean));
                _logger.LogInformation("Task {Index} {Task}: collected in {Seconds:F1} s, mean return of the last 5 episodes {Return:F2}",
                    index, Describe(info.Task), taskWatch.Elapsed.TotalSeconds, mean);
                return ValueTask.CompletedTask;
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            var partial = new CollectionResult([.. collected.Order()], [.. skipped.Order()], sw.Elapsed) { Reused = reused, ReusedByCopy = reusedByCopy };
            _logger.LogInformation("Collection cancelled after {Seconds:F1} s: {Collected} collected, {Skipped} skipped", sw.Elapsed.TotalSeconds, partial.Collected.Count, partial.Skipped.Count);
            throw new CollectionCanceledException(partial, e, cancellationToken);
        }
        _logger.LogInformation("Collection finished in {Seconds:F1} s: {Collected} collected, {Skipped} skipped", sw.Elapsed.TotalSeconds, collected.Count, skipped.Count);
        return new CollectionResult([.. collected.Order()], [.. skipped.Order()], sw.Elapsed) { Reused = reused, ReusedByCopy = reusedByCopy };
    }

    private double CollectTask(int index, TaskHistoryInfo info, string path, IProgress<CollectionProgress>? progress, Func<int> finished, int total, CancellationToken ct)
    {
        var vec = new VectorEnvironment(_ => _tasks.Create(index), _o.Streams);
        var learner = CreateLearner(vec[0].ObservationSpace, vec[0].ActionSpace, _o.Streams, info.Seed, (long)_o.Streams * _o.StepsPerStream);
        var recorder = new HistoryRecorder(info, vec.ObservationSize, vec.ActionSize, vec[0] is IHasOptimalAction);
        var stepProgress = progress is null ? null
            : new InlineProgress<int>(steps => progress.Report(new CollectionProgress(CollectionEvent.Advanced, index, steps, _o.StepsPerStream, finished(), total, double.NaN)));
        var run = LockstepRunner.Run(learner, vec, _o.StepsPerStream, info.Seed, recorder.Record, stepProgress, ct);
        recorder.ToHistory().Save(path);
        return run.MeanReturnOfLastEpisodes(5);
    }

    /// <summary>
    /// Links (or copies) into the output directory every task file of <paramref name="from"/> that this run needs, the
    /// output directory lacks, and that is a valid history of the requested settings (called under the lock).
    /// </summary>
    /// <returns>The tasks taken, ascending, and how many of them were copied.</returns>
    private (int[] Reused, int Copied) Reuse(string from, Dictionary<int, TaskHistoryInfo> infos)
    {
        var dir = _o.OutputDirectory;
        var reused = new List<int>();
        var copied = 0;
        foreach (var i in _indices)
        {
            var name = HistoryFormat.TaskFileName(i);
            var target = Path.Combine(dir, name);
            var source = Path.Combine(from, name);
            if (File.Exists(target) || Directory.Exists(target) || !File.Exists(source)) continue;
            if (!IsDone(source, infos[i], $"not reused from '{from}'")) continue;
            if (!FileLink.LinkOrCopy(source, target)) copied++;
            reused.Add(i);
        }
        _logger.LogInformation("Reused {Count} task files of {Directory} ({Copied} copied, the rest hard-linked)", reused.Count, from, copied);
        return ([.. reused], copied);
    }

    /// <summary>
    /// Whether <paramref name="path"/> holds a valid history made with the requested settings. A file that is not a valid
    /// history (truncated, corrupt) is reported (<paramref name="invalidOutcome"/>: what happens to it) and not done; a
    /// valid one made with other settings is an error.
    /// </summary>
    private bool IsDone(string path, TaskHistoryInfo expected, string invalidOutcome = "collected again")
    {
        if (Directory.Exists(path))
            throw new IOException($"'{path}' is a directory where the history file of task {expected.TaskIndex} belongs; remove it.");
        if (!File.Exists(path)) return false;
        TaskHistoryInfo found;
        try
        {
            using var h = MappedTaskHistory.Open(path);
            found = h.Info;
        }
        catch (HistoryFormatException e)
        {
            _logger.LogWarning("Task {Index}: existing file is invalid, {Outcome}: {Problem}", expected.TaskIndex, invalidOutcome, e.Message);
            return false;
        }
        var differences = found.Differences(expected);
        if (differences.Count > 0)
            throw new InvalidOperationException(
                $"'{path}' holds a history made with other settings: {string.Join("; ", differences)}; use another output directory or the directory's settings.");
        return true;
    }

    /// <summary>Deletes the temporary files that interrupted runs left for this run's tasks and for the manifest (called under the lock).</summary>
    private void RemoveStaleTemporaries()
    {
        var mine = _indices.Select(HistoryFormat.TaskFileName).Append(HistoryFormat.ManifestFileName).ToHashSet(StringComparer.Ordinal);
        foreach (var tmp in Directory.EnumerateFiles(_o.OutputDirectory, ".*.tmp"))
        {
            // AtomicFile's temporaries are ".{name}.{guid}.tmp".
            var name = Path.GetFileName(tmp);
            var target = name.Length > 38 ? name[1..^37] : "";
            if (!mine.Contains(target)) continue;
            File.Delete(tmp);
            _logger.LogWarning("Removed '{File}', an unfinished file left by an interrupted run", tmp);
        }
    }

    /// <summary>
    /// The manifest to write: the requested settings with the union of the tasks the existing manifest lists and this
    /// run's. Called under the lock.
    /// </summary>
    /// <exception cref="InvalidOperationException">The existing manifest was made with other settings.</exception>
    private HistoryManifest MergeManifest(JsonObject hyper)
    {
        var splitSeed = _o.SplitSeed ?? _tasks.DefaultSplitSeed;
        var ratio = _o.TrainRatio ?? _tasks.DefaultTrainRatio;
        var (train, test) = _tasks.Split(splitSeed, ratio);
        var indices = new SortedSet<int>(_indices);
        var manifestPath = Path.Combine(_o.OutputDirectory, HistoryFormat.ManifestFileName);
        var requested = new HistoryManifest(HistoryFormat.Version, _tasks.Name, [], new ManifestSplit(splitSeed, ratio, train, test), _algorithm, hyper,
            _o.Seed, _o.Streams, _o.StepsPerStream);
        if (Directory.Exists(manifestPath)) throw new IOException($"'{manifestPath}' is a directory where the collection's manifest belongs; remove it.");
        if (File.Exists(manifestPath))
        {
            var old = HistoryManifest.Read(_o.OutputDirectory);
            var differences = old.SettingsDifferences(requested);
            if (differences.Count > 0)
                throw new InvalidOperationException(
                    $"'{manifestPath}' describes a collection with other settings: {string.Join("; ", differences)}; use another output directory or the directory's settings.");
            foreach (var t in old.Tasks) indices.Add(t.Index);
        }
        var tasks = indices.Select(i => new ManifestTask(i, _tasks.Describe(i), HistoryFormat.TaskFileName(i))).ToArray();
        return requested with { Tasks = tasks };
    }

    private ISourceAlgorithm Probe()
    {
        var env = _tasks.Create(_probeIndex);
        return CreateLearner(env.ObservationSpace, env.ActionSpace, 1, 0, 1);
    }

    private ISourceAlgorithm CreateLearner(Space observationSpace, Space actionSpace, int streams, int seed, long maxTransitions) => _algorithm switch
    {
        "sac" => new Sac(observationSpace, actionSpace, streams, _sac, seed, _loggerFactory.CreateLogger<Sac>(), maxTransitions),
        _ => new Ppo(observationSpace, actionSpace, streams, _ppo, seed, _loggerFactory.CreateLogger<Ppo>()),
    };

    private static string Describe(int[] task) => "[" + string.Join(",", task) + "]";

    /// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread.</summary>
    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
