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

    /// <summary>Opens the tasks of <paramref name="split"/> (in the manifest's shuffled split order).</summary>
    /// <param name="directory">The collection directory.</param>
    /// <param name="split">Which tasks.</param>
    /// <param name="maxTasks">Use only the first this many tasks of the split (null: all).</param>
    /// <param name="streams">Use only the first this many streams of each task (null: all).</param>
    /// <param name="stepsPerStream">Use only the first this many steps of each stream (null: all).</param>
    /// <exception cref="HistoryFormatException">The manifest or a file is invalid, or they disagree.</exception>
    /// <exception cref="FileNotFoundException">The manifest or a task's file is missing.</exception>
    /// <exception cref="ArgumentException">The selection is empty or asks for more streams or steps than were collected.</exception>
    public static HistoryDataset Open(string directory, HistorySplit split, int? maxTasks = null, int? streams = null, int? stepsPerStream = null)
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
        return Open(directory, chosen, streams, stepsPerStream, manifest);
    }

    /// <summary>Opens the given task indices of a collection.</summary>
    /// <exception cref="HistoryFormatException">The manifest or a file is invalid, or they disagree.</exception>
    /// <exception cref="ArgumentException">A task is not in the manifest, the list is empty, or more streams/steps are asked than collected.</exception>
    public static HistoryDataset Open(string directory, IReadOnlyList<int> taskIndices, int? streams = null, int? stepsPerStream = null) =>
        Open(directory, taskIndices, streams, stepsPerStream, HistoryManifest.Read(directory));

    private static HistoryDataset Open(string directory, IReadOnlyList<int> taskIndices, int? streams, int? steps, HistoryManifest manifest)
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
                if (h.Info.Environment != manifest.Environment)
                    throw new HistoryFormatException(path, "environment", $"is '{h.Info.Environment}' but the manifest says '{manifest.Environment}'.");
                if (h.Info.TaskIndex != index)
                    throw new HistoryFormatException(path, "task_index", $"is {h.Info.TaskIndex} but the manifest lists the file for task {index}.");
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
            return new HistoryDataset(directory, manifest, [.. opened], s, t);
        }
        catch
        {
            foreach (var h in opened) h.Dispose();
            throw;
        }
    }

    /// <summary>Unmaps every file.</summary>
    public void Dispose()
    {
        foreach (var t in _tasks) t.Dispose();
    }
}
