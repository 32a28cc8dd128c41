using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Dicp.Metrics;

/// <summary>
/// Writes scalar summaries as a TensorBoard event file (<c>events.out.tfevents.*</c>) that TensorBoard and
/// <c>tensorboard.backend.event_processing</c> read, without any TensorFlow dependency.
/// </summary>
/// <remarks>
/// The file is a TFRecord stream: per record <c>uint64 length</c>, <c>uint32 masked_crc32c(length)</c>, the bytes of a
/// serialised <c>tensorflow.Event</c> protobuf, <c>uint32 masked_crc32c(bytes)</c>, all little-endian. The first event
/// carries <c>file_version = "brain.Event:2"</c>; each scalar is an event with <c>wall_time</c>, <c>step</c> and a
/// <c>Summary</c> holding one <c>Value { tag, simple_value }</c>. Records are flushed after every
/// <see cref="Flush"/> so a crashed run keeps what it logged. Not thread-safe.
/// </remarks>
public sealed class TensorBoardWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly byte[] _scratch = new byte[512];

    /// <summary>Creates a new event file in <paramref name="directory"/> (created if missing).</summary>
    /// <param name="directory">The run's log directory.</param>
    /// <param name="suffix">Distinguishes files written in the same second (the file name ends with it).</param>
    public TensorBoardWriter(string directory, string suffix = "dicp")
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var now = DateTimeOffset.UtcNow;
        var stem = System.IO.Path.Combine(directory, $"events.out.tfevents.{now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}.{suffix}");
        Path = stem;
        for (var k = 1; File.Exists(Path); k++) Path = $"{stem}.{k.ToString(CultureInfo.InvariantCulture)}";
        _stream = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        var version = Encoding.UTF8.GetBytes("brain.Event:2");
        var n = 0;
        n = WriteDouble(_scratch, n, 1, now.ToUnixTimeMilliseconds() / 1000.0);
        n = WriteBytes(_scratch, n, 3, version);
        WriteRecord(_scratch.AsSpan(0, n));
        _stream.Flush();
    }

    /// <summary>
    /// Continues the run's single event file in <paramref name="directory"/> after a resume from step
    /// <paramref name="lastStep"/>: the directory's event files (several where earlier versions started one per resume)
    /// are merged into the oldest one, without the steps after <paramref name="lastStep"/> (they are about to be
    /// written again) and without a damaged tail, and new scalars are appended to it. With no event file, or
    /// <paramref name="lastStep"/> 0 (a run starting over), the old files are deleted and a new file is started.
    /// </summary>
    /// <param name="directory">The run's log directory.</param>
    /// <param name="lastStep">The last step whose scalars are kept (the resumed checkpoint's step).</param>
    /// <param name="suffix">The suffix of a newly started file.</param>
    public static TensorBoardWriter Continue(string directory, long lastStep, string suffix = "dicp")
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var files = TensorBoardEventFile.List(directory);
        if (files.Count == 0) return new TensorBoardWriter(directory, suffix);
        var records = lastStep > 0 ? TensorBoardEventFile.Merge(files, lastStep) : [];
        if (records.Count == 0 || records[0].IsScalar)
        {
            foreach (var f in files) File.Delete(f);
            return new TensorBoardWriter(directory, suffix);
        }
        var bytes = new byte[records.Sum(r => r.Bytes.Length)];
        var at = 0;
        foreach (var r in records)
        {
            r.Bytes.CopyTo(bytes, at);
            at += r.Bytes.Length;
        }
        IO.AtomicFile.WriteAllBytes(files[0], bytes);
        foreach (var f in files.Skip(1)) File.Delete(f);
        return new TensorBoardWriter(files[0]);
    }

    // Appends to an existing event file (its header is already there).
    private TensorBoardWriter(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
    }

    /// <summary>The event file's path.</summary>
    public string Path { get; }

    /// <summary>Appends one scalar.</summary>
    /// <param name="tag">The series name, e.g. <c>train/loss</c> (UTF-8, at most 200 bytes).</param>
    /// <param name="value">The value.</param>
    /// <param name="step">The x coordinate (global step).</param>
    /// <param name="wallTime">Seconds since the Unix epoch; now when null.</param>
    /// <exception cref="ArgumentException">The tag is empty or too long.</exception>
    public void AddScalar(string tag, float value, long step, double? wallTime = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        var tagBytes = Encoding.UTF8.GetBytes(tag);
        if (tagBytes.Length > 200) throw new ArgumentException($"TensorBoard tag '{tag}' is longer than 200 bytes.", nameof(tag));
        // Value { 1: tag (string), 2: simple_value (float) }
        Span<byte> valueMsg = stackalloc byte[tagBytes.Length + 16];
        var v = WriteBytes(valueMsg, 0, 1, tagBytes);
        valueMsg[v++] = (2 << 3) | 5; // field 2, fixed32
        BinaryPrimitives.WriteSingleLittleEndian(valueMsg[v..], value);
        v += 4;
        // Summary { 1: repeated Value }
        Span<byte> summary = stackalloc byte[v + 8];
        var s = WriteBytes(summary, 0, 1, valueMsg[..v]);
        // Event { 1: wall_time (double), 2: step (int64), 5: summary }
        var n = WriteDouble(_scratch, 0, 1, wallTime ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
        _scratch[n++] = 2 << 3; // field 2, varint
        n = WriteVarint(_scratch, n, unchecked((ulong)step));
        n = WriteBytes(_scratch, n, 5, summary[..s]);
        WriteRecord(_scratch.AsSpan(0, n));
    }

    /// <summary>Flushes written records to disk.</summary>
    public void Flush() => _stream.Flush(flushToDisk: false);

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        _stream.Flush();
        _stream.Dispose();
    }

    private void WriteRecord(ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        _stream.Write(header);
        _stream.Write(data);
        _stream.Write(footer);
    }

    private static int WriteVarint(Span<byte> buffer, int offset, ulong value)
    {
        while (value >= 0x80)
        {
            buffer[offset++] = (byte)(value | 0x80);
            value >>= 7;
        }
        buffer[offset++] = (byte)value;
        return offset;
    }

    private static int WriteDouble(Span<byte> buffer, int offset, int field, double value)
    {
        buffer[offset++] = (byte)((field << 3) | 1); // fixed64
        BinaryPrimitives.WriteDoubleLittleEndian(buffer[offset..], value);
        return offset + 8;
    }

    private static int WriteBytes(Span<byte> buffer, int offset, int field, ReadOnlySpan<byte> bytes)
    {
        buffer[offset++] = (byte)((field << 3) | 2); // length-delimited
        offset = WriteVarint(buffer, offset, (ulong)bytes.Length);
        bytes.CopyTo(buffer[offset..]);
        return offset + bytes.Length;
    }
}
