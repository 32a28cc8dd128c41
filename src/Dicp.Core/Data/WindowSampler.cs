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
/// <para>IDT windows (<c>returnsToGoSegment</c> = c &gt; 0): each stream is first viewed through
/// <see cref="ReturnRelabelling"/> (episodes sorted by initial return, returns-to-go relabelled to the stream's best)
/// and <see cref="WindowBatch.ReturnsToGo"/> is filled; starts stay uniform in <c>[0, StepsPerStream − n]</c>, as the
/// reference draws them.</para>
/// <para><c>startStride</c> s &gt; 1 draws starts uniformly among the multiples of s only (IDT with
/// <see cref="ModelConfig.AlignedWindows"/>: s = c, so that segments start with episodes when the horizon is a multiple
/// of c).</para>
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
    /// <param name="returnsToGoSegment">0: plain windows; c &gt; 0: IDT windows of return-sorted episodes with returns-to-go.</param>
    /// <param name="startStride">Windows start on multiples of this (default 1: at any step; IDT's aligned windows: c).</param>
    /// <param name="observationSize">Observation selection: the first this many floats of every stored observation go into the
    /// batch (null: all of them; the model's <c>ObservationSize</c> when its <c>SourceObservationSize</c> selects).</param>
    /// <exception cref="ArgumentException">The windows are longer than the streams, optimal actions are asked of data without them, n is not a multiple of c, or the selection exceeds the stored observations.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the segment is negative.</exception>
    public WindowSampler(HistoryDataset data, int steps, int batchSize, int seed, bool? optimalActions = null, int returnsToGoSegment = 0,
        int startStride = 1, int? observationSize = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (steps > data.StepsPerStream)
            throw new ArgumentException($"Windows of {steps} steps do not fit in streams of {data.StepsPerStream} steps ('{data.Directory}').", nameof(steps));
        var withOptimal = optimalActions ?? data.HasOptimalActions;
        if (withOptimal && !data.HasOptimalActions)
            throw new ArgumentException($"The histories in '{data.Directory}' hold no optimal actions (DPT needs them).", nameof(optimalActions));
        ArgumentOutOfRangeException.ThrowIfNegative(returnsToGoSegment);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(startStride);
        if (returnsToGoSegment > 0 && steps % returnsToGoSegment != 0)
            throw new ArgumentException($"IDT windows of {steps} steps must be a multiple of the segment length {returnsToGoSegment}.", nameof(returnsToGoSegment));
        var o = observationSize ?? data.ObservationSize;
        if (o < 1 || o > data.ObservationSize)
            throw new ArgumentException($"Cannot select the first {o} observation floats: the histories in '{data.Directory}' have {data.ObservationSize}.", nameof(observationSize));
        _data = data;
        _rng = new Generator(seed);
        Segment = returnsToGoSegment;
        StartStride = startStride;
        Batch = new WindowBatch(batchSize, steps, o, data.ActionSize, withOptimal, returnsToGo: returnsToGoSegment > 0);
    }

    /// <summary>c for IDT windows (returns-to-go filled), or 0.</summary>
    public int Segment { get; }

    /// <summary>Windows start on multiples of this (1: at any step).</summary>
    public int StartStride { get; }

    private int StartChoices => (_data.StepsPerStream - Batch.Steps) / StartStride + 1;

    /// <summary>The batch that <see cref="Next"/> fills (the same instance every time).</summary>
    public WindowBatch Batch { get; }

    /// <summary>The number of distinct windows the sampler can draw.</summary>
    public long WindowCount => (long)_data.Tasks.Count * _data.Streams * StartChoices;

    /// <summary>Draws the position of the next window (advances the generator).</summary>
    public WindowPosition NextPosition()
    {
        var task = _rng.NextInt(_data.Tasks.Count);
        var stream = _rng.NextInt(_data.Streams);
        var start = _rng.NextInt(StartChoices) * StartStride;
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
        if (o > data.ObservationSize || a != data.ActionSize)
            throw new ArgumentException($"The batch has observation/action sizes {o}/{a}, the data {data.ObservationSize}/{data.ActionSize}.", nameof(batch));
        CopySelected(data, data.Tasks[p.Task], p.Stream, p.Start, n, o,
            batch.States.AsSpan(b * n * o, n * o), batch.Actions.AsSpan(b * n * a, n * a), batch.Rewards.AsSpan(b * n, n),
            batch.NextStates.AsSpan(b * n * o, n * o), batch.Dones.AsSpan(b * n, n),
            batch.OptimalActions is { } opt ? opt.AsSpan(b * n, n) : Span<int>.Empty);
        if (batch.ReturnsToGo is not { } rtg) return;
        FillRelabelled(data, batch, b, p, rtg);
    }

    /// <summary>Overwrites row <paramref name="b"/> with the window at <paramref name="p"/> of the return-sorted stream and its relabelled returns-to-go.</summary>
    private static void FillRelabelled(HistoryDataset data, WindowBatch batch, int b, WindowPosition p, float[] rtg)
    {
        int n = batch.Steps, o = batch.ObservationSize, a = batch.ActionSize, t = data.StepsPerStream;
        var task = data.Tasks[p.Task];
        var rewards = new float[t];
        var dones = new bool[t];
        var order = new int[t];
        var relabelled = new float[t];
        task.CopyOutcomes(p.Stream, t, rewards, dones);
        ReturnRelabelling.Relabel(rewards, dones, order, relabelled);
        relabelled.AsSpan(p.Start, n).CopyTo(rtg.AsSpan(b * n, n));
        var opt = batch.OptimalActions;
        var i = 0;
        while (i < n) // copy each run of consecutive original steps at once
        {
            var run = 1;
            while (i + run < n && order[p.Start + i + run] == order[p.Start + i] + run) run++;
            var r = b * n + i;
            CopySelected(data, task, p.Stream, order[p.Start + i], run, o, batch.States.AsSpan(r * o, run * o), batch.Actions.AsSpan(r * a, run * a),
                batch.Rewards.AsSpan(r, run), batch.NextStates.AsSpan(r * o, run * o), batch.Dones.AsSpan(r, run),
                opt is null ? Span<int>.Empty : opt.AsSpan(r, run));
            i += run;
        }
    }

    /// <summary>
    /// <see cref="MappedTaskHistory.CopyWindow"/> keeping only the first <paramref name="o"/> floats of every observation
    /// (observation selection; a straight copy when <paramref name="o"/> is the stored size).
    /// </summary>
    private static void CopySelected(HistoryDataset data, MappedTaskHistory task, int stream, int start, int count, int o, Span<float> states,
        Span<float> actions, Span<float> rewards, Span<float> nextStates, Span<bool> dones, Span<int> optimal)
    {
        var full = data.ObservationSize;
        if (o == full)
        {
            task.CopyWindow(stream, start, count, states, actions, rewards, nextStates, dones, optimal);
            return;
        }
        var pool = System.Buffers.ArrayPool<float>.Shared;
        float[] s = pool.Rent(count * full), s2 = pool.Rent(count * full);
        try
        {
            task.CopyWindow(stream, start, count, s.AsSpan(0, count * full), actions, rewards, s2.AsSpan(0, count * full), dones, optimal);
            Environments.ObservationPrefixEnvironment.SelectRows(s.AsSpan(0, count * full), full, o, states);
            Environments.ObservationPrefixEnvironment.SelectRows(s2.AsSpan(0, count * full), full, o, nextStates);
        }
        finally
        {
            pool.Return(s);
            pool.Return(s2);
        }
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
    /// <param name="returnsToGoSegment">0: plain windows; c &gt; 0: IDT windows (see <see cref="WindowSampler"/>).</param>
    /// <param name="startStride">Windows start on multiples of this (see <see cref="WindowSampler"/>).</param>
    /// <param name="observationSize">Observation selection (see <see cref="WindowSampler"/>; null: every stored float).</param>
    public FixedWindowSet(HistoryDataset data, int steps, int windows, int batchSize, int seed, bool? optimalActions = null, int returnsToGoSegment = 0,
        int startStride = 1, int? observationSize = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windows);
        var sampler = new WindowSampler(data, steps, Math.Min(batchSize, windows), seed, optimalActions, returnsToGoSegment, startStride, observationSize);
        _data = data;
        _positions = new WindowPosition[windows];
        for (var i = 0; i < windows; i++) _positions[i] = sampler.NextPosition();
        _full = sampler.Batch;
        var rest = windows % _full.BatchSize;
        if (rest != 0) _rest = new WindowBatch(rest, steps, _full.ObservationSize, data.ActionSize, _full.OptimalActions is not null, _full.ReturnsToGo is not null);
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
