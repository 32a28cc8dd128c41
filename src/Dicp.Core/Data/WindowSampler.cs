using Dicp.Models;
using Dicp.Tensors;

namespace Dicp.Data;

/// <summary>Where one window lies: task (position in <see cref="HistoryDataset.Tasks"/>), stream and first step.</summary>
/// <param name="Task">The task's position in the dataset.</param>
/// <param name="Stream">The stream.</param>
/// <param name="Start">The first step of the window.</param>
public readonly record struct WindowPosition(int Task, int Stream, int Start);

/// <summary>
/// Draws training batches of random windows of <c>n</c> consecutive steps of one stream (windows cross episode
/// boundaries), as AD and DPT are trained, into one reused <see cref="WindowBatch"/>.
/// </summary>
/// <remarks>
/// Each window draws, in order, a task uniformly, a stream uniformly and a start uniformly in
/// <c>[0, StepsPerStream − n]</c> from a <see cref="Generator"/> (with replacement; uniform over all windows since every
/// task uses the same streams and steps). The whole sampler state is the generator's, so
/// <see cref="GetState"/>/<see cref="SetState"/> checkpoint it exactly.
/// </remarks>
public sealed class WindowSampler
{
    private readonly HistoryDataset _data;
    private readonly Generator _rng;

    /// <summary>Creates the sampler.</summary>
    /// <param name="data">The histories (e.g. the train split).</param>
    /// <param name="steps">n, the steps per window (the model's <see cref="ITrainableInContextModel.SampleSteps"/>).</param>
    /// <param name="batchSize">B, the windows per batch.</param>
    /// <param name="seed">Seeds the window positions.</param>
    /// <param name="optimalActions">Fill <see cref="WindowBatch.OptimalActions"/> (default: when every file has them).</param>
    /// <exception cref="ArgumentException">The windows are longer than the streams, or optimal actions are asked of data without them.</exception>
    public WindowSampler(HistoryDataset data, int steps, int batchSize, int seed, bool? optimalActions = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (steps > data.StepsPerStream)
            throw new ArgumentException($"Windows of {steps} steps do not fit in streams of {data.StepsPerStream} steps ('{data.Directory}').", nameof(steps));
        var withOptimal = optimalActions ?? data.HasOptimalActions;
        if (withOptimal && !data.HasOptimalActions)
            throw new ArgumentException($"The histories in '{data.Directory}' hold no optimal actions (DPT needs them).", nameof(optimalActions));
        _data = data;
        _rng = new Generator(seed);
        Batch = new WindowBatch(batchSize, steps, data.ObservationSize, data.ActionSize, withOptimal);
    }

    /// <summary>The batch that <see cref="Next"/> fills (the same instance every time).</summary>
    public WindowBatch Batch { get; }

    /// <summary>The number of distinct windows the sampler can draw.</summary>
    public long WindowCount => (long)_data.Tasks.Count * _data.Streams * (_data.StepsPerStream - Batch.Steps + 1);

    /// <summary>Draws the position of the next window (advances the generator).</summary>
    public WindowPosition NextPosition()
    {
        var task = _rng.NextInt(_data.Tasks.Count);
        var stream = _rng.NextInt(_data.Streams);
        var start = _rng.NextInt(_data.StepsPerStream - Batch.Steps + 1);
        return new WindowPosition(task, stream, start);
    }

    /// <summary>Fills <see cref="Batch"/> with B fresh random windows and returns it.</summary>
    public WindowBatch Next()
    {
        for (var b = 0; b < Batch.BatchSize; b++) Fill(_data, Batch, b, NextPosition());
        return Batch;
    }

    /// <summary>The generator's state (for checkpoints).</summary>
    public ulong[] GetState() => _rng.GetState();

    /// <summary>Restores a state captured by <see cref="GetState"/>.</summary>
    public void SetState(ReadOnlySpan<ulong> state) => _rng.SetState(state);

    /// <summary>Copies the window at <paramref name="p"/> into row <paramref name="b"/> of <paramref name="batch"/>.</summary>
    internal static void Fill(HistoryDataset data, WindowBatch batch, int b, WindowPosition p)
    {
        int n = batch.Steps, o = batch.ObservationSize, a = batch.ActionSize;
        if (o != data.ObservationSize || a != data.ActionSize)
            throw new ArgumentException($"The batch has observation/action sizes {o}/{a}, the data {data.ObservationSize}/{data.ActionSize}.", nameof(batch));
        data.Tasks[p.Task].CopyWindow(p.Stream, p.Start, n,
            batch.States.AsSpan(b * n * o, n * o), batch.Actions.AsSpan(b * n * a, n * a), batch.Rewards.AsSpan(b * n, n),
            batch.NextStates.AsSpan(b * n * o, n * o), batch.Dones.AsSpan(b * n, n),
            batch.OptimalActions is { } opt ? opt.AsSpan(b * n, n) : Span<int>.Empty);
    }
}

/// <summary>
/// A fixed, deterministic set of windows (drawn once from a seed) for test loss and accuracy: the same windows in the
/// same order at every evaluation, so test metrics are comparable across steps and runs.
/// </summary>
public sealed class FixedWindowSet
{
    private readonly HistoryDataset _data;
    private readonly WindowPosition[] _positions;
    private readonly WindowBatch _full;
    private readonly WindowBatch? _rest;

    /// <summary>Draws <paramref name="windows"/> window positions with a <see cref="WindowSampler"/> seeded by <paramref name="seed"/>.</summary>
    /// <param name="data">The histories (e.g. the test split).</param>
    /// <param name="steps">n, the steps per window.</param>
    /// <param name="windows">The number of windows in the set.</param>
    /// <param name="batchSize">The windows per batch (the last batch holds the remainder).</param>
    /// <param name="seed">Seeds the positions.</param>
    /// <param name="optimalActions">Fill optimal actions (default: when every file has them).</param>
    public FixedWindowSet(HistoryDataset data, int steps, int windows, int batchSize, int seed, bool? optimalActions = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windows);
        var sampler = new WindowSampler(data, steps, Math.Min(batchSize, windows), seed, optimalActions);
        _data = data;
        _positions = new WindowPosition[windows];
        for (var i = 0; i < windows; i++) _positions[i] = sampler.NextPosition();
        _full = sampler.Batch;
        var rest = windows % _full.BatchSize;
        if (rest != 0) _rest = new WindowBatch(rest, steps, data.ObservationSize, data.ActionSize, _full.OptimalActions is not null);
    }

    /// <summary>The number of windows.</summary>
    public int Count => _positions.Length;

    /// <summary>The window positions, in order.</summary>
    public IReadOnlyList<WindowPosition> Positions => _positions;

    /// <summary>The batches in order (reused buffers: consume each before moving to the next).</summary>
    public IEnumerable<WindowBatch> Batches()
    {
        var i = 0;
        while (i < _positions.Length)
        {
            var batch = _positions.Length - i >= _full.BatchSize ? _full : _rest!;
            for (var b = 0; b < batch.BatchSize; b++) WindowSampler.Fill(_data, batch, b, _positions[i++]);
            yield return batch;
        }
    }
}
