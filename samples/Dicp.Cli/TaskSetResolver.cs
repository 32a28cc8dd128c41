using Dicp.Environments;
using Dicp.Environments.MetaWorld;

namespace Dicp.Cli;

/// <summary>Maps the CLI's environment names to task sets.</summary>
/// <remarks>
/// Meta-World ML1 is <c>metaworld-ml1-TASK</c> with TASK a Meta-World name with or without its <c>-v2</c> suffix
/// (e.g. <c>metaworld-ml1-reach</c>): 50 train + 50 test variations of benchmark seed 0, horizon 100. Its scene files
/// come from the <c>assets_v2</c> folder given by <c>--metaworld-assets</c> or <see cref="AssetsVariable"/>.
/// <c>metaworld-ml10</c> is ML10 (<see cref="Ml10Tasks"/>, benchmark seed 0): indices 0–499 the 10 train tasks × 50
/// variations, 500–749 the 5 test tasks × 50.
/// </remarks>
internal static class TaskSetResolver
{
    /// <summary>The environment variable naming Meta-World's <c>assets_v2</c> folder.</summary>
    public const string AssetsVariable = "DICP_METAWORLD_ASSETS";

    /// <summary>The name of Meta-World ML10.</summary>
    public const string Ml10Name = "metaworld-ml10";

    /// <summary>The prefix of the Meta-World ML1 names.</summary>
    public const string Ml1Prefix = "metaworld-ml1-";

    public static readonly string[] Names = ["darkroom", "darkroom-permuted", "dark-key-to-door", "point-robot"];

    /// <summary>Every accepted name, for help texts.</summary>
    public static string Description => string.Join(", ", Names) + ", " + Ml10Name + " or " + Ml1Prefix + "TASK (TASK: " + string.Join(", ", MetaWorldTasks.Names.Select(n => n[..^3])) + ")";

    /// <summary>Whether <paramref name="name"/> is an accepted environment name.</summary>
    public static bool IsKnown(string? name) => name is not null && (Names.Contains(name) || name == Ml10Name || Ml1Task(name) is not null);

    /// <summary>
    /// The one name of a task family: <c>metaworld-ml1-TASK</c> without <c>-v2</c>, <c>metaworld-ml10</c>, or the grid
    /// world's name. Also maps the names older collections wrote into their manifests (<c>ml1-reach-v2</c>, <c>ml10</c>),
    /// so that a configuration and a manifest that mean the same tasks compare equal. Unknown names are returned as they are.
    /// </summary>
    public static string Canonical(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name == "ml10") return Ml10Name;
        if (name.StartsWith("ml1-", StringComparison.Ordinal)) name = "metaworld-" + name;
        return Ml1Task(name) is { } task ? Ml1Prefix + task[..^3] : name;
    }

    /// <summary>The Meta-World task of an ML1 name (e.g. <c>reach-v2</c>), or null.</summary>
    public static string? Ml1Task(string name)
    {
        if (!name.StartsWith(Ml1Prefix, StringComparison.Ordinal)) return null;
        var task = name[Ml1Prefix.Length..];
        if (!task.EndsWith("-v2", StringComparison.Ordinal)) task += "-v2";
        return MetaWorldTasks.Names.Contains(task) ? task : null;
    }

    /// <summary>Creates the task set.</summary>
    /// <param name="name">An environment name (<see cref="IsKnown"/>).</param>
    /// <param name="metaworldAssets">Meta-World's <c>assets_v2</c> folder (null: <see cref="AssetsVariable"/>).</param>
    /// <param name="requireAssets">Whether a Meta-World set must have an existing asset folder (false to list tasks only).</param>
    /// <exception cref="ArgumentException">Unknown name, or Meta-World's asset folder is missing.</exception>
    public static ITaskSet Resolve(string name, string? metaworldAssets = null, bool requireAssets = true)
    {
        name = Canonical(name);
        if (Ml1Task(name) is { } task)
            return new Ml1Tasks(task, new MetaWorldOptions { AssetRoot = MetaWorldAssets(metaworldAssets, requireAssets) });
        if (name == Ml10Name)
            return new Ml10Tasks(new MetaWorldOptions { AssetRoot = MetaWorldAssets(metaworldAssets, requireAssets) });
        return name switch
        {
            "darkroom" => new DarkroomTasks(),
            "darkroom-permuted" => new DarkroomPermutedTasks(),
            "dark-key-to-door" => new KeyToDoorTasks(),
            "point-robot" => new PointRobotTasks(),
            _ => throw new ArgumentException($"Unknown environment '{name}'; expected {Description}."),
        };
    }

    /// <summary>Test variations per Meta-World test task whose histories a default collection includes (for the test loss), as the reference.</summary>
    public const int MetaWorldTestHistories = 10;

    /// <summary>
    /// The tasks <c>dicp collect</c> collects when <c>--tasks</c> is not given: every task, except for Meta-World, where
    /// the reference collects the train variations and only the first 10 test variations (of each test task, for ML10),
    /// whose histories give the test loss; the other test variations are only evaluated in context.
    /// </summary>
    public static int[]? DefaultCollectTasks(ITaskSet tasks) => tasks switch
    {
        Ml1Tasks m => [.. m.TrainIndices, .. m.TestIndices.Take(MetaWorldTestHistories)],
        Ml10Tasks m => [.. m.TrainIndices, .. m.TestIndices.GroupBy(i => i / Ml1Tasks.VariationsPerSplit).SelectMany(g => g.Take(MetaWorldTestHistories))],
        _ => null,
    };

    /// <summary>The asset folder from the option, else the environment variable; checked when <paramref name="required"/>.</summary>
    private static string MetaWorldAssets(string? option, bool required)
    {
        var root = string.IsNullOrWhiteSpace(option) ? Environment.GetEnvironmentVariable(AssetsVariable) : option;
        if (string.IsNullOrWhiteSpace(root))
        {
            if (!required) return "";
            throw new ArgumentException($"Meta-World needs its assets_v2 folder: pass --metaworld-assets DIR or set {AssetsVariable}.");
        }
        var full = Path.GetFullPath(root);
        if (required && !Directory.Exists(Path.Combine(full, "sawyer_xyz")))
            throw new ArgumentException($"'{full}' is not Meta-World's assets_v2 folder (it has no 'sawyer_xyz' subfolder); pass --metaworld-assets DIR or set {AssetsVariable}.");
        return full;
    }

    /// <summary>Parses "0-80", "3,5,7-9" into indices.</summary>
    /// <param name="spec">The ranges.</param>
    /// <param name="option">The option's name, for messages.</param>
    /// <exception cref="ArgumentException">A part is not an integer or a range <c>a-b</c> with <c>a ≤ b</c>.</exception>
    public static int[] ParseRanges(string spec, string option = "--tasks")
    {
        var result = new List<int>();
        static bool Int(string s, out int v) => int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out v);
        foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-', 1);
            if (dash < 0)
            {
                if (!Int(part, out var i)) throw new ArgumentException($"{option} '{spec}': '{part}' is not a task index (expected e.g. 0-80 or 3,38,40-45).");
                result.Add(i);
            }
            else
            {
                if (!Int(part[..dash], out var a) || !Int(part[(dash + 1)..], out var b))
                    throw new ArgumentException($"{option} '{spec}': '{part}' is not a range of task indices (expected e.g. 0-80 or 3,38,40-45).");
                if (b < a) throw new ArgumentException($"{option} '{spec}': the range '{part}' is empty.");
                for (var i = a; i <= b; i++) result.Add(i);
            }
        }
        if (result.Count == 0) throw new ArgumentException($"{option} '{spec}' names no tasks.");
        return [.. result];
    }
}
