namespace Dicp.Data;

/// <summary>Which tasks of a history collection to use.</summary>
public enum HistorySplit
{
    /// <summary>The manifest's train tasks.</summary>
    Train,

    /// <summary>The manifest's test tasks.</summary>
    Test,

    /// <summary>Every task in the manifest.</summary>
    All,
}

/// <summary>
/// A set of memory-mapped task histories of one collection (a directory with <c>manifest.json</c>), optionally cut to
/// the first <see cref="Streams"/> streams and <see cref="StepsPerStream"/> steps of every task: what the samplers draw
/// windows from. Nothing is loaded into memory beyond the headers.
/// </summary>
public sealed class HistoryDataset : IDisposable
{
    private readonly MappedTaskHistory[] _tasks;

    private HistoryDataset(string directory, HistoryManifest manifest, MappedTaskHistory[] tasks, int streams, int steps)
    {
        (Directory, Manifest, _tasks, Streams, StepsPerStream) = (directory, manifest, tasks, streams, steps);
        ObservationSize = tasks[0].ObservationSize;
        ActionSize = tasks[0].ActionSize;
        HasOptimalActions = tasks.All(t => t.HasOptimalActions);
    }

    /// <summary>The collection's directory.</summary>
    public string Directory { get; }

    /// <summary>The collection's manifest.</summary>
    public HistoryManifest Manifest { get; }

    /// <summary>The mapped task files, in the order requested.</summary>
    public IReadOnlyList<MappedTaskHistory> Tasks => _tasks;

    /// <summary>The streams used per task (the first ones of each file).</summary>
    public int Streams { get; }

    /// <summary>The steps used per stream (the first ones).</summary>
    public int StepsPerStream { get; }

    /// <summary>Floats per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Floats per action.</summary>
    public int ActionSize { get; }

    /// <summary>Whether every task file stores optimal actions.</summary>
    public bool HasOptimalActions { get; }

    /// <summary>Opens the tasks of <paramref name="split"/> (in the manifest's shuffled split order) and validates them as a whole.</summary>
    /// <remarks>
    /// Opening validates, before anything is sampled: the manifest (format, unique task indices, plain file names); every
    /// opened file's header (dtypes, shapes, done flags 0/1); every file's metadata against the manifest (environment,
    /// task index and parameters, algorithm, hyperparameters, seed = manifest seed + task index, streams, steps per
    /// stream); and every value of every opened file against <paramref name="values"/> (default
    /// <see cref="HistoryValueRules.FiniteOnly"/>: no NaN or infinity). Files are checked in parallel; the error reported is
    /// the first in the requested task order.
    /// </remarks>
    /// <param name="directory">The collection directory.</param>
    /// <param name="split">Which tasks.</param>
    /// <param name="maxTasks">Use only the first this many tasks of the split (null: all).</param>
    /// <param name="streams">Use only the first this many streams of each task (null: all).</param>
    /// <param name="stepsPerStream">Use only the first this many steps of each stream (null: all).</param>
    /// <param name="values">The value rules (null: <see cref="HistoryValueRules.FiniteOnly"/>; <see cref="HistoryValueRules.None"/> skips the value pass).</param>
    /// <exception cref="HistoryFormatException">The manifest or a file is invalid, they disagree, or a value breaks a rule (the message names file, field, position and value).</exception>
    /// <exception cref="FileNotFoundException">The manifest or a task's file is missing.</exception>
    /// <exception cref="ArgumentException">The selection is empty or asks for more streams or steps than were collected.</exception>
    public static HistoryDataset Open(string directory, HistorySplit split, int? maxTasks = null, int? streams = null, int? stepsPerStream = null,
        HistoryValueRules? values = null)
    {
        var manifest = HistoryManifest.Read(directory);
        IEnumerable<int> indices = split switch
        {
            HistorySplit.Train => manifest.Split.Train,
            HistorySplit.Test => manifest.Split.Test,
            _ => manifest.Tasks.Select(t => t.Index),
        };
        var collected = manifest.Tasks.Select(t => t.Index).ToHashSet();
        // Only the tasks that were collected: a partial collection (a few tasks) keeps the split's order.
        var chosen = indices.Where(collected.Contains).ToList();
        if (maxTasks is { } k)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k, nameof(maxTasks));
            chosen = chosen.Take(k).ToList();
        }
        if (chosen.Count == 0)
            throw new ArgumentException($"History collection '{directory}' holds no {split.ToString().ToLowerInvariant()} tasks (its manifest lists {manifest.Tasks.Count} tasks).", nameof(split));
        return Open(directory, chosen, streams, stepsPerStream, manifest, values);
    }

    /// <summary>Opens the given task indices of a collection and validates them as a whole (as <see cref="Open(string, HistorySplit, int?, int?, int?, HistoryValueRules?)"/> does).</summary>
    /// <exception cref="HistoryFormatException">The manifest or a file is invalid, they disagree, or a value breaks a rule.</exception>
    /// <exception cref="ArgumentException">A task is not in the manifest, the list is empty, or more streams/steps are asked than collected.</exception>
    public static HistoryDataset Open(string directory, IReadOnlyList<int> taskIndices, int? streams = null, int? stepsPerStream = null,
        HistoryValueRules? values = null) =>
        Open(directory, taskIndices, streams, stepsPerStream, HistoryManifest.Read(directory), values);

    private static HistoryDataset Open(string directory, IReadOnlyList<int> taskIndices, int? streams, int? steps, HistoryManifest manifest,
        HistoryValueRules? values)
    {
        ArgumentNullException.ThrowIfNull(taskIndices);
        if (taskIndices.Count == 0) throw new ArgumentException("No tasks were selected.", nameof(taskIndices));
        var byIndex = manifest.Tasks.ToDictionary(t => t.Index);
        var opened = new List<MappedTaskHistory>(taskIndices.Count);
        try
        {
            foreach (var index in taskIndices)
            {
                if (!byIndex.TryGetValue(index, out var entry))
                    throw new ArgumentException($"Task {index} is not in the manifest of '{directory}'; collect it first (dicp collect --tasks {index}).", nameof(taskIndices));
                var path = Path.Combine(directory, entry.File);
                var h = MappedTaskHistory.Open(path);
                opened.Add(h);
                var differences = h.Info.Differences(manifest.Expected(entry));
                if (differences.Count > 0)
                    throw new HistoryFormatException(path, null,
                        $"its metadata disagrees with '{Path.Combine(directory, HistoryFormat.ManifestFileName)}': {string.Join("; ", differences)}; the folder mixes files of different collections.");
                if (h.ObservationSize != opened[0].ObservationSize || h.ActionSize != opened[0].ActionSize)
                    throw new HistoryFormatException(path, HistoryFormat.States,
                        $"has observation/action sizes {h.ObservationSize}/{h.ActionSize}, but '{opened[0].Path}' has {opened[0].ObservationSize}/{opened[0].ActionSize}.");
            }
            var minStreams = opened.Min(h => h.Streams);
            var minSteps = opened.Min(h => h.StepsPerStream);
            var s = streams ?? minStreams;
            var t = steps ?? minSteps;
            if (s <= 0 || s > minStreams)
                throw new ArgumentException($"{s} streams per task were asked, but '{directory}' holds {minStreams} (in its smallest file).", nameof(streams));
            if (t <= 0 || t > minSteps)
                throw new ArgumentException($"{t} steps per stream were asked, but '{directory}' holds {minSteps} (in its shortest file).", nameof(steps));
            ValidateValues(opened, values ?? HistoryValueRules.FiniteOnly);
            return new HistoryDataset(directory, manifest, [.. opened], s, t);
        }
        catch
        {
            foreach (var h in opened) h.Dispose();
            throw;
        }
    }

    /// <summary>Checks every value of every file in parallel; throws the error of the first file (in task order) that fails.</summary>
    private static void ValidateValues(List<MappedTaskHistory> files, HistoryValueRules rules)
    {
        if (!rules.ChecksValues) return;
        var errors = new HistoryFormatException?[files.Count];
        Parallel.For(0, files.Count, i =>
        {
            try
            {
                files[i].ValidateValues(rules);
            }
            catch (HistoryFormatException e)
            {
                errors[i] = e;
            }
        });
        var first = Array.Find(errors, e => e is not null);
        if (first is not null) throw first;
    }

    /// <summary>Unmaps every file.</summary>
    public void Dispose()
    {
        foreach (var t in _tasks) t.Dispose();
    }
}
