using System.Runtime.InteropServices;
using Dicp.Tensors;

namespace Dicp.IO;

/// <summary>
/// A safetensors file read fully into memory and validated: an 8-byte little-endian header length, a UTF-8 JSON header
/// mapping tensor names to <c>{"dtype", "shape", "data_offsets"}</c> (plus optional string <c>__metadata__</c>), then
/// the little-endian, row-major data buffer, which the tensors must cover exactly.
/// </summary>
public sealed class SafeTensorsFile
{
    private const int KeysShownInErrors = 8;

    private readonly byte[] _bytes;
    private readonly int _dataStart;
    private readonly Dictionary<string, SafeTensorsEntry> _entries;
    private readonly string[] _names;

    private SafeTensorsFile(string path, byte[] bytes, SafeTensorsHeader header)
    {
        Path = path;
        _bytes = bytes;
        _dataStart = header.DataStart;
        _names = header.Entries.Select(e => e.Name).ToArray();
        _entries = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Metadata = header.Metadata.AsReadOnly();
    }

    /// <summary>Reads and validates a safetensors file.</summary>
    /// <param name="path">The file to read. It is read whole into memory.</param>
    /// <returns>The parsed file.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    /// <exception cref="SafeTensorsFormatException">The file is not a well-formed safetensors file.</exception>
    /// <exception cref="PlatformNotSupportedException">The machine is big-endian.</exception>
    public static SafeTensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeTensorDTypes.EnsureLittleEndian();
        var bytes = File.ReadAllBytes(path);
        return new SafeTensorsFile(path, bytes, SafeTensorsHeader.Parse(bytes, path));
    }

    /// <summary>Parses and validates a safetensors image held in memory.</summary>
    /// <param name="bytes">The complete file content. It is kept (not copied); do not modify it afterwards.</param>
    /// <param name="sourceName">A name for error messages and <see cref="Path"/>; defaults to <c>&lt;memory&gt;</c>.</param>
    /// <returns>The parsed file.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="bytes"/> is <c>null</c>.</exception>
    /// <exception cref="SafeTensorsFormatException">The bytes are not a well-formed safetensors file.</exception>
    /// <exception cref="PlatformNotSupportedException">The machine is big-endian.</exception>
    public static SafeTensorsFile Parse(byte[] bytes, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        SafeTensorDTypes.EnsureLittleEndian();
        var source = sourceName ?? "<memory>";
        return new SafeTensorsFile(source, bytes, SafeTensorsHeader.Parse(bytes, source));
    }

    /// <summary>The path the file was read from (or the source name given to <see cref="Parse"/>).</summary>
    public string Path { get; }

    /// <summary>The string key/value pairs of the header's <c>__metadata__</c> object (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names, in the order they appear in the header.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Whether the file holds a tensor named <paramref name="name"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns><c>true</c> if the tensor exists.</returns>
    public bool Contains(string name) => name is not null && _entries.ContainsKey(name);

    /// <summary>Describes the tensor named <paramref name="name"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>Its dtype, shape (a fresh copy) and byte length.</returns>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public SafeTensorInfo GetInfo(string name)
    {
        var e = Find(name);
        return new SafeTensorInfo(e.DType, (int[])e.Shape.Clone(), e.ByteLength);
    }

    /// <summary>Reads a floating-point tensor as float32: F32 as is, F64, F16 and BF16 converted.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>A new tensor (not requiring gradients) whose <see cref="Tensor.Name"/> is <paramref name="name"/>.</returns>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    /// <exception cref="InvalidOperationException">The tensor has an integer or boolean dtype.</exception>
    public Tensor GetTensor(string name)
    {
        var e = Find(name);
        var src = Data(e);
        var n = (int)(e.ByteLength / SafeTensorDTypes.SizeOf(e.DType));
        var values = new float[n];
        switch (e.DType)
        {
            case SafeTensorDType.F32:
                src.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
                break;
            case SafeTensorDType.F64:
                var doubles = new double[n];
                src.CopyTo(MemoryMarshal.AsBytes(doubles.AsSpan()));
                for (var i = 0; i < n; i++) values[i] = (float)doubles[i];
                break;
            case SafeTensorDType.F16:
                var halves = new Half[n];
                src.CopyTo(MemoryMarshal.AsBytes(halves.AsSpan()));
                for (var i = 0; i < n; i++) values[i] = (float)halves[i];
                break;
            case SafeTensorDType.BF16:
                var bits = new ushort[n];
                src.CopyTo(MemoryMarshal.AsBytes(bits.AsSpan()));
                for (var i = 0; i < n; i++) values[i] = BitConverter.Int32BitsToSingle(bits[i] << 16);
                break;
            default:
                throw WrongKind(e, "a floating-point dtype (F32, F64, F16, BF16)", "GetInt32, GetInt64 or GetBytes");
        }
        return new Tensor(values, e.Shape) { Name = name };
    }

    /// <summary>Reads an integer tensor as 32-bit integers (from I32; from I64 with a range check; I16, I8 and U8 widened).</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>The values in row-major order; the shape is given by <see cref="GetInfo"/>.</returns>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    /// <exception cref="InvalidOperationException">The tensor has a floating-point or boolean dtype.</exception>
    /// <exception cref="OverflowException">An I64 value does not fit in a 32-bit integer.</exception>
    public int[] GetInt32(string name)
    {
        var e = Find(name);
        if (e.DType == SafeTensorDType.I32)
        {
            var result = new int[e.ByteLength / 4];
            Data(e).CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }
        if (!SafeTensorDTypes.IsInteger(e.DType))
            throw WrongKind(e, "an integer dtype", "GetTensor or GetBytes");
        var wide = ReadInt64(e);
        var narrow = new int[wide.Length];
        for (var i = 0; i < wide.Length; i++)
        {
            var v = wide[i];
            if (v is < int.MinValue or > int.MaxValue)
                throw new OverflowException($"Tensor '{e.Name}' in safetensors file '{Path}': {e.DType} value {v} at index {i} does not fit in a 32-bit integer; use GetInt64.");
            narrow[i] = (int)v;
        }
        return narrow;
    }

    /// <summary>Reads an integer tensor as 64-bit integers (from I64; I32, I16, I8 and U8 widened).</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>The values in row-major order; the shape is given by <see cref="GetInfo"/>.</returns>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    /// <exception cref="InvalidOperationException">The tensor has a floating-point or boolean dtype.</exception>
    public long[] GetInt64(string name)
    {
        var e = Find(name);
        if (!SafeTensorDTypes.IsInteger(e.DType))
            throw WrongKind(e, "an integer dtype", "GetTensor or GetBytes");
        return ReadInt64(e);
    }

    /// <summary>Copies the raw little-endian bytes of a tensor of any dtype.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>A new array of <see cref="SafeTensorInfo.ByteLength"/> bytes.</returns>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public byte[] GetBytes(string name) => Data(Find(name)).ToArray();

    private long[] ReadInt64(SafeTensorsEntry e)
    {
        var src = Data(e);
        var n = (int)(e.ByteLength / SafeTensorDTypes.SizeOf(e.DType));
        var result = new long[n];
        switch (e.DType)
        {
            case SafeTensorDType.I64:
                src.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
                break;
            case SafeTensorDType.I32:
                var ints = new int[n];
                src.CopyTo(MemoryMarshal.AsBytes(ints.AsSpan()));
                for (var i = 0; i < n; i++) result[i] = ints[i];
                break;
            case SafeTensorDType.I16:
                var shorts = new short[n];
                src.CopyTo(MemoryMarshal.AsBytes(shorts.AsSpan()));
                for (var i = 0; i < n; i++) result[i] = shorts[i];
                break;
            case SafeTensorDType.I8:
                for (var i = 0; i < n; i++) result[i] = (sbyte)src[i];
                break;
            case SafeTensorDType.U8:
                for (var i = 0; i < n; i++) result[i] = src[i];
                break;
            default:
                throw WrongKind(e, "an integer dtype", "GetTensor or GetBytes");
        }
        return result;
    }

    private ReadOnlySpan<byte> Data(SafeTensorsEntry e) =>
        _bytes.AsSpan(_dataStart + (int)e.Begin, (int)e.ByteLength);

    private SafeTensorsEntry Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_entries.TryGetValue(name, out var entry)) return entry;
        var shown = string.Join(", ", _names.Take(KeysShownInErrors).Select(n => $"'{n}'"));
        var more = _names.Length > KeysShownInErrors ? $", … ({_names.Length - KeysShownInErrors} more)" : "";
        var available = _names.Length == 0 ? "the file holds no tensors" : $"available keys: {shown}{more}";
        throw new KeyNotFoundException($"Tensor '{name}' not found in safetensors file '{Path}'; {available}.");
    }

    private InvalidOperationException WrongKind(SafeTensorsEntry e, string wanted, string alternatives) =>
        new($"Tensor '{e.Name}' in safetensors file '{Path}' has dtype {SafeTensorDTypes.ToName(e.DType)}, but this call needs {wanted}; use {alternatives}.");
}
