using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Dicp.Tensors;

namespace Dicp.IO;

/// <summary>
/// Builds a safetensors file. Tensors are copied when added and written in insertion order, metadata keys in ordinal
/// order, and the JSON header is padded with spaces to a multiple of 8 bytes, so the same calls always produce the same
/// bytes.
/// </summary>
public sealed class SafeTensorsWriter
{
    private const string MetadataKey = "__metadata__";

    private readonly List<Pending> _entries = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, string> _metadata = new(StringComparer.Ordinal);

    private sealed record Pending(string Name, SafeTensorDType DType, int[] Shape, byte[] Data);

    /// <summary>The number of tensors added so far.</summary>
    public int Count => _entries.Count;

    /// <summary>Adds a float32 tensor: its <see cref="Tensor.Shape"/> and its first <see cref="Tensor.Size"/> values.</summary>
    /// <param name="name">The tensor's key; unique within the file.</param>
    /// <param name="tensor">The tensor; its values are copied now.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="tensor"/> is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">The name is empty, reserved (<c>__metadata__</c>) or already added.</exception>
    public void Add(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        AddCore(name, SafeTensorDType.F32, MemoryMarshal.AsBytes<float>(tensor.Span), tensor.Shape, nameof(tensor));
    }

    /// <summary>Adds an I32 tensor.</summary>
    /// <param name="name">The tensor's key; unique within the file.</param>
    /// <param name="values">The values in row-major order; exactly <c>prod(shape)</c> of them.</param>
    /// <param name="shape">The dimensions (empty for a scalar).</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">The name is empty, reserved or already added, or the values do not fill the shape.</exception>
    public void AddInt32(string name, ReadOnlySpan<int> values, ReadOnlySpan<int> shape) =>
        AddCore(name, SafeTensorDType.I32, MemoryMarshal.AsBytes(values), shape, nameof(values));

    /// <summary>Adds an I64 tensor.</summary>
    /// <param name="name">The tensor's key; unique within the file.</param>
    /// <param name="values">The values in row-major order; exactly <c>prod(shape)</c> of them.</param>
    /// <param name="shape">The dimensions (empty for a scalar).</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">The name is empty, reserved or already added, or the values do not fill the shape.</exception>
    public void AddInt64(string name, ReadOnlySpan<long> values, ReadOnlySpan<int> shape) =>
        AddCore(name, SafeTensorDType.I64, MemoryMarshal.AsBytes(values), shape, nameof(values));

    /// <summary>Adds a tensor of any dtype from its raw little-endian bytes.</summary>
    /// <param name="name">The tensor's key; unique within the file.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="data">The row-major little-endian bytes; exactly <c>prod(shape)</c> × element size of them.</param>
    /// <param name="shape">The dimensions (empty for a scalar).</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <c>null</c>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    /// <exception cref="ArgumentException">The name is empty, reserved or already added, or the byte count does not match the shape.</exception>
    public void AddBytes(string name, SafeTensorDType dtype, ReadOnlySpan<byte> data, ReadOnlySpan<int> shape)
    {
        if (!Enum.IsDefined(dtype)) throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype.");
        AddCore(name, dtype, data, shape, nameof(data));
    }

    /// <summary>Sets (or replaces) a <c>__metadata__</c> entry.</summary>
    /// <param name="key">The metadata key.</param>
    /// <param name="value">The metadata value.</param>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="value"/> is <c>null</c>.</exception>
    public void SetMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
    }

    /// <summary>Writes the file atomically (see <see cref="AtomicFile.Write"/>), creating its directory if missing.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a directory, or a name or metadata string is not valid UTF-16.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    public void Save(string path)
    {
        var header = BuildHeader();
        AtomicFile.Write(path, stream => WriteTo(stream, header));
    }

    /// <summary>Writes the safetensors image to <paramref name="stream"/> (which is neither flushed nor closed).</summary>
    /// <param name="stream">A writable stream.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">A name or metadata string is not valid UTF-16.</exception>
    /// <exception cref="PlatformNotSupportedException">The machine is big-endian.</exception>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WriteTo(stream, BuildHeader());
    }

    private void WriteTo(Stream stream, byte[] header)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var e in _entries) stream.Write(e.Data);
    }

    private void AddCore(string name, SafeTensorDType dtype, ReadOnlySpan<byte> data, ReadOnlySpan<int> shape, string dataParam)
    {
        SafeTensorDTypes.EnsureLittleEndian();
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name == MetadataKey)
            throw new ArgumentException($"'{MetadataKey}' is reserved for metadata and cannot name a tensor.", nameof(name));
        if (_names.Contains(name))
            throw new ArgumentException($"A tensor named '{name}' has already been added.", nameof(name));

        long elements = 1;
        foreach (var d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Tensor '{name}': shape {SafeTensorsHeader.FormatShape(shape)} has a negative dimension.", nameof(shape));
            elements *= d;
            if (elements > Array.MaxLength)
                throw new ArgumentException($"Tensor '{name}': shape {SafeTensorsHeader.FormatShape(shape)} has more than {Array.MaxLength} elements.", nameof(shape));
        }
        var size = SafeTensorDTypes.SizeOf(dtype);
        if (data.Length != elements * size)
        {
            var given = data.Length % size == 0 ? $"{data.Length / size} values" : $"{data.Length} bytes";
            throw new ArgumentException(
                $"Tensor '{name}': {given} do not fill shape {SafeTensorsHeader.FormatShape(shape)} of dtype {SafeTensorDTypes.ToName(dtype)} ({elements} elements, {elements * size} bytes).",
                dataParam);
        }

        _names.Add(name);
        _entries.Add(new Pending(name, dtype, shape.ToArray(), data.ToArray()));
    }

    private byte[] BuildHeader()
    {
        SafeTensorDTypes.EnsureLittleEndian();
        var buffer = new ArrayBufferWriter<byte>();
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };
        using (var json = new Utf8JsonWriter(buffer, options))
        {
            json.WriteStartObject();
            if (_metadata.Count > 0)
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in _metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in _entries)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", SafeTensorDTypes.ToName(e.DType));
                json.WriteStartArray("shape");
                foreach (var d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += e.Data.Length;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }

        var written = buffer.WrittenSpan;
        var padded = (written.Length + 7) / 8 * 8;
        var header = new byte[padded];
        written.CopyTo(header);
        header.AsSpan(written.Length).Fill((byte)' ');
        return header;
    }
}
