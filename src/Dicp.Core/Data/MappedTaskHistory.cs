using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Dicp.IO;

namespace Dicp.Data;

/// <summary>
/// A task's history file (see <see cref="HistoryFormat"/>) memory-mapped read-only: the header is validated on open and
/// windows of consecutive steps are copied straight from the mapping, so a collection far larger than memory (Meta-World,
/// ≈ 16 GB) can be sampled from; the operating system pages in only what is read.
/// </summary>
/// <remarks>
/// Arrays are row-major <c>[streams, steps, …]</c>; a window of <c>n</c> consecutive steps of one stream is contiguous in
/// every array. Reading is thread-safe; <see cref="Dispose"/> must not race with reads.
/// </remarks>
public sealed unsafe class MappedTaskHistory : IDisposable
{
    private readonly MemoryMappedViewAccessor _view;
    private readonly long _states, _actions, _rewards, _nextStates, _dones, _optimal;
    private byte* _base;

    private MappedTaskHistory(string path, MemoryMappedViewAccessor view, byte* basePointer, HistoryLayout layout, SafeTensorsHeader header)
    {
        (Path, _view) = (path, view);
        _base = basePointer;
        (Info, ObservationSize, ActionSize, HasOptimalActions) = (layout.Info, layout.ObservationSize, layout.ActionSize, layout.HasOptimalActions);
        long Offset(string name) => header.DataStart + header.Entries.First(e => e.Name == name).Begin;
        _states = Offset(HistoryFormat.States);
        _actions = Offset(HistoryFormat.Actions);
        _rewards = Offset(HistoryFormat.Rewards);
        _nextStates = Offset(HistoryFormat.NextStates);
        _dones = Offset(HistoryFormat.Dones);
        _optimal = HasOptimalActions ? Offset(HistoryFormat.OptimalActions) : -1;
    }

    /// <summary>The mapped file.</summary>
    public string Path { get; }

    /// <summary>The description stored in the file's metadata.</summary>
    public TaskHistoryInfo Info { get; }

    /// <summary>S, the streams in the file.</summary>
    public int Streams => Info.Streams;

    /// <summary>T, the steps per stream in the file.</summary>
    public int StepsPerStream => Info.StepsPerStream;

    /// <summary>Floats per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Floats per action.</summary>
    public int ActionSize { get; }

    /// <summary>Whether the file stores the optimal action of every step.</summary>
    public bool HasOptimalActions { get; }

    /// <summary>Maps <paramref name="path"/> read-only and validates its header, metadata, dtypes, shapes and done flags.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="HistoryFormatException">The file is not a valid history (the message names the file and the field).</exception>
    public static MappedTaskHistory Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var length = new FileInfo(path) is { Exists: true } fi ? fi.Length : throw new FileNotFoundException($"History file '{path}' does not exist.", path);
        if (length < 8) throw new HistoryFormatException(path, null, $"not a valid safetensors file: the file is {length} bytes long, shorter than the 8-byte header length prefix.");
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        byte* p = null;
        try
        {
            view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            var headerLength = SafeTensorsHeader.ReadHeaderLength(new ReadOnlySpan<byte>(p, 8));
            var prefixLength = (int)Math.Min((ulong)length, Math.Min(headerLength, SafeTensorsHeader.MaxHeaderBytes) + 8);
            var prefix = new ReadOnlySpan<byte>(p, prefixLength).ToArray();
            SafeTensorsHeader header;
            try
            {
                header = SafeTensorsHeader.Parse(prefix, length, path);
            }
            catch (SafeTensorsFormatException e)
            {
                throw new HistoryFormatException(path, null, $"not a valid safetensors file: {e.Problem ?? e.Message}", e);
            }
            var entries = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
            var layout = HistoryValidation.Validate(path, header.Metadata,
                name => entries.TryGetValue(name, out var e) ? new SafeTensorInfo(e.DType, e.Shape, e.ByteLength) : null);
            var doneEntry = entries[HistoryFormat.Dones];
            for (long off = 0; off < doneEntry.ByteLength; off += int.MaxValue / 2)
            {
                var n = (int)Math.Min(int.MaxValue / 2, doneEntry.ByteLength - off);
                HistoryValidation.CheckDones(path, new ReadOnlySpan<byte>(p + header.DataStart + doneEntry.Begin + off, n));
            }
            return new MappedTaskHistory(path, view, p, layout, header);
        }
        catch
        {
            if (p != null) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            throw;
        }
        finally
        {
            // The mapping outlives the file handle: closing it keeps descriptors free when thousands of tasks are open
            // (Key-to-Door has 6233 train tasks).
            file.Dispose();
        }
    }

    /// <summary>
    /// Copies steps <c>[start, start + count)</c> of <paramref name="stream"/> into the destinations (each sized exactly
    /// for <paramref name="count"/> steps; <paramref name="optimalActions"/> may be empty to skip them).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The window is outside the file.</exception>
    /// <exception cref="ArgumentException">A destination has the wrong length, or optimal actions were asked of a file without them.</exception>
    public void CopyWindow(int stream, int start, int count, Span<float> states, Span<float> actions, Span<float> rewards,
        Span<float> nextStates, Span<bool> dones, Span<int> optimalActions)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        if ((uint)stream >= (uint)Streams) throw new ArgumentOutOfRangeException(nameof(stream), $"Stream {stream} is outside [0, {Streams}) of '{Path}'.");
        if (count <= 0 || start < 0 || start > StepsPerStream - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"Window [{start}, {start + count}) is outside the {StepsPerStream} steps of '{Path}'.");
        Check(states.Length, count * ObservationSize, nameof(states));
        Check(actions.Length, count * ActionSize, nameof(actions));
        Check(rewards.Length, count, nameof(rewards));
        Check(nextStates.Length, count * ObservationSize, nameof(nextStates));
        Check(dones.Length, count, nameof(dones));
        if (!optimalActions.IsEmpty)
        {
            if (!HasOptimalActions) throw new ArgumentException($"History file '{Path}' holds no optimal actions (needed by DPT).", nameof(optimalActions));
            Check(optimalActions.Length, count, nameof(optimalActions));
        }
        var row = (long)stream * StepsPerStream + start;
        Floats(_states, row * ObservationSize, count * ObservationSize).CopyTo(states);
        Floats(_actions, row * ActionSize, count * ActionSize).CopyTo(actions);
        Floats(_rewards, row, count).CopyTo(rewards);
        Floats(_nextStates, row * ObservationSize, count * ObservationSize).CopyTo(nextStates);
        MemoryMarshal.Cast<byte, bool>(new ReadOnlySpan<byte>(_base + _dones + row, count)).CopyTo(dones); // validated 0/1
        if (!optimalActions.IsEmpty) new ReadOnlySpan<int>(_base + _optimal + row * sizeof(int), count).CopyTo(optimalActions);
    }

    /// <summary>Copies the rewards and done flags of steps <c>[0, count)</c> of <paramref name="stream"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The stream or the count is outside the file.</exception>
    /// <exception cref="ArgumentException">A destination is shorter than <paramref name="count"/>.</exception>
    public void CopyOutcomes(int stream, int count, Span<float> rewards, Span<bool> dones)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        if ((uint)stream >= (uint)Streams) throw new ArgumentOutOfRangeException(nameof(stream), $"Stream {stream} is outside [0, {Streams}) of '{Path}'.");
        if (count <= 0 || count > StepsPerStream) throw new ArgumentOutOfRangeException(nameof(count), $"{count} steps are outside the {StepsPerStream} steps of '{Path}'.");
        if (rewards.Length < count || dones.Length < count) throw new ArgumentException($"Buffers of {rewards.Length}/{dones.Length} values cannot hold {count} steps.", nameof(rewards));
        var row = (long)stream * StepsPerStream;
        Floats(_rewards, row, count).CopyTo(rewards);
        MemoryMarshal.Cast<byte, bool>(new ReadOnlySpan<byte>(_base + _dones + row, count)).CopyTo(dones); // validated 0/1
    }

    /// <summary>
    /// Checks every value of the file against <paramref name="rules"/> (see <see cref="HistoryValueRules"/>), stream by
    /// stream straight from the mapping.
    /// </summary>
    /// <exception cref="HistoryFormatException">A value breaks a rule; the message names the file, the array, the stream, the step, the component and the value.</exception>
    public void ValidateValues(HistoryValueRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ObjectDisposedException.ThrowIf(_base == null, this);
        if (!rules.ChecksValues) return;
        var discrete = rules.ActionSpace as Environments.DiscreteSpace;
        for (var s = 0; s < Streams; s++)
        {
            var row = (long)s * StepsPerStream;
            int t = StepsPerStream, o = ObservationSize, a = ActionSize;
            HistoryValueValidation.CheckRows(Path, HistoryFormat.States, Floats(_states, row * o, t * o), o, s, rules.Finite, rules.ObservationSpace, rules.GridSide);
            HistoryValueValidation.CheckRows(Path, HistoryFormat.NextStates, Floats(_nextStates, row * o, t * o), o, s, rules.Finite, rules.ObservationSpace, rules.GridSide);
            HistoryValueValidation.CheckRows(Path, HistoryFormat.Actions, Floats(_actions, row * a, t * a), a, s, rules.Finite, rules.ActionSpace, 0);
            HistoryValueValidation.CheckRewards(Path, Floats(_rewards, row, t), s, rules.Finite, rules.RewardClasses);
            if (discrete is not null && HasOptimalActions)
                HistoryValueValidation.CheckOptimalActions(Path, new ReadOnlySpan<int>(_base + _optimal + row * sizeof(int), t), s, discrete.N);
        }
    }

    private ReadOnlySpan<float> Floats(long arrayOffset, long element, int count) => new(_base + arrayOffset + element * sizeof(float), count);

    private static void Check(int actual, int expected, string name)
    {
        if (actual != expected) throw new ArgumentException($"Buffer '{name}' must hold {expected} values, got {actual}.", name);
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
    }
}
