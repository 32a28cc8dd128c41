namespace Dicp.Environments;

/// <summary>The 81 <see cref="Darkroom"/> goals, in the order <c>for x in 0..8: for y in 0..8</c> (index = x·9 + y).</summary>
/// <remarks>Reference split: seed 0, train ratio 0.9 (73 train / 8 test). <see cref="Describe"/> gives <c>[goalX, goalY]</c>.</remarks>
/// <param name="horizon">The episode horizon of the created environments.</param>
public sealed class DarkroomTasks(int horizon = 20) : ITaskSet
{
    /// <summary>The horizon of the created environments.</summary>
    public int Horizon { get; } = horizon > 0 ? horizon : throw new ArgumentOutOfRangeException(nameof(horizon), $"The horizon must be positive, got {horizon}.");

    /// <inheritdoc/>
    public string Name => "darkroom";

    /// <inheritdoc/>
    public int Count => GridWorld.StateCount;

    /// <inheritdoc/>
    public int DefaultSplitSeed => 0;

    /// <inheritdoc/>
    public double DefaultTrainRatio => 0.9;

    /// <summary>The goal of task <paramref name="index"/>.</summary>
    public (int X, int Y) Goal(int index)
    {
        TaskSetHelpers.CheckIndex(index, Count);
        return (index / GridWorld.Size, index % GridWorld.Size);
    }

    /// <summary>The index of the task whose goal is (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public int IndexOf(int x, int y)
    {
        GridWorld.CheckCell(x, y, "goal");
        return GridWorld.StateIndex(x, y);
    }

    /// <summary><c>[goalX, goalY]</c>.</summary>
    public int[] Describe(int index)
    {
        var (x, y) = Goal(index);
        return [x, y];
    }

    /// <inheritdoc cref="ITaskSet.Create"/>
    public Darkroom Create(int index)
    {
        var (x, y) = Goal(index);
        return new Darkroom(x, y, Horizon);
    }

    IEnvironment ITaskSet.Create(int index) => Create(index);

    /// <inheritdoc/>
    public (int[] Train, int[] Test) Split(int seed, double trainRatio) => TaskSplit.Split(Count, seed, trainRatio);
}

/// <summary>
/// The 120 <see cref="DarkroomPermuted"/> tasks: the permutations of the five actions in lexicographic order (as
/// Python's <c>itertools.permutations(range(5))</c>).
/// </summary>
/// <remarks>Reference split: seed 4, train ratio 0.9 (108 train / 12 test). <see cref="Describe"/> gives the permutation.</remarks>
/// <param name="horizon">The episode horizon of the created environments.</param>
public sealed class DarkroomPermutedTasks(int horizon = 50) : ITaskSet
{
    private static readonly int[][] Permutations = BuildPermutations();

    /// <summary>The horizon of the created environments.</summary>
    public int Horizon { get; } = horizon > 0 ? horizon : throw new ArgumentOutOfRangeException(nameof(horizon), $"The horizon must be positive, got {horizon}.");

    /// <inheritdoc/>
    public string Name => "darkroom-permuted";

    /// <inheritdoc/>
    public int Count => Permutations.Length;

    /// <inheritdoc/>
    public int DefaultSplitSeed => 4;

    /// <inheritdoc/>
    public double DefaultTrainRatio => 0.9;

    /// <summary>The permutation of task <paramref name="index"/> (agent action <c>a</c> runs as <c>perm[a]</c>).</summary>
    public ReadOnlySpan<int> Permutation(int index)
    {
        TaskSetHelpers.CheckIndex(index, Count);
        return Permutations[index];
    }

    /// <summary>The permutation (a copy).</summary>
    public int[] Describe(int index) => Permutation(index).ToArray();

    /// <inheritdoc cref="ITaskSet.Create"/>
    public DarkroomPermuted Create(int index) => new(Permutation(index), Horizon);

    IEnvironment ITaskSet.Create(int index) => Create(index);

    /// <inheritdoc/>
    public (int[] Train, int[] Test) Split(int seed, double trainRatio) => TaskSplit.Split(Count, seed, trainRatio);

    private static int[][] BuildPermutations()
    {
        var result = new List<int[]>(120);
        var p = new[] { 0, 1, 2, 3, 4 };
        do result.Add((int[])p.Clone()); while (NextPermutation(p));
        return [.. result];
    }

    private static bool NextPermutation(int[] p)
    {
        var i = p.Length - 2;
        while (i >= 0 && p[i] >= p[i + 1]) i--;
        if (i < 0) return false;
        var j = p.Length - 1;
        while (p[j] <= p[i]) j--;
        (p[i], p[j]) = (p[j], p[i]);
        Array.Reverse(p, i + 1, p.Length - i - 1);
        return true;
    }
}

/// <summary>
/// The 6561 <see cref="DarkKeyToDoor"/> tasks: (key, door) cell pairs in the order <c>for kx, ky, dx, dy in 0..8</c>
/// (index = ((kx·9 + ky)·9 + dx)·9 + dy).
/// </summary>
/// <remarks>Reference split: seed 4, train ratio 0.95 (6233 train / 328 test). <see cref="Describe"/> gives <c>[keyX, keyY, doorX, doorY]</c>.</remarks>
/// <param name="horizon">The episode horizon of the created environments.</param>
public sealed class KeyToDoorTasks(int horizon = 50) : ITaskSet
{
    /// <summary>The horizon of the created environments.</summary>
    public int Horizon { get; } = horizon > 0 ? horizon : throw new ArgumentOutOfRangeException(nameof(horizon), $"The horizon must be positive, got {horizon}.");

    /// <inheritdoc/>
    public string Name => "dark-key-to-door";

    /// <inheritdoc/>
    public int Count => GridWorld.StateCount * GridWorld.StateCount;

    /// <inheritdoc/>
    public int DefaultSplitSeed => 4;

    /// <inheritdoc/>
    public double DefaultTrainRatio => 0.95;

    /// <summary>The key and door cells of task <paramref name="index"/>.</summary>
    public (int KeyX, int KeyY, int DoorX, int DoorY) Cells(int index)
    {
        TaskSetHelpers.CheckIndex(index, Count);
        const int s = GridWorld.Size;
        return (index / (s * s * s), index / (s * s) % s, index / s % s, index % s);
    }

    /// <summary>The index of the task with the given key and door cells.</summary>
    public int IndexOf(int keyX, int keyY, int doorX, int doorY)
    {
        GridWorld.CheckCell(keyX, keyY, "key");
        GridWorld.CheckCell(doorX, doorY, "door");
        return GridWorld.StateIndex(keyX, keyY) * GridWorld.StateCount + GridWorld.StateIndex(doorX, doorY);
    }

    /// <summary><c>[keyX, keyY, doorX, doorY]</c>.</summary>
    public int[] Describe(int index)
    {
        var (kx, ky, dx, dy) = Cells(index);
        return [kx, ky, dx, dy];
    }

    /// <inheritdoc cref="ITaskSet.Create"/>
    public DarkKeyToDoor Create(int index)
    {
        var (kx, ky, dx, dy) = Cells(index);
        return new DarkKeyToDoor(kx, ky, dx, dy, Horizon);
    }

    IEnvironment ITaskSet.Create(int index) => Create(index);

    /// <inheritdoc/>
    public (int[] Train, int[] Test) Split(int seed, double trainRatio) => TaskSplit.Split(Count, seed, trainRatio);
}

/// <summary>
/// <see cref="PointRobot"/> goals evenly spread on the upper half of the unit circle: task <c>i</c> of <c>N</c> has its
/// goal at angle <c>π·i/(N−1)</c> (angle 0 when N = 1).
/// </summary>
/// <remarks>
/// Default split: seed 0, train ratio 0.9 (a Dicp choice; the reference defines none). <see cref="Describe"/> gives
/// <c>[i, N]</c>, from which the angle follows.
/// </remarks>
public sealed class PointRobotTasks : ITaskSet
{
    /// <summary>Creates <paramref name="count"/> goals.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count or horizon is not positive.</exception>
    public PointRobotTasks(int count = 100, int horizon = 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        (Count, Horizon) = (count, horizon);
    }

    /// <summary>The horizon of the created environments.</summary>
    public int Horizon { get; }

    /// <inheritdoc/>
    public string Name => "point-robot";

    /// <inheritdoc/>
    public int Count { get; }

    /// <inheritdoc/>
    public int DefaultSplitSeed => 0;

    /// <inheritdoc/>
    public double DefaultTrainRatio => 0.9;

    /// <summary>The goal angle of task <paramref name="index"/> in radians.</summary>
    public double Angle(int index)
    {
        TaskSetHelpers.CheckIndex(index, Count);
        return Count == 1 ? 0.0 : Math.PI * ((double)index / (Count - 1)); // ≤ π, so the goal never dips below y = 0
    }

    /// <summary>The goal of task <paramref name="index"/>: <c>(cos θ, sin θ)</c> rounded to float.</summary>
    public (float X, float Y) Goal(int index)
    {
        var a = Angle(index);
        return ((float)Math.Cos(a), (float)Math.Sin(a));
    }

    /// <summary><c>[index, Count]</c>: the goal angle is <c>π·index/(Count−1)</c>.</summary>
    public int[] Describe(int index)
    {
        TaskSetHelpers.CheckIndex(index, Count);
        return [index, Count];
    }

    /// <inheritdoc cref="ITaskSet.Create"/>
    public PointRobot Create(int index)
    {
        var (x, y) = Goal(index);
        return new PointRobot(x, y, Horizon);
    }

    IEnvironment ITaskSet.Create(int index) => Create(index);

    /// <inheritdoc/>
    public (int[] Train, int[] Test) Split(int seed, double trainRatio) => TaskSplit.Split(Count, seed, trainRatio);
}

internal static class TaskSetHelpers
{
    public static void CheckIndex(int index, int count)
    {
        if ((uint)index >= (uint)count)
            throw new ArgumentOutOfRangeException(nameof(index), $"Task index {index} is outside [0, {count}).");
    }
}
