namespace Dicp.Environments;

/// <summary>
/// A finite family of tasks (goals, action permutations, key/door placements…) in a fixed canonical order, with the
/// reference train/test split.
/// </summary>
public interface ITaskSet
{
    /// <summary>A short name of the family (for logs and file names).</summary>
    string Name { get; }

    /// <summary>The number of tasks.</summary>
    int Count { get; }

    /// <summary>The seed of the reference split (<see cref="Split"/>).</summary>
    int DefaultSplitSeed { get; }

    /// <summary>The train fraction of the reference split (<see cref="Split"/>).</summary>
    double DefaultTrainRatio { get; }

    /// <summary>The parameters of task <paramref name="index"/> as a JSON-friendly integer array (e.g. the goal cell).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, Count).</exception>
    int[] Describe(int index);

    /// <summary>A new environment for task <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, Count).</exception>
    IEnvironment Create(int index);

    /// <summary>
    /// Splits the task indices as the reference does: <c>random.seed(seed); random.shuffle(idx)</c>, then the first
    /// <c>round(Count · trainRatio)</c> are train and the rest test (see <see cref="TaskSplit"/>).
    /// </summary>
    (int[] Train, int[] Test) Split(int seed, double trainRatio);
}

/// <summary>The reference train/test split of task indices.</summary>
public static class TaskSplit
{
    /// <summary>
    /// Shuffles <c>0 … count−1</c> with CPython's <c>random.seed(seed); random.shuffle(idx)</c> and returns the first
    /// <c>round(count · trainRatio)</c> (Python's round, half to even) as train and the rest as test, in shuffled order.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or <paramref name="trainRatio"/> is outside [0, 1].</exception>
    public static (int[] Train, int[] Test) Split(int count, int seed, double trainRatio)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!(trainRatio >= 0.0 && trainRatio <= 1.0))
            throw new ArgumentOutOfRangeException(nameof(trainRatio), $"The train ratio must be in [0, 1], got {trainRatio}.");
        var idx = new int[count];
        for (var i = 0; i < count; i++) idx[i] = i;
        new PythonRandom(seed).Shuffle(idx.AsSpan());
        var nTrain = (int)PythonRandom.Round(count * trainRatio);
        return (idx[..nTrain], idx[nTrain..]);
    }

    /// <summary>The reference split of <paramref name="tasks"/> (its default seed and ratio).</summary>
    public static (int[] Train, int[] Test) DefaultSplit(this ITaskSet tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        return tasks.Split(tasks.DefaultSplitSeed, tasks.DefaultTrainRatio);
    }
}
