namespace Dicp.Environments.MetaWorld;

/// <summary>
/// Meta-World ML10 as one task set: the 10 train tasks × 50 variations, then the 5 test tasks × 50 variations, sampled
/// as the Python benchmark does (<see cref="Ml10Sampling"/>).
/// </summary>
/// <remarks>
/// Index <c>k</c> is task <c>k / 50</c> of <see cref="Tasks"/> (<see cref="Ml10Sampling.TrainTasks"/> then
/// <see cref="Ml10Sampling.TestTasks"/>), variation <c>k % 50</c>: indices 0–499 are the train tasks and 500–749 the test
/// tasks; the split is fixed by the benchmark (<see cref="Split"/> accepts only the benchmark seed and ratio 2/3).
/// <see cref="Describe"/> gives the task's position in <see cref="Tasks"/>, then its random vector in micrometres
/// (rounded), zero-padded to 6 values. Environments are created with <see cref="Options"/>.
/// </remarks>
public sealed class Ml10Tasks : ITaskSet
{
    /// <summary>Variations per task.</summary>
    public const int VariationsPerTask = 50;

    private readonly MetaWorldTaskKind[] _kinds;
    private readonly double[][] _vectors;

    /// <summary>Samples the ML10 variations.</summary>
    /// <param name="options">Environment options (asset folder, horizon, observability).</param>
    /// <param name="seed">The benchmark seed (<c>ML10(seed=seed)</c>); the test tasks use <c>seed + 1</c>.</param>
    /// <param name="resetsPerVariation">Resets per sampled variation (see <see cref="MetaWorldTasks.SampleVariations"/>).</param>
    public Ml10Tasks(MetaWorldOptions options, int seed = 0, int resetsPerVariation = 1)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(seed);
        Options = options;
        Seed = seed;
        var sampled = Ml10Sampling.Sample(seed, test: false, resetsPerVariation).Concat(Ml10Sampling.Sample(seed, test: true, resetsPerVariation)).ToArray();
        Tasks = [.. sampled.Select(s => s.Task)];
        _kinds = [.. Tasks.Select(MetaWorldTasks.Get)];
        _vectors = [.. sampled.SelectMany(s => s.Variations)];
    }

    /// <summary>The environment options.</summary>
    public MetaWorldOptions Options { get; }

    /// <summary>The benchmark seed.</summary>
    public int Seed { get; }

    /// <summary>The 15 task names: the 10 train tasks, then the 5 test tasks, in the benchmark's order.</summary>
    public IReadOnlyList<string> Tasks { get; }

    /// <summary><c>metaworld-ml10</c>: the name the command line, the configurations and history manifests share.</summary>
    public string Name => "metaworld-ml10";

    /// <summary>750: 500 train (10 tasks × 50) then 250 test (5 tasks × 50) variations.</summary>
    public int Count => _vectors.Length;

    /// <summary>The benchmark seed (the split is fixed by it).</summary>
    public int DefaultSplitSeed => Seed;

    /// <summary>2/3 (500 train / 250 test).</summary>
    public double DefaultTrainRatio => (double)TrainCount / (TrainCount + TestCount);

    private static int TrainCount => Ml10Sampling.TrainTasks.Count * VariationsPerTask;

    private static int TestCount => Ml10Sampling.TestTasks.Count * VariationsPerTask;

    /// <summary>The train indices (0–499).</summary>
    public int[] TrainIndices => [.. Enumerable.Range(0, TrainCount)];

    /// <summary>The test indices (500–749).</summary>
    public int[] TestIndices => [.. Enumerable.Range(TrainCount, TestCount)];

    /// <summary>The Meta-World task of index <paramref name="index"/> (e.g. <c>basketball-v2</c>).</summary>
    public string TaskName(int index)
    {
        TaskSetHelpers.CheckIndex(index, Count);
        return Tasks[index / VariationsPerTask];
    }

    /// <summary>The random vector of index <paramref name="index"/> (a copy).</summary>
    public double[] RandVec(int index)
    {
        TaskSetHelpers.CheckIndex(index, Count);
        return (double[])_vectors[index].Clone();
    }

    /// <summary>The task's position in <see cref="Tasks"/>, then its random vector in micrometres, zero-padded to 6 values.</summary>
    public int[] Describe(int index)
    {
        var v = RandVec(index);
        var result = new int[7];
        result[0] = index / VariationsPerTask;
        for (var i = 0; i < v.Length; i++) result[1 + i] = (int)Math.Round(v[i] * 1e6);
        return result;
    }

    /// <summary>A new environment for index <paramref name="index"/> (dispose it to free native memory early).</summary>
    public SawyerEnvironment Create(int index) => _kinds[index / VariationsPerTask].Create(Options, RandVec(index));

    IEnvironment ITaskSet.Create(int index) => Create(index);

    /// <summary>The fixed ML10 split (train 0–499, test 500–749).</summary>
    /// <exception cref="ArgumentException">Another seed or ratio: ML10's split is fixed by the benchmark.</exception>
    public (int[] Train, int[] Test) Split(int seed, double trainRatio)
    {
        if (seed != Seed || Math.Abs(trainRatio - DefaultTrainRatio) > 1e-9)
            throw new ArgumentException($"ML10's train/test tasks are fixed by the benchmark (seed {Seed}, ratio 2/3); create Ml10Tasks with seed {seed} instead of re-splitting.");
        return (TrainIndices, TestIndices);
    }
}
