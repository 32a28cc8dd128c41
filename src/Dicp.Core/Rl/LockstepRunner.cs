using Dicp.Environments;

namespace Dicp.Rl;

/// <summary>
/// Drives an <see cref="ISourceAlgorithm"/> on a <see cref="VectorEnvironment"/> (one stream per copy) for a fixed
/// number of steps per stream: act, step, report the transition, observe, update when due.
/// </summary>
public static class LockstepRunner
{
    /// <summary>Runs <paramref name="stepsPerStream"/> lock-step steps.</summary>
    /// <param name="algorithm">The learner; its stream count and sizes must match <paramref name="environments"/>.</param>
    /// <param name="environments">The streams; reset here with <paramref name="seed"/>.</param>
    /// <param name="stepsPerStream">The number of environment steps of every stream.</param>
    /// <param name="seed">The reset seed of the vector environment.</param>
    /// <param name="onTransition">Optional observer of every step (e.g. a history recorder).</param>
    /// <param name="progress">Optional: receives the number of completed steps per stream after each update and at the end.</param>
    /// <param name="cancellationToken">Checked every step.</param>
    /// <returns>The returns of every completed episode.</returns>
    /// <exception cref="ArgumentException">The sizes of the learner and the environments differ.</exception>
    public static RunSummary Run(ISourceAlgorithm algorithm, VectorEnvironment environments, int stepsPerStream, int seed,
        TransitionHandler? onTransition = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(environments);
        ArgumentOutOfRangeException.ThrowIfNegative(stepsPerStream);
        int n = environments.Count, obsSize = environments.ObservationSize, actSize = environments.ActionSize;
        if (algorithm.StreamCount != n || algorithm.ObservationSize != obsSize || algorithm.ActionSize != actSize)
            throw new ArgumentException(
                $"The {algorithm.Name} learner has {algorithm.StreamCount} streams, observation size {algorithm.ObservationSize} and action size {algorithm.ActionSize}; the environments have {n}, {obsSize} and {actSize}.",
                nameof(algorithm));

        var obs = new float[n * obsSize];
        var next = new float[n * obsSize];
        var final = new float[n * obsSize];
        var actions = new float[n * actSize];
        var rewards = new float[n];
        var dones = new bool[n];
        var truncated = new bool[n];
        var results = new StepResult[n];
        var optimalEnvs = new IHasOptimalAction[n];
        var hasOptimal = true;
        for (var i = 0; i < n; i++)
        {
            if (environments[i] is IHasOptimalAction o) optimalEnvs[i] = o;
            else hasOptimal = false;
        }
        var optimal = hasOptimal ? new int[n] : [];
        var running = new float[n];
        var returns = new List<float>[n];
        for (var i = 0; i < n; i++) returns[i] = [];

        environments.Reset(seed, obs);
        for (var t = 0; t < stepsPerStream; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            algorithm.Act(obs, actions);
            if (hasOptimal)
                for (var i = 0; i < n; i++) optimal[i] = optimalEnvs[i].OptimalAction();
            environments.Step(actions, next, rewards, dones, final, results);
            // The history records the learner's sample where it keeps one (unclipped Gaussian, as Stable-Baselines3).
            var recorded = algorithm.SampledActions;
            onTransition?.Invoke(new Transition(t, obs, recorded.IsEmpty ? (ReadOnlySpan<float>)actions : recorded, rewards, final, dones, optimal));
            for (var i = 0; i < n; i++)
            {
                running[i] += rewards[i];
                if (dones[i])
                {
                    returns[i].Add(running[i]);
                    running[i] = 0f;
                }
            }
            for (var i = 0; i < n; i++) truncated[i] = results[i].Truncated && !results[i].Terminated;
            algorithm.Observe(rewards, dones, next, truncated, final);
            if (algorithm.IsUpdateDue)
            {
                algorithm.Update(cancellationToken);
                progress?.Report(t + 1);
            }
            (obs, next) = (next, obs);
        }
        progress?.Report(stepsPerStream);
        var result = new float[n][];
        for (var i = 0; i < n; i++) result[i] = [.. returns[i]];
        return new RunSummary(result);
    }
}
