namespace Dicp.Environments.MetaWorld;

/// <summary>One Meta-World task kind: its name, random reset space, placement check and constructor.</summary>
/// <param name="Name">The Meta-World name (e.g. <c>reach-v2</c>).</param>
/// <param name="Low">The random reset space's lower bounds.</param>
/// <param name="High">The random reset space's upper bounds.</param>
/// <param name="IsValid">The reset's rejection test on a random vector (Python resamples while it fails).</param>
/// <param name="Create">Creates the environment of one variation.</param>
public sealed record MetaWorldTaskKind(
    string Name,
    double[] Low,
    double[] High,
    Func<double[], bool> IsValid,
    Func<MetaWorldOptions, double[], SawyerEnvironment> Create);

/// <summary>The Meta-World v2 tasks implemented by Dicp.</summary>
public static class MetaWorldTasks
{
    /// <summary>
    /// The implemented tasks: the five ML1 tasks of the paper's table (reach, push, pick-place, sweep, peg-insert-side),
    /// then the other ML10 tasks (drawer-close, button-press-topdown, door-open, train; door-close, sweep-into, lever-pull,
    /// drawer-open, test; window-open, basketball, train; shelf-place, test): all 15 ML10 tasks.
    /// </summary>
    public static readonly IReadOnlyList<MetaWorldTaskKind> All =
    [
        new("reach-v2", ReachV2.Low, ReachV2.High, v => ReachV2.IsValid(v), (o, v) => new ReachV2(o, v)),
        new("push-v2", PushV2.Low, PushV2.High, v => ReachV2.IsValid(v), (o, v) => new PushV2(o, v)),
        new("pick-place-v2", PickPlaceV2.Low, PickPlaceV2.High, v => ReachV2.IsValid(v), (o, v) => new PickPlaceV2(o, v)),
        new("sweep-v2", SweepV2.Low, SweepV2.High, _ => true, (o, v) => new SweepV2(o, v)),
        new("peg-insert-side-v2", PegInsertSideV2.Low, PegInsertSideV2.High, v => PegInsertSideV2.IsValid(v), (o, v) => new PegInsertSideV2(o, v)),
        new("drawer-close-v2", DrawerCloseV2.Low, DrawerCloseV2.High, _ => true, (o, v) => new DrawerCloseV2(o, v)),
        new("button-press-topdown-v2", ButtonPressTopdownV2.Low, ButtonPressTopdownV2.High, _ => true, (o, v) => new ButtonPressTopdownV2(o, v)),
        new("door-open-v2", DoorOpenV2.Low, DoorOpenV2.High, _ => true, (o, v) => new DoorOpenV2(o, v)),
        new("door-close-v2", DoorOpenV2.Low, DoorOpenV2.High, _ => true, (o, v) => new DoorCloseV2(o, v)),
        new("sweep-into-v2", SweepIntoV2.Low, SweepIntoV2.High, v => SweepIntoV2.IsValid(v), (o, v) => new SweepIntoV2(o, v)),
        new("lever-pull-v2", LeverPullV2.Low, LeverPullV2.High, _ => true, (o, v) => new LeverPullV2(o, v)),
        new("drawer-open-v2", DrawerCloseV2.Low, DrawerCloseV2.High, _ => true, (o, v) => new DrawerOpenV2(o, v)),
        new("window-open-v2", WindowOpenV2.Low, WindowOpenV2.High, _ => true, (o, v) => new WindowOpenV2(o, v)),
        new("basketball-v2", BasketballV2.Low, BasketballV2.High, v => BasketballV2.IsValid(v), (o, v) => new BasketballV2(o, v)),
        new("shelf-place-v2", ShelfPlaceV2.Low, ShelfPlaceV2.High, v => ShelfPlaceV2.IsValid(v), (o, v) => new ShelfPlaceV2(o, v)),
    ];

    /// <summary>The names of the five ML1 tasks of the paper's table.</summary>
    public static IReadOnlyList<string> PaperMl1 { get; } = ["reach-v2", "push-v2", "pick-place-v2", "sweep-v2", "peg-insert-side-v2"];

    /// <summary>The names of <see cref="All"/>.</summary>
    public static IEnumerable<string> Names => All.Select(t => t.Name);

    /// <summary>The task kind named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown task name.</exception>
    public static MetaWorldTaskKind Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return All.FirstOrDefault(t => t.Name == name)
            ?? throw new ArgumentException($"Unknown Meta-World task '{name}'; implemented: {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>
    /// Samples <paramref name="count"/> variations as Meta-World's <c>_make_tasks</c> does: <c>np.random.seed(seed)</c>,
    /// then for each variation <paramref name="resetsPerVariation"/> reset(s), each drawing
    /// <c>np.random.uniform(low, high, size)</c> until the task's placement check passes; the last accepted vector is the
    /// variation.
    /// </summary>
    /// <remarks>
    /// Meta-World releases before the Gymnasium port call <c>reset_model</c> once per <c>env.reset()</c>
    /// (<paramref name="resetsPerVariation"/> = 1, the default); the Gymnasium-era <c>SawyerXYZEnv.reset</c> calls it twice.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">A negative count, a seed outside [0, 2³²) or a non-positive reset count.</exception>
    public static double[][] SampleVariations(MetaWorldTaskKind kind, long seed, int count = 50, int resetsPerVariation = 1)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(resetsPerVariation, 1);
        var rng = new NumpyRandomState(seed);
        var result = new double[count][];
        for (var i = 0; i < count; i++)
        {
            double[] v = [];
            for (var r = 0; r < resetsPerVariation; r++)
            {
                do
                {
                    v = new double[kind.Low.Length];
                    rng.Uniform(kind.Low, kind.High, v);
                } while (!kind.IsValid(v));
            }
            result[i] = v;
        }
        return result;
    }
}
