using System.Globalization;
using System.Text;
using Dicp.Tensors;

namespace Dicp.Environments;

/// <summary>The rules <see cref="EnvironmentChecker"/> verifies.</summary>
public enum EnvironmentRule
{
    /// <summary>The spaces exist and have at least one float; the horizon is positive.</summary>
    SpacesValid,

    /// <summary>The observation written by <see cref="IEnvironment.Reset"/> is inside the observation space.</summary>
    ResetObservationInSpace,

    /// <summary>Every observation written by <see cref="IEnvironment.Step"/> is inside the observation space.</summary>
    StepObservationInSpace,

    /// <summary>Every reward is finite.</summary>
    RewardFinite,

    /// <summary>An episode that does not terminate is truncated exactly at step <see cref="IEnvironment.MaxEpisodeSteps"/>, not before.</summary>
    TruncatesAtHorizon,

    /// <summary>The same seed and the same actions give the identical trajectory.</summary>
    Deterministic,

    /// <summary>Invalid actions (NaN, a discrete index out of range or not integral, a wrong length) throw <see cref="ArgumentException"/>.</summary>
    RejectsInvalidActions,
}

/// <summary>An environment broke a rule of the <see cref="IEnvironment"/> contract.</summary>
public sealed class EnvironmentCheckException : Exception
{
    /// <summary>Creates the exception for <paramref name="rule"/>.</summary>
    public EnvironmentCheckException(EnvironmentRule rule, string message, Exception? inner = null)
        : base($"Environment check failed [{rule}]: {message}", inner) => Rule = rule;

    /// <summary>The violated rule.</summary>
    public EnvironmentRule Rule { get; }
}

/// <summary>Verifies that an <see cref="IEnvironment"/> honours its contract (spaces, horizon, determinism, validation).</summary>
public static class EnvironmentChecker
{
    /// <summary>
    /// Runs two episodes of random actions (drawn from a <see cref="Generator"/> seeded with <paramref name="seed"/>)
    /// and replays the first, checking every <see cref="EnvironmentRule"/>; then probes invalid actions. Leaves the
    /// environment mid-episode: reset it before further use.
    /// </summary>
    /// <exception cref="EnvironmentCheckException">A rule is violated; <see cref="EnvironmentCheckException.Rule"/> names it.</exception>
    public static void Check(IEnvironment env, int seed)
    {
        ArgumentNullException.ThrowIfNull(env);
        var name = env.GetType().Name;
        var obsSpace = env.ObservationSpace;
        var actSpace = env.ActionSpace;
        if (obsSpace is null) Fail(EnvironmentRule.SpacesValid, $"{name}.ObservationSpace is null.");
        if (actSpace is null) Fail(EnvironmentRule.SpacesValid, $"{name}.ActionSpace is null.");
        if (obsSpace.Size <= 0) Fail(EnvironmentRule.SpacesValid, $"{name}.ObservationSpace {obsSpace} has size {obsSpace.Size}.");
        if (actSpace.Size <= 0) Fail(EnvironmentRule.SpacesValid, $"{name}.ActionSpace {actSpace} has size {actSpace.Size}.");
        if (env.MaxEpisodeSteps <= 0) Fail(EnvironmentRule.SpacesValid, $"{name}.MaxEpisodeSteps is {env.MaxEpisodeSteps}; it must be positive.");
        var probe = new float[actSpace.Size];
        var rng0 = new Generator(seed);
        for (var i = 0; i < 16; i++)
        {
            actSpace.Sample(rng0, probe);
            if (!actSpace.Contains(probe))
                Fail(EnvironmentRule.SpacesValid, $"{name}.ActionSpace {actSpace} does not contain its own sample {Format(probe)}.");
        }

        var rng = new Generator(seed);
        var first = Run(env, name, seed, rng, null);
        Run(env, name, unchecked(seed + 1), rng, null); // a second episode: reset must restart cleanly
        Run(env, name, seed, rng, first);

        // Invalid actions.
        var obs = new float[obsSpace.Size];
        ResetChecked(env, name, seed, obs);
        var invalid = new List<(float[] Action, string What)>();
        var nan = new float[actSpace.Size];
        Array.Fill(nan, float.NaN);
        invalid.Add((nan, "an all-NaN action"));
        if (actSpace is DiscreteSpace d)
        {
            invalid.Add(([d.N], $"the out-of-range index {d.N}"));
            invalid.Add(([-1f], "the negative index -1"));
            if (d.N > 1) invalid.Add(([0.5f], "the non-integral index 0.5"));
        }
        invalid.Add((new float[actSpace.Size + 1], $"an action of {actSpace.Size + 1} floats"));
        foreach (var (action, what) in invalid)
        {
            try
            {
                env.Step(action, obs);
            }
            catch (ArgumentException)
            {
                continue;
            }
            catch (Exception e)
            {
                Fail(EnvironmentRule.RejectsInvalidActions, $"{name}.Step({what}) threw {e.GetType().Name} instead of ArgumentException: {e.Message}", e);
            }
            Fail(EnvironmentRule.RejectsInvalidActions, $"{name}.Step accepted {what}; it must throw ArgumentException.");
        }
    }

    private static Trajectory Run(IEnvironment env, string name, int seed, Generator rng, Trajectory? replay)
    {
        var obsSize = env.ObservationSpace.Size;
        var horizon = env.MaxEpisodeSteps;
        var obs = new float[obsSize];
        ResetChecked(env, name, seed, obs);
        var t = new Trajectory(obs.ToArray());
        if (replay is not null && !obs.AsSpan().SequenceEqual(replay.Reset))
            Fail(EnvironmentRule.Deterministic, $"{name}.Reset(seed={seed}) wrote {Format(obs)} the second time, {Format(replay.Reset)} the first.");
        var action = new float[env.ActionSpace.Size];
        for (var step = 1; step <= horizon; step++)
        {
            if (replay is not null) replay.Actions[step - 1].CopyTo(action, 0);
            else env.ActionSpace.Sample(rng, action);
            StepResult r;
            try
            {
                r = env.Step(action, obs);
            }
            catch (ArgumentException e)
            {
                throw new EnvironmentCheckException(EnvironmentRule.RejectsInvalidActions,
                    $"{name}.Step rejected the valid action {Format(action)} at step {step} of {horizon} (seed {seed}): {e.Message}", e);
            }
            catch (InvalidOperationException e)
            {
                throw new EnvironmentCheckException(EnvironmentRule.TruncatesAtHorizon,
                    $"{name}.Step refused step {step} of {horizon} (seed {seed}) although the episode had not ended: {e.Message}", e);
            }
            var where = $"at step {step} of {horizon} (seed {seed}, action {Format(action)})";
            if (!env.ObservationSpace.Contains(obs))
                Fail(EnvironmentRule.StepObservationInSpace, $"{name}.Step wrote observation {Format(obs)} outside {env.ObservationSpace} {where}.");
            if (!float.IsFinite(r.Reward)) Fail(EnvironmentRule.RewardFinite, $"{name}.Step returned reward {r.Reward} {where}.");
            if (replay is not null)
            {
                var (rObs, rRes) = (replay.Observations[step - 1], replay.Results[step - 1]);
                if (!obs.AsSpan().SequenceEqual(rObs) || !r.Equals(rRes))
                    Fail(EnvironmentRule.Deterministic,
                        $"{name} diverged on replay {where}: observation {Format(obs)} and {r}, first run gave {Format(rObs)} and {rRes}.");
            }
            else
            {
                t.Actions.Add(action.ToArray());
                t.Observations.Add(obs.ToArray());
                t.Results.Add(r);
            }
            if (r.Terminated) return t;
            if (r.Truncated && step < horizon)
                Fail(EnvironmentRule.TruncatesAtHorizon, $"{name} truncated early {where}; MaxEpisodeSteps is {horizon}.");
            if (!r.Truncated && step == horizon)
                Fail(EnvironmentRule.TruncatesAtHorizon, $"{name} did not truncate at step {horizon} = MaxEpisodeSteps (seed {seed}).");
        }
        return t;
    }

    private static void ResetChecked(IEnvironment env, string name, int seed, float[] obs)
    {
        env.Reset(seed, obs);
        if (!env.ObservationSpace.Contains(obs))
            Fail(EnvironmentRule.ResetObservationInSpace, $"{name}.Reset(seed={seed}) wrote observation {Format(obs)} outside {env.ObservationSpace}.");
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(EnvironmentRule rule, string message, Exception? inner = null) => throw new EnvironmentCheckException(rule, message, inner);

    private static string Format(ReadOnlySpan<float> v)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < v.Length; i++) sb.Append(i == 0 ? "" : ", ").Append(v[i].ToString(CultureInfo.InvariantCulture));
        return sb.Append(']').ToString();
    }

    private sealed class Trajectory(float[] reset)
    {
        public float[] Reset { get; } = reset;
        public List<float[]> Actions { get; } = [];
        public List<float[]> Observations { get; } = [];
        public List<StepResult> Results { get; } = [];
    }
}
