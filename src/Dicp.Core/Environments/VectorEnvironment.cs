namespace Dicp.Environments;

/// <summary>
/// Steps <see cref="Count"/> environments (copies of one environment, or one per task) in lock-step into
/// caller-provided flat buffers, resetting every copy whose episode ended. Stepping allocates nothing.
/// </summary>
/// <remarks>
/// Buffers are row-major: observations are <c>(Count, ObservationSize)</c>, actions <c>(Count, ActionSize)</c>, and
/// rewards/dones/results have one entry per copy. Copy <c>i</c>'s <c>e</c>-th episode (<c>e = 0</c> for
/// <see cref="Reset"/>) is reset with seed <c>seed + e · Count + i</c> (wrapping), so every episode gets a distinct
/// seed and the whole run is determined by the seed given to <see cref="Reset"/>.
/// </remarks>
public sealed class VectorEnvironment
{
    private readonly IEnvironment[] _envs;
    private readonly int[] _episodes;
    private int _seed;
    private bool _started;

    /// <summary>Wraps the given environments (at least one; all with the same observation and action sizes).</summary>
    /// <exception cref="ArgumentException">The list is empty, holds null or the same instance twice, or the sizes differ.</exception>
    public VectorEnvironment(IReadOnlyList<IEnvironment> environments)
    {
        ArgumentNullException.ThrowIfNull(environments);
        if (environments.Count == 0) throw new ArgumentException("A vector environment needs at least one environment.", nameof(environments));
        _envs = new IEnvironment[environments.Count];
        for (var i = 0; i < _envs.Length; i++)
        {
            var env = environments[i] ?? throw new ArgumentException($"Environment {i} is null.", nameof(environments));
            for (var j = 0; j < i; j++)
                if (ReferenceEquals(_envs[j], env))
                    throw new ArgumentException($"Environments {j} and {i} are the same instance; each copy needs its own.", nameof(environments));
            _envs[i] = env;
        }
        ObservationSize = _envs[0].ObservationSize;
        ActionSize = _envs[0].ActionSize;
        for (var i = 1; i < _envs.Length; i++)
        {
            if (_envs[i].ObservationSize != ObservationSize || _envs[i].ActionSize != ActionSize)
                throw new ArgumentException(
                    $"Environment {i} has observation/action sizes {_envs[i].ObservationSize}/{_envs[i].ActionSize}, environment 0 has {ObservationSize}/{ActionSize}.",
                    nameof(environments));
        }
        _episodes = new int[_envs.Length];
    }

    /// <summary>Creates <paramref name="count"/> copies with <paramref name="factory"/> (called with the copy index).</summary>
    public VectorEnvironment(Func<int, IEnvironment> factory, int count) : this(Build(factory, count)) { }

    /// <summary>The number of copies.</summary>
    public int Count => _envs.Length;

    /// <summary>The floats per observation of one copy.</summary>
    public int ObservationSize { get; }

    /// <summary>The floats per action of one copy.</summary>
    public int ActionSize { get; }

    /// <summary>Copy <paramref name="index"/>.</summary>
    public IEnvironment this[int index] => _envs[index];

    /// <summary>How many episodes copy <paramref name="index"/> has finished since the last <see cref="Reset"/>.</summary>
    public int CompletedEpisodes(int index) => _episodes[index];

    /// <summary>Resets every copy (copy <c>i</c> with seed <c>seed + i</c>) and writes the first observations.</summary>
    /// <exception cref="ArgumentException"><paramref name="observations"/> is not <c>Count · ObservationSize</c> floats.</exception>
    public void Reset(int seed, Span<float> observations)
    {
        CheckLength(observations.Length, Count * ObservationSize, nameof(observations));
        _seed = seed;
        Array.Clear(_episodes);
        for (var i = 0; i < _envs.Length; i++)
            _envs[i].Reset(EpisodeSeed(i), observations.Slice(i * ObservationSize, ObservationSize));
        _started = true;
    }

    /// <summary>
    /// Steps every copy with its row of <paramref name="actions"/>. <paramref name="finalObservations"/> receives the
    /// true next observation of every copy (the terminal one for a copy whose episode ended);
    /// <paramref name="observations"/> receives what the agent sees next: the same, except that a finished copy is
    /// reset and its row holds the first observation of its new episode.
    /// </summary>
    /// <param name="actions">(Count, ActionSize) actions.</param>
    /// <param name="observations">(Count, ObservationSize): the next observations after auto-reset.</param>
    /// <param name="rewards">Count rewards.</param>
    /// <param name="dones">Count flags: the copy's episode ended (terminated or truncated) on this step.</param>
    /// <param name="finalObservations">(Count, ObservationSize): the next observations before auto-reset.</param>
    /// <param name="results">Optional, Count entries: each copy's full <see cref="StepResult"/>.</param>
    /// <exception cref="ArgumentException">A buffer has the wrong length, or an environment rejected its action.</exception>
    /// <exception cref="InvalidOperationException"><see cref="Reset"/> was never called.</exception>
    public void Step(ReadOnlySpan<float> actions, Span<float> observations, Span<float> rewards, Span<bool> dones,
        Span<float> finalObservations, Span<StepResult> results = default)
    {
        if (!_started) throw new InvalidOperationException("Call Reset before stepping the vector environment.");
        var n = _envs.Length;
        CheckLength(actions.Length, n * ActionSize, nameof(actions));
        CheckLength(observations.Length, n * ObservationSize, nameof(observations));
        CheckLength(rewards.Length, n, nameof(rewards));
        CheckLength(dones.Length, n, nameof(dones));
        CheckLength(finalObservations.Length, n * ObservationSize, nameof(finalObservations));
        if (!results.IsEmpty) CheckLength(results.Length, n, nameof(results));
        for (var i = 0; i < n; i++)
        {
            var final = finalObservations.Slice(i * ObservationSize, ObservationSize);
            var obs = observations.Slice(i * ObservationSize, ObservationSize);
            var r = _envs[i].Step(actions.Slice(i * ActionSize, ActionSize), final);
            rewards[i] = r.Reward;
            dones[i] = r.Done;
            if (!results.IsEmpty) results[i] = r;
            if (r.Done)
            {
                _episodes[i]++;
                _envs[i].Reset(EpisodeSeed(i), obs);
            }
            else
            {
                final.CopyTo(obs);
            }
        }
    }

    private int EpisodeSeed(int i) => unchecked(_seed + _episodes[i] * _envs.Length + i);

    private static void CheckLength(int actual, int expected, string name)
    {
        if (actual != expected) throw new ArgumentException($"Buffer '{name}' must hold {expected} elements, got {actual}.", name);
    }

    private static IEnvironment[] Build(Func<int, IEnvironment> factory, int count)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var envs = new IEnvironment[count];
        for (var i = 0; i < count; i++) envs[i] = factory(i);
        return envs;
    }
}
