namespace Dicp.Environments.MetaWorld;

/// <summary>Options of the Meta-World environments.</summary>
/// <remarks>
/// <c>AssetRoot</c> is the Meta-World <c>assets_v2</c> folder (holding <c>sawyer_xyz/</c>, <c>objects/</c>,
/// <c>scene/</c>); the assets are read from there, never copied. Defaults: horizon 100 (the reference's horizon; the
/// Python benchmark's <c>max_path_length</c> is 500), partially observable (ML benchmarks zero the goal in the
/// observation).
/// </remarks>
public sealed record MetaWorldOptions
{
    /// <summary>The <c>assets_v2</c> folder. Required.</summary>
    public required string AssetRoot { get; init; }

    /// <summary>The episode horizon: the step that returns <see cref="StepResult.Truncated"/> (default 100).</summary>
    public int Horizon { get; init; } = 100;

    /// <summary>Whether the goal position (observation dims 36–38) is hidden as zeros, as in ML1/ML10 (default true).</summary>
    public bool PartiallyObservable { get; init; } = true;

    /// <summary>Checks the options and returns the full path of the <c>sawyer_xyz</c> scene file <paramref name="xmlName"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The horizon is not positive.</exception>
    /// <exception cref="DirectoryNotFoundException">The asset root or its <c>sawyer_xyz</c> folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The scene file does not exist.</exception>
    public string SceneFile(string xmlName)
    {
        if (Horizon <= 0) throw new ArgumentOutOfRangeException(nameof(Horizon), $"The Meta-World horizon must be positive, got {Horizon}.");
        if (string.IsNullOrWhiteSpace(AssetRoot))
            throw new DirectoryNotFoundException("MetaWorldOptions.AssetRoot is empty: set it to Meta-World's assets_v2 folder.");
        var root = Path.GetFullPath(AssetRoot);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Meta-World asset folder '{root}' (MetaWorldOptions.AssetRoot) does not exist.");
        var sawyer = Path.Combine(root, "sawyer_xyz");
        if (!Directory.Exists(sawyer))
            throw new DirectoryNotFoundException($"'{root}' is not Meta-World's assets_v2 folder: it has no 'sawyer_xyz' subfolder.");
        var file = Path.Combine(sawyer, xmlName);
        if (!File.Exists(file)) throw new FileNotFoundException($"Meta-World scene '{file}' does not exist.", file);
        return file;
    }
}
