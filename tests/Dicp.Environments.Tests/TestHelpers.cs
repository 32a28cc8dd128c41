namespace Dicp.Environments.Tests;

internal static class TestHelpers
{
    /// <summary>Resets and runs the discrete actions; returns each step's result and observation.</summary>
    public static (StepResult[] Results, float[][] Observations) Run(IEnvironment env, params int[] actions)
    {
        var obs = new float[env.ObservationSize];
        env.Reset(0, obs);
        var results = new StepResult[actions.Length];
        var observations = new float[actions.Length][];
        for (var t = 0; t < actions.Length; t++)
        {
            results[t] = env.Step([actions[t]], obs);
            observations[t] = obs.ToArray();
        }
        return (results, observations);
    }

    public static float[] Rewards(this StepResult[] results) => results.Select(r => r.Reward).ToArray();

    /// <summary>Resets and follows the optimal action to the horizon; returns the return.</summary>
    public static float OptimalReturn<TEnv>(TEnv env) where TEnv : IEnvironment, IHasOptimalAction
    {
        var obs = new float[env.ObservationSize];
        env.Reset(0, obs);
        var total = 0f;
        for (var t = 0; t < env.MaxEpisodeSteps; t++) total += env.Step([env.OptimalAction()], obs).Reward;
        return total;
    }

    /// <summary>The best return over every action sequence, by dynamic programming over (cell, flags) states.</summary>
    public static float BruteForceMaxReturn(Func<IEnvironment> make, int horizon)
    {
        // Exhaustive search with memoisation on the observable grid state plus the step reached; environments are
        // deterministic, so replaying a prefix reproduces its state.
        var best = 0f;
        var frontier = new Dictionary<string, (int[] Prefix, float Return)> { [""] = ([], 0f) };
        for (var t = 0; t < horizon; t++)
        {
            var next = new Dictionary<string, (int[] Prefix, float Return)>();
            foreach (var (prefix, ret) in frontier.Values)
            {
                for (var a = 0; a < GridWorld.ActionCount; a++)
                {
                    var seq = prefix.Append(a).ToArray();
                    var env = make();
                    var (results, _) = Run(env, seq);
                    var r = ret + results[^1].Reward;
                    var key = StateKey(env);
                    if (!next.TryGetValue(key, out var existing) || existing.Return < r) next[key] = (seq, r);
                }
            }
            frontier = next;
        }
        foreach (var (_, r) in frontier.Values) best = Math.Max(best, r);
        return best;
    }

    private static string StateKey(IEnvironment env) => env switch
    {
        DarkKeyToDoor k => $"{k.X},{k.Y},{k.HasKey},{k.DoorOpen}",
        IGridEnvironment g => g.StateIndex.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => throw new NotSupportedException(),
    };
}
