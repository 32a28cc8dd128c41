namespace Dicp.Rl;

/// <summary>
/// A source RL algorithm as a history collector drives it: one learner acting for <see cref="StreamCount"/> streams
/// (copies of one task) in lock-step, learning from what it observes.
/// </summary>
/// <remarks>
/// The protocol per environment step is <see cref="Act"/>, then <see cref="Observe(ReadOnlySpan{float}, ReadOnlySpan{bool}, ReadOnlySpan{float})"/>; when <see cref="IsUpdateDue"/>
/// turns true after an <see cref="Observe(ReadOnlySpan{float}, ReadOnlySpan{bool}, ReadOnlySpan{float})"/>, the caller runs <see cref="Update"/> before the next <see cref="Act"/>.
/// Buffers are row-major: observations <c>(StreamCount, ObservationSize)</c>, actions
/// <c>(StreamCount, ActionSize)</c>, rewards and dones one entry per stream.
/// </remarks>
public interface ISourceAlgorithm
{
    /// <summary>A short name of the algorithm (for manifests and logs), e.g. <c>"ppo"</c>.</summary>
    string Name { get; }

    /// <summary>The number of streams the learner acts for.</summary>
    int StreamCount { get; }

    /// <summary>The floats per observation.</summary>
    int ObservationSize { get; }

    /// <summary>The floats per action as sent to the environment (1 for a discrete action).</summary>
    int ActionSize { get; }

    /// <summary>Whether a rollout is complete and <see cref="Update"/> must run before the next <see cref="Act"/>.</summary>
    bool IsUpdateDue { get; }

    /// <summary>The hyperparameters as JSON-friendly name/value pairs (for manifests).</summary>
    IReadOnlyDictionary<string, object> Hyperparameters { get; }

    /// <summary>Chooses an action for every stream and writes the environment actions into <paramref name="actions"/>.</summary>
    /// <param name="observations">(StreamCount, ObservationSize) current observations.</param>
    /// <param name="actions">Receives (StreamCount, ActionSize) actions, valid for the environment (clipped to a box).</param>
    /// <exception cref="ArgumentException">A buffer has the wrong length.</exception>
    /// <exception cref="InvalidOperationException">An update is due, or the previous action was not observed.</exception>
    void Act(ReadOnlySpan<float> observations, Span<float> actions);

    /// <summary>Records the outcome of the last <see cref="Act"/>.</summary>
    /// <param name="rewards">StreamCount rewards.</param>
    /// <param name="dones">StreamCount flags: the stream's episode ended on this step (terminated or truncated).</param>
    /// <param name="nextObservations">(StreamCount, ObservationSize) what the streams observe next (after any auto-reset).</param>
    /// <exception cref="ArgumentException">A buffer has the wrong length.</exception>
    /// <exception cref="InvalidOperationException"><see cref="Act"/> was not called first.</exception>
    void Observe(ReadOnlySpan<float> rewards, ReadOnlySpan<bool> dones, ReadOnlySpan<float> nextObservations);

    /// <summary>
    /// Records the outcome of the last <see cref="Act"/> with what tells a time limit from a terminal state: which
    /// episodes were cut off by the horizon and their true final observations. Learners that bootstrap at a time limit
    /// (Stable-Baselines3's handling) use them; the default ignores them.
    /// </summary>
    /// <param name="rewards">StreamCount rewards.</param>
    /// <param name="dones">StreamCount flags: the episode ended (terminated or truncated).</param>
    /// <param name="nextObservations">(StreamCount, ObservationSize) after any auto-reset.</param>
    /// <param name="truncated">StreamCount flags: the episode was cut off by the horizon (not terminated).</param>
    /// <param name="finalObservations">(StreamCount, ObservationSize) the observations before any auto-reset.</param>
    void Observe(ReadOnlySpan<float> rewards, ReadOnlySpan<bool> dones, ReadOnlySpan<float> nextObservations,
        ReadOnlySpan<bool> truncated, ReadOnlySpan<float> finalObservations) => Observe(rewards, dones, nextObservations);

    /// <summary>
    /// (StreamCount, ActionSize) the actions of the last <see cref="Act"/> as the learner sampled them, before clipping
    /// to the environment's box, when the learner records those (empty: record the environment's actions).
    /// </summary>
    ReadOnlySpan<float> SampledActions => ReadOnlySpan<float>.Empty;

    /// <summary>Learns from the completed rollout and starts a new one.</summary>
    /// <param name="cancellationToken">Checked between gradient steps.</param>
    /// <returns>Statistics of the update.</returns>
    /// <exception cref="InvalidOperationException">No update is due.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the learner is then unusable.</exception>
    UpdateStatistics Update(CancellationToken cancellationToken = default);
}
