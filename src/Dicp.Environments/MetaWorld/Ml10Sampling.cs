namespace Dicp.Environments.MetaWorld;

/// <summary>
/// ML10's goal-variation sampling: <c>ML10(seed)</c> seeds NumPy once with <c>seed</c> and samples 50 variations of each
/// train task in the benchmark's order, then seeds with <c>seed + 1</c> for the five test tasks.
/// </summary>
/// <remarks>The random reset spaces and placement checks are those of <see cref="MetaWorldTasks.All"/>.</remarks>
public static class Ml10Sampling
{
    /// <summary>ML10's train tasks in the benchmark's order.</summary>
    public static IReadOnlyList<string> TrainTasks { get; } =
        ["reach-v2", "push-v2", "pick-place-v2", "door-open-v2", "drawer-close-v2", "button-press-topdown-v2",
         "peg-insert-side-v2", "window-open-v2", "sweep-v2", "basketball-v2"];

    /// <summary>ML10's test tasks in the benchmark's order.</summary>
    public static IReadOnlyList<string> TestTasks { get; } =
        ["drawer-open-v2", "door-close-v2", "shelf-place-v2", "sweep-into-v2", "lever-pull-v2"];

    /// <summary>The variations of ML10's train (or test) tasks for benchmark seed <paramref name="seed"/>, 50 per task, in order.</summary>
    /// <param name="seed">The benchmark seed; the test tasks use <c>seed + 1</c>.</param>
    /// <param name="test">Sample the test tasks instead of the train tasks.</param>
    /// <param name="resetsPerVariation">Resets per sampled variation (see <see cref="MetaWorldTasks.SampleVariations"/>).</param>
    public static IReadOnlyList<(string Task, double[][] Variations)> Sample(long seed, bool test = false, int resetsPerVariation = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(resetsPerVariation, 1);
        var rng = new NumpyRandomState(test ? seed + 1 : seed);
        var result = new List<(string, double[][])>();
        foreach (var name in test ? TestTasks : TrainTasks)
        {
            var (low, high, valid) = Space(name);
            var vectors = new double[50][];
            for (var i = 0; i < 50; i++)
            {
                double[] v = [];
                for (var r = 0; r < resetsPerVariation; r++)
                {
                    do
                    {
                        v = new double[low.Length];
                        rng.Uniform(low, high, v);
                    } while (!valid(v));
                }
                vectors[i] = v;
            }
            result.Add((name, vectors));
        }
        return result;
    }

    private static (double[] Low, double[] High, Func<double[], bool> IsValid) Space(string name)
    {
        var kind = MetaWorldTasks.Get(name);
        return (kind.Low, kind.High, kind.IsValid);
    }
}
