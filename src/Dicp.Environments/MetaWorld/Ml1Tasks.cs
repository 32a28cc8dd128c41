namespace Dicp.Environments.MetaWorld;

/// <summary>
/// Meta-World ML1 for one task: 50 train and 50 test goal variations sampled as the Python benchmark does
/// (<c>ML1(name, seed)</c>: train variations from <c>np.random.seed(seed)</c>, test variations from <c>seed + 1</c>).
/// </summary>
/// <remarks>
/// As an <see cref="ITaskSet"/>: indices 0–49 are the train variations and 50–99 the test variations, in sampling
/// order; the split is fixed by the benchmark seed (<see cref="Split"/> accepts only that seed and ratio 0.5).
/// <see cref="Describe"/> gives the random vector in micrometres (rounded). Environments are created with
/// <see cref="Options"/> (asset folder, horizon 100, partially observable).
/// </remarks>
public sealed class Ml1Tasks : ITaskSet
{
    /// <summary>The number of train (and of test) variations.</summary>
    public const int VariationsPerSplit = 50;

    private readonly double[][] _vectors;

    /// <summary>Samples the ML1 variations of <paramref name="taskName"/>.</summary>
    /// <param name="taskName">One of <see cref="MetaWorldTasks.Names"/>.</param>
    /// <param name="options">Environment options (asset folder, horizon, observability).</param>
    /// <param name="seed">The benchmark seed (<c>ML1(name, seed=seed)</c>), in [0, 2³² − 1).</param>
    /// <param name="resetsPerVariation">Resets per sampled variation (see <see cref="MetaWorldTasks.SampleVariations"/>).</param>
    /// <exception cref="ArgumentException">Unknown task.</exception>
    public Ml1Tasks(string taskName, MetaWorldOptions options, int seed = 0, int resetsPerVariation = 1)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(seed);
        Kind = MetaWorldTasks.Get(taskName);
        Options = options;
        Seed = seed;
        var train = MetaWorldTasks.SampleVariations(Kind, seed, VariationsPerSplit, resetsPerVariation);
        var test = MetaWorldTasks.SampleVariations(Kind, (long)seed + 1, VariationsPerSplit, resetsPerVariation);
        _vectors = [.. train, .. test];
    }

    /// <summary>The task kind.</summary>
    public MetaWorldTaskKind Kind { get; }

    /// <summary>The environment options.</summary>
    public MetaWorldOptions Options { get; }

    /// <summary>The benchmark seed.</summary>
    public int Seed { get; }

    /// <summary><c>metaworld-ml1-TASK</c> (e.g. <c>metaworld-ml1-reach</c>): the name the command line, the configurations and history manifests share.</summary>
    public string Name => $"metaworld-ml1-{Kind.Name[..^3]}";

    /// <summary>100: 50 train then 50 test variations.</summary>
    public int Count => _vectors.Length;

    /// <summary>The benchmark seed (the split is fixed by it).</summary>
    public int DefaultSplitSeed => Seed;

    /// <summary>0.5 (50 train / 50 test).</summary>
    public double DefaultTrainRatio => 0.5;

    /// <summary>The train variations' indices (0–49).</summary>
    public int[] TrainIndices => [.. Enumerable.Range(0, VariationsPerSplit)];

    /// <summary>The test variations' indices (50–99).</summary>
    public int[] TestIndices => [.. Enumerable.Range(VariationsPerSplit, VariationsPerSplit)];

    /// <summary>The random vector of variation <paramref name="index"/> (a copy).</summary>
    public double[] RandVec(int index)
    {
        TaskSetHelpers.CheckIndex(index, Count);
        return (double[])_vectors[index].Clone();
    }

    /// <summary>The random vector in micrometres, rounded to integers.</summary>
    public int[] Describe(int index) => [.. RandVec(index).Select(v => (int)Math.Round(v * 1e6))];

    /// <summary>A new environment for variation <paramref name="index"/> (dispose it to free native memory early).</summary>
    public SawyerEnvironment Create(int index) => Kind.Create(Options, RandVec(index));

    IEnvironment ITaskSet.Create(int index) => Create(index);

    /// <summary>The fixed ML1 split (train 0–49, test 50–99).</summary>
    /// <exception cref="ArgumentException">Another seed or ratio: ML1's split is made by sampling with the benchmark seed.</exception>
    public (int[] Train, int[] Test) Split(int seed, double trainRatio)
    {
        if (seed != Seed || trainRatio != DefaultTrainRatio)
            throw new ArgumentException($"ML1's train/test variations are sampled from the benchmark seed ({Seed}) with ratio 0.5; create Ml1Tasks with seed {seed} instead of re-splitting.");
        return (TrainIndices, TestIndices);
    }
}
