namespace Dicp.Environments;

/// <summary>
/// Shows only the first <see cref="Size"/> floats of another environment's observations: the observation selection of
/// models that read part of the environment's observation (Meta-World: the first 11 of 39 floats, as the reference's
/// models). Actions, rewards, episode ends and success flags pass through unchanged.
/// </summary>
public sealed class ObservationPrefixEnvironment : IEnvironment
{
    private readonly float[] _full;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The environment.</param>
    /// <param name="size">How many leading observation floats to keep (1 … the inner observation size).</param>
    /// <exception cref="ArgumentException">The inner observation space is not a box, or <paramref name="size"/> does not fit it.</exception>
    public ObservationPrefixEnvironment(IEnvironment inner, int size)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var full = inner.ObservationSpace.Size;
        if (size < 1 || size > full)
            throw new ArgumentException($"Cannot select the first {size} of the environment's {full} observation floats.", nameof(size));
        if (inner.ObservationSpace is not BoxSpace box)
            throw new ArgumentException($"Observation selection needs a box observation space, got {inner.ObservationSpace}.", nameof(inner));
        (Inner, Size) = (inner, size);
        ObservationSpace = new BoxSpace(box.Low[..size].ToArray(), box.High[..size].ToArray());
        _full = new float[full];
    }

    /// <summary>The wrapped environment.</summary>
    public IEnvironment Inner { get; }

    /// <summary>The number of leading observation floats shown.</summary>
    public int Size { get; }

    /// <inheritdoc/>
    public Space ObservationSpace { get; }

    /// <inheritdoc/>
    public Space ActionSpace => Inner.ActionSpace;

    /// <inheritdoc/>
    public int MaxEpisodeSteps => Inner.MaxEpisodeSteps;

    /// <inheritdoc/>
    public void Reset(int seed, Span<float> observation)
    {
        Check(observation.Length);
        Inner.Reset(seed, _full);
        _full.AsSpan(0, Size).CopyTo(observation);
    }

    /// <inheritdoc/>
    public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
    {
        Check(nextObservation.Length);
        var result = Inner.Step(action, _full);
        _full.AsSpan(0, Size).CopyTo(nextObservation);
        return result;
    }

    /// <summary>Copies the first <paramref name="size"/> floats of every row of <paramref name="rows"/> (rows of <paramref name="full"/> floats) into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The lengths do not describe the same number of rows.</exception>
    public static void SelectRows(ReadOnlySpan<float> rows, int full, int size, Span<float> destination)
    {
        if (size > full || rows.Length % full != 0 || destination.Length != rows.Length / full * size)
            throw new ArgumentException($"Cannot select {size} of {full} floats per row from {rows.Length} floats into {destination.Length}.", nameof(destination));
        for (int r = 0, n = rows.Length / full; r < n; r++) rows.Slice(r * full, size).CopyTo(destination.Slice(r * size, size));
    }

    private void Check(int length)
    {
        if (length != Size) throw new ArgumentException($"The observation buffer must hold {Size} floats, got {length}.", nameof(length));
    }
}
