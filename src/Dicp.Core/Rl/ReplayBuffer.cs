using Dicp.Tensors;

namespace Dicp.Rl;

/// <summary>
/// A preallocated ring buffer of transitions <c>(s, a, r, s′, done)</c> with uniform sampling; once full, the oldest
/// transition is overwritten.
/// </summary>
/// <remarks>Storage is row-major: observations (Capacity, O), actions (Capacity, A), rewards and dones (Capacity).</remarks>
public sealed class ReplayBuffer
{
    private readonly float[] _obs, _next, _act, _rew;
    private readonly bool[] _done;
    private int _pos;

    /// <summary>Allocates the buffer.</summary>
    /// <param name="capacity">Transitions held at most.</param>
    /// <param name="observationSize">O.</param>
    /// <param name="actionSize">A.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public ReplayBuffer(int capacity, int observationSize, int actionSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(observationSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(actionSize);
        (Capacity, ObservationSize, ActionSize) = (capacity, observationSize, actionSize);
        _obs = new float[(long)capacity * observationSize <= Array.MaxLength ? capacity * observationSize
            : throw new ArgumentOutOfRangeException(nameof(capacity), $"A replay buffer of {capacity} × {observationSize} floats is too large.")];
        _next = new float[capacity * observationSize];
        _act = new float[(long)capacity * actionSize <= Array.MaxLength ? capacity * actionSize
            : throw new ArgumentOutOfRangeException(nameof(capacity), $"A replay buffer of {capacity} × {actionSize} floats is too large.")];
        _rew = new float[capacity];
        _done = new bool[capacity];
    }

    /// <summary>Transitions held at most.</summary>
    public int Capacity { get; }

    /// <summary>O.</summary>
    public int ObservationSize { get; }

    /// <summary>A.</summary>
    public int ActionSize { get; }

    /// <summary>Transitions currently held.</summary>
    public int Count { get; private set; }

    /// <summary>Appends one transition (overwriting the oldest when full).</summary>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public void Add(ReadOnlySpan<float> observation, ReadOnlySpan<float> action, float reward, ReadOnlySpan<float> nextObservation, bool done)
    {
        if (observation.Length != ObservationSize || nextObservation.Length != ObservationSize || action.Length != ActionSize)
            throw new ArgumentException($"ReplayBuffer: expected observations of {ObservationSize} and actions of {ActionSize} floats, got {observation.Length}, {nextObservation.Length} and {action.Length}.");
        observation.CopyTo(_obs.AsSpan(_pos * ObservationSize, ObservationSize));
        nextObservation.CopyTo(_next.AsSpan(_pos * ObservationSize, ObservationSize));
        action.CopyTo(_act.AsSpan(_pos * ActionSize, ActionSize));
        _rew[_pos] = reward;
        _done[_pos] = done;
        _pos = (_pos + 1) % Capacity;
        if (Count < Capacity) Count++;
    }

    /// <summary>Draws <c>B</c> transitions uniformly with replacement into preallocated rows.</summary>
    /// <param name="generator">The source of the indices.</param>
    /// <param name="observations">Receives s (B, O).</param>
    /// <param name="actions">Receives a (B, A).</param>
    /// <param name="rewards">Receives r (B).</param>
    /// <param name="nextObservations">Receives s′ (B, O).</param>
    /// <param name="notDones">Receives 1 − done (B).</param>
    /// <exception cref="InvalidOperationException">The buffer is empty.</exception>
    public void Sample(Generator generator, Span<float> observations, Span<float> actions, Span<float> rewards, Span<float> nextObservations, Span<float> notDones)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (Count == 0) throw new InvalidOperationException("ReplayBuffer: cannot sample from an empty buffer.");
        var b = rewards.Length;
        if (observations.Length != b * ObservationSize || nextObservations.Length != b * ObservationSize || actions.Length != b * ActionSize || notDones.Length != b)
            throw new ArgumentException($"ReplayBuffer: sample buffers do not match a batch of {b}.");
        for (var r = 0; r < b; r++)
        {
            var k = generator.NextInt(Count);
            _obs.AsSpan(k * ObservationSize, ObservationSize).CopyTo(observations.Slice(r * ObservationSize));
            _next.AsSpan(k * ObservationSize, ObservationSize).CopyTo(nextObservations.Slice(r * ObservationSize));
            _act.AsSpan(k * ActionSize, ActionSize).CopyTo(actions.Slice(r * ActionSize));
            rewards[r] = _rew[k];
            notDones[r] = _done[k] ? 0f : 1f;
        }
    }
}
