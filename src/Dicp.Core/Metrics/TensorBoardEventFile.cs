using System.Buffers.Binary;
using System.Globalization;

namespace Dicp.Metrics;

/// <summary>
/// Reads the records of TensorBoard event files (<see cref="TensorBoardWriter"/>'s TFRecord format) far enough to know
/// each record's step, so that a resumed run can drop the steps it is about to redo.
/// </summary>
/// <remarks>
/// A record is kept as its raw bytes (length, length CRC, event, event CRC); a record whose length or CRCs do not check
/// (a file cut off by a crash) ends the file. An event's step is its protobuf field 2 (0 when absent); an event with a
/// summary (field 5) is a scalar record, the others (the <c>file_version</c> header) are not.
/// </remarks>
public static class TensorBoardEventFile
{
    /// <summary>The file name prefix of event files.</summary>
    public const string Prefix = "events.out.tfevents.";

    /// <summary>One record of an event file.</summary>
    /// <param name="Bytes">The whole record as written.</param>
    /// <param name="Step">The event's step.</param>
    /// <param name="IsScalar">Whether the event carries a summary.</param>
    public sealed record Record(byte[] Bytes, long Step, bool IsScalar);

    /// <summary>The valid records of one event file, in order (a damaged tail is left out).</summary>
    public static IReadOnlyList<Record> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var records = new List<Record>();
        var at = 0;
        while (at + 12 <= bytes.Length)
        {
            var header = bytes.AsSpan(at, 12);
            var length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != Crc32C.Masked(header[..8])) break;
            if (length > (ulong)(bytes.Length - at - 16)) break;
            var data = bytes.AsSpan(at + 12, (int)length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + (int)length, 4)) != Crc32C.Masked(data)) break;
            if (!TryParseEvent(data, out var step, out var scalar)) break;
            var size = 16 + (int)length;
            records.Add(new Record(bytes.AsSpan(at, size).ToArray(), step, scalar));
            at += size;
        }
        return records;
    }

    /// <summary>The event files of a directory, oldest first (by the Unix time in the name, then the repeat number).</summary>
    public static IReadOnlyList<string> List(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        return Directory.GetFiles(directory, Prefix + "*")
            .Select(p => (Path: p, Key: SortKey(Path.GetFileName(p))))
            .OrderBy(x => x.Key.Seconds).ThenBy(x => x.Key.Repeat).ThenBy(x => x.Path, StringComparer.Ordinal)
            .Select(x => x.Path).ToArray();
    }

    /// <summary>
    /// Merges the event files <paramref name="files"/> (oldest first) into one timeline that ends at <paramref name="lastStep"/>:
    /// a later file (a resumed run) replaces the steps of earlier files from its first step on, and steps after
    /// <paramref name="lastStep"/> are dropped. Returns the records, the header of the first file first.
    /// </summary>
    public static IReadOnlyList<Record> Merge(IReadOnlyList<string> files, long lastStep)
    {
        var merged = new List<Record>();
        var header = false;
        foreach (var file in files)
        {
            var records = Read(file);
            var first = records.FirstOrDefault(r => r.IsScalar);
            if (first is not null) merged.RemoveAll(r => r.IsScalar && r.Step >= first.Step);
            foreach (var r in records)
            {
                if (!r.IsScalar)
                {
                    if (!header) merged.Insert(0, r);
                    header = true;
                }
                else merged.Add(r);
            }
        }
        merged.RemoveAll(r => r.IsScalar && r.Step > lastStep);
        return merged;
    }

    private static (long Seconds, int Repeat) SortKey(string name)
    {
        var parts = name[Prefix.Length..].Split('.');
        var seconds = long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : long.MaxValue;
        var repeat = parts.Length > 2 && int.TryParse(parts[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) ? k : 0;
        return (seconds, repeat);
    }

    // Event { 1: wall_time fixed64, 2: step varint, 3: file_version bytes, 5: summary bytes, … }: the step and whether
    // there is a summary; false when the bytes are not a well-formed protobuf message.
    private static bool TryParseEvent(ReadOnlySpan<byte> data, out long step, out bool scalar)
    {
        (step, scalar) = (0, false);
        var at = 0;
        while (at < data.Length)
        {
            if (!TryVarint(data, ref at, out var tag)) return false;
            var field = tag >> 3;
            switch (tag & 7)
            {
                case 0:
                    if (!TryVarint(data, ref at, out var v)) return false;
                    if (field == 2) step = unchecked((long)v);
                    break;
                case 1:
                    at += 8;
                    break;
                case 2:
                    if (!TryVarint(data, ref at, out var n) || n > (ulong)(data.Length - at)) return false;
                    if (field == 5) scalar = true;
                    at += (int)n;
                    break;
                case 5:
                    at += 4;
                    break;
                default:
                    return false;
            }
            if (at > data.Length) return false;
        }
        return true;
    }

    private static bool TryVarint(ReadOnlySpan<byte> data, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= data.Length) return false;
            var b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return true;
        }
        return false;
    }
}
