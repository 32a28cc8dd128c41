namespace Dicp.Data;

/// <summary>What happened to a task during a <see cref="HistoryCollector"/> run.</summary>
public enum CollectionEvent
{
    /// <summary>The task's learner started.</summary>
    Started,

    /// <summary>The task's learner finished an update (<see cref="CollectionProgress.Steps"/> advanced).</summary>
    Advanced,

    /// <summary>The task's history was written.</summary>
    Completed,

    /// <summary>A valid history already existed; the task was skipped.</summary>
    Skipped,
}

/// <summary>A progress report of a <see cref="HistoryCollector"/> run.</summary>
/// <param name="Event">What happened.</param>
/// <param name="TaskIndex">The task it happened to.</param>
/// <param name="Steps">Steps per stream done for this task.</param>
/// <param name="StepsPerStream">Steps per stream to do.</param>
/// <param name="TasksFinished">Tasks completed or skipped so far in this run.</param>
/// <param name="TasksTotal">Tasks in this run.</param>
/// <param name="MeanReturn">For <see cref="CollectionEvent.Completed"/>: the mean return of the streams' last five episodes; otherwise NaN.</param>
public sealed record CollectionProgress(CollectionEvent Event, int TaskIndex, int Steps, int StepsPerStream, int TasksFinished, int TasksTotal, double MeanReturn);

/// <summary>The outcome of a <see cref="HistoryCollector"/> run.</summary>
/// <param name="Collected">Tasks whose histories were written by this run.</param>
/// <param name="Skipped">Tasks whose valid histories already existed.</param>
/// <param name="Elapsed">Wall-clock time of the run.</param>
public sealed record CollectionResult(IReadOnlyList<int> Collected, IReadOnlyList<int> Skipped, TimeSpan Elapsed)
{
    /// <summary>
    /// Tasks among <see cref="Skipped"/> whose files this run took from <see cref="HistoryCollectionOptions.HistoriesFrom"/>
    /// (empty without it).
    /// </summary>
    public IReadOnlyList<int> Reused { get; init; } = [];

    /// <summary>How many of <see cref="Reused"/> were copied because a hard link was impossible (0: all linked).</summary>
    public int ReusedByCopy { get; init; }
}

/// <summary>
/// A <see cref="HistoryCollector"/> run was cancelled. The tasks finished before the cancellation are on disk
/// (<see cref="Partial"/>); tasks in progress left nothing, and running the collection again resumes with them.
/// </summary>
public sealed class CollectionCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    public CollectionCanceledException() : this(new CollectionResult([], [], TimeSpan.Zero), null, CancellationToken.None) { }

    /// <summary>Creates the exception with a message.</summary>
    public CollectionCanceledException(string message) : base(message) => Partial = new CollectionResult([], [], TimeSpan.Zero);

    /// <summary>Creates the exception with a message and a cause.</summary>
    public CollectionCanceledException(string message, Exception? innerException) : base(message, innerException) =>
        Partial = new CollectionResult([], [], TimeSpan.Zero);

    /// <summary>Creates the exception for a run that finished <paramref name="partial"/> before it was cancelled.</summary>
    public CollectionCanceledException(CollectionResult partial, Exception? innerException, CancellationToken token)
        : base($"The collection was cancelled after {partial?.Collected.Count ?? 0} tasks were collected and {partial?.Skipped.Count ?? 0} skipped.", innerException, token)
    {
        ArgumentNullException.ThrowIfNull(partial);
        Partial = partial;
    }

    /// <summary>What the run finished before it stopped.</summary>
    public CollectionResult Partial { get; }
}
