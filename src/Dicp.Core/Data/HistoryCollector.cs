using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dicp.Environments;
using Dicp.Rl;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dicp.Data;

/// <summary>
/// Collects source-algorithm (PPO or SAC, <see cref="HistoryCollectionOptions.Algorithm"/>) learning histories for tasks of an <see cref="ITaskSet"/>, several tasks in parallel, one learner per
/// task (seed = base seed + task index) driving <see cref="HistoryCollectionOptions.Streams"/> copies of the task in
/// lock-step. Resumable: a task whose file already exists and validates against the requested settings is skipped;
/// files are written atomically, so an interrupted run leaves only complete files.
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
                throw new ArgumentOutOfRangeException(nameof(options), i, $"Task index {i} is outside [0, {tasks.Count}) of '{tasks.Name}'.");
        _indices = [.. indices.Distinct().Order()];
        if (_indices.Length == 0) throw new ArgumentException("No tasks to collect.", nameof(options));
    }

    /// <summary>The tasks of this run, ascending.</summary>
    public IReadOnlyList<int> TaskIndices => _indices;

    /// <summary>
    /// Writes (or extends) the manifest, then collects every task that lacks a valid file, up to
    /// <see cref="HistoryCollectionOptions.MaxParallelism"/> at once.
    /// </summary>
    /// <param name="progress">Receives a report when a task starts, after each learner update, and when it completes or is skipped (from worker threads).</param>
    /// <param name="cancellationToken">Stops the run between steps; finished files stay, unfinished tasks leave nothing.</param>
    /// <exception cref="InvalidOperationException">The directory holds a manifest or a file made with different settings.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<CollectionResult> RunAsync(IProgress<CollectionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var sw = Stopwatch.StartNew();
        Directory.CreateDirectory(_o.OutputDirectory);
        var hyper = Probe().Hyperparameters;
        var hyperJson = JsonSerializer.Serialize(hyper);
        WriteManifest(JsonSerializer.SerializeToNode(hyper)!.AsObject());

        var collected = new ConcurrentBag<int>();
        var skipped = new ConcurrentBag<int>();
        var finished = 0;
        var total = _indices.Length;
        var parallelism = _o.MaxParallelism > 0 ? _o.MaxParallelism : Environment.ProcessorCount;
        _logger.LogInformation("Collecting {Count} '{Environment}' tasks ({Streams} streams × {Steps} steps, seed {Seed}) into {Directory} with {Parallelism} workers",
            total, _tasks.Name, _o.Streams, _o.StepsPerStream, _o.Seed, _o.OutputDirectory, parallelism);
        var po = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(_indices, po, (index, ct) =>
        {
            var info = new TaskHistoryInfo(_tasks.Name, index, _tasks.Describe(index), _algorithm, hyperJson, unchecked(_o.Seed + index), _o.Streams, _o.StepsPerStream);
            var path = Path.Combine(_o.OutputDirectory, HistoryFormat.TaskFileName(index));
            if (IsDone(path, info))
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
        _logger.LogInformation("Collection finished in {Seconds:F1} s: {Collected} collected, {Skipped} skipped", sw.Elapsed.TotalSeconds, collected.Count, skipped.Count);
        return new CollectionResult([.. collected.Order()], [.. skipped.Order()], sw.Elapsed);
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

    /// <summary>Whether <paramref name="path"/> holds a valid history made with the requested settings.</summary>
    private bool IsDone(string path, TaskHistoryInfo expected)
    {
        if (!File.Exists(path)) return false;
        TaskHistory h;
        try
        {
            h = TaskHistory.Read(path);
        }
        catch (HistoryFormatException e)
        {
            _logger.LogWarning("Task {Index}: existing file is invalid and will be collected again: {Problem}", expected.TaskIndex, e.Message);
            return false;
        }
        if (!h.Info.Matches(expected))
            throw new InvalidOperationException(
                $"'{path}' holds a history made with different settings ({Summary(h.Info)}) than requested ({Summary(expected)}); use another output directory or delete the file.");
        return true;
    }

    private void WriteManifest(JsonObject hyper)
    {
        var splitSeed = _o.SplitSeed ?? _tasks.DefaultSplitSeed;
        var ratio = _o.TrainRatio ?? _tasks.DefaultTrainRatio;
        var (train, test) = _tasks.Split(splitSeed, ratio);
        var indices = new SortedSet<int>(_indices);
        var manifestPath = Path.Combine(_o.OutputDirectory, HistoryFormat.ManifestFileName);
        if (File.Exists(manifestPath))
        {
            var old = HistoryManifest.Read(_o.OutputDirectory);
            if (old.Environment != _tasks.Name || old.Algorithm != _algorithm || old.Seed != _o.Seed || old.Streams != _o.Streams
                || old.StepsPerStream != _o.StepsPerStream || old.Split.Seed != splitSeed || old.Split.TrainRatio != ratio
                || old.Hyperparameters.ToJsonString() != hyper.ToJsonString())
                throw new InvalidOperationException($"'{manifestPath}' describes a collection with different settings; use another output directory.");
            foreach (var t in old.Tasks) indices.Add(t.Index);
        }
        var tasks = indices.Select(i => new ManifestTask(i, _tasks.Describe(i), HistoryFormat.TaskFileName(i))).ToArray();
        new HistoryManifest(HistoryFormat.Version, _tasks.Name, tasks, new ManifestSplit(splitSeed, ratio, train, test), _algorithm, hyper,
            _o.Seed, _o.Streams, _o.StepsPerStream).Write(_o.OutputDirectory);
    }

    private ISourceAlgorithm Probe()
    {
        var env = _tasks.Create(_indices[0]);
        return CreateLearner(env.ObservationSpace, env.ActionSpace, 1, 0, 1);
    }

    private ISourceAlgorithm CreateLearner(Space observationSpace, Space actionSpace, int streams, int seed, long maxTransitions) => _algorithm switch
    {
        "sac" => new Sac(observationSpace, actionSpace, streams, _sac, seed, _loggerFactory.CreateLogger<Sac>(), maxTransitions),
        _ => new Ppo(observationSpace, actionSpace, streams, _ppo, seed, _loggerFactory.CreateLogger<Ppo>()),
    };

    private static string Describe(int[] task) => "[" + string.Join(",", task) + "]";

    private static string Summary(TaskHistoryInfo i) =>
        $"environment {i.Environment}, task {i.TaskIndex}, algorithm {i.Algorithm}, seed {i.Seed}, {i.Streams} streams × {i.StepsPerStream} steps, hyperparameters {i.HyperparametersJson}";

    /// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread.</summary>
    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
