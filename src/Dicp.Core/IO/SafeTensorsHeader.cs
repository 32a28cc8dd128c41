using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace Dicp.IO;

/// <summary>One validated header entry: where a tensor's bytes lie in the data buffer.</summary>
internal sealed record SafeTensorsEntry(string Name, SafeTensorDType DType, int[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>Parses and validates the header of a safetensors byte image.</summary>
internal sealed class SafeTensorsHeader
{
    /// <summary>Headers longer than this are rejected as corrupt (the reference implementation uses the same bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    private readonly string _source;

    private SafeTensorsHeader(string source) => _source = source;

    public List<SafeTensorsEntry> Entries { get; } = [];

    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    /// <summary>Offset of the data buffer in the file (8 + header length).</summary>
    public int DataStart { get; private set; }

    public static SafeTensorsHeader Parse(byte[] bytes, string source)
    {
        var header = new SafeTensorsHeader(source);
        header.ParseCore(bytes, bytes.Length);
        return header;
    }

    /// <summary>Parses a header from the file's first bytes only (memory-mapped readers).</summary>
    /// <param name="prefix">At least the 8-byte length and the whole JSON header; may be shorter than the file.</param>
    /// <param name="fileLength">The length of the whole file in bytes.</param>
    /// <param name="source">A name for error messages.</param>
    public static SafeTensorsHeader Parse(byte[] prefix, long fileLength, string source)
    {
        var header = new SafeTensorsHeader(source);
        header.ParseCore(prefix, fileLength);
        return header;
    }

    /// <summary>Reads the 8-byte little-endian header length (the caller then reads that many more bytes).</summary>
    public static ulong ReadHeaderLength(ReadOnlySpan<byte> prefix) => BinaryPrimitives.ReadUInt64LittleEndian(prefix);

    private SafeTensorsFormatException Fail(string problem, Exception? inner = null) => new(_source, problem, inner);

    private void ParseCore(byte[] bytes, long fileLength)
    {
        if (fileLength < 8 || bytes.Length < 8)
            throw Fail($"the file is {fileLength} bytes long, shorter than the 8-byte header length prefix.");
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > MaxHeaderBytes)
            throw Fail($"header length {headerLength} is absurd (more than {MaxHeaderBytes} bytes); the file is corrupt or not a safetensors file.");
        if (headerLength > (ulong)(fileLength - 8))
            throw Fail($"header length {headerLength} is larger than the file, which has {fileLength - 8} bytes after the length prefix (truncated file?).");
        if (headerLength > (ulong)(bytes.Length - 8))
            throw new ArgumentException($"The header prefix of '{_source}' holds {bytes.Length} bytes, fewer than the {8 + (long)headerLength} the header needs.", nameof(bytes));
        DataStart = 8 + (int)headerLength;
        long dataLength = fileLength - DataStart;

        var headerBytes = new ReadOnlyMemory<byte>(bytes, 8, (int)headerLength);
        if (!Utf8.IsValid(headerBytes.Span))
            throw Fail("the header is not valid UTF-8.");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw Fail($"the header is not valid JSON ({e.Message})", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Fail($"the header is not a JSON object (found {root.ValueKind}).");

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                var name = NameOf(property, "header key");
                if (!seen.Add(name))
                    throw Fail($"duplicate key '{name}' in the header.");
                if (name == MetadataKey)
                    ParseMetadata(property.Value);
                else
                    Entries.Add(ParseEntry(name, property.Value, dataLength));
            }
        }

        CheckCoverage(dataLength);
    }

    private string NameOf(JsonProperty property, string what)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException e)
        {
            throw Fail($"a {what} is not a valid string ({e.Message})", e);
        }
    }

    private string StringOf(JsonElement element, string what)
    {
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw Fail($"{what} is not a valid string ({e.Message})", e);
        }
    }

    private void ParseMetadata(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail($"'{MetadataKey}' must be a JSON object mapping strings to strings (found {value.ValueKind}).");
        foreach (var item in value.EnumerateObject())
        {
            var key = NameOf(item, "metadata key");
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Fail($"metadata value for key '{key}' is not a string (found {item.Value.ValueKind}).");
            if (!Metadata.TryAdd(key, StringOf(item.Value, $"metadata value for key '{key}'")))
                throw Fail($"duplicate metadata key '{key}'.");
        }
    }

    private SafeTensorsEntry ParseEntry(string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail($"entry '{name}' is not a JSON object (found {value.ValueKind}).");

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in value.EnumerateObject())
        {
            var fieldName = NameOf(field, $"field name of entry '{name}'");
            if (!fields.Add(fieldName))
                throw Fail($"entry '{name}' has duplicate key '{fieldName}'.");
            switch (fieldName)
            {
                case "dtype": dtypeElement = field.Value; break;
                case "shape": shapeElement = field.Value; break;
                case "data_offsets": offsetsElement = field.Value; break;
                default: break; // Unknown fields are ignored, as the reference implementation does.
            }
        }

        if (dtypeElement is not { } dtypeValue) throw Fail($"entry '{name}' is missing 'dtype'.");
        if (shapeElement is not { } shapeValue) throw Fail($"entry '{name}' is missing 'shape'.");
        if (offsetsElement is not { } offsetsValue) throw Fail($"entry '{name}' is missing 'data_offsets'.");

        if (dtypeValue.ValueKind != JsonValueKind.String)
            throw Fail($"entry '{name}': 'dtype' must be a string (found {dtypeValue.ValueKind}).");
        var dtypeName = StringOf(dtypeValue, $"the dtype of entry '{name}'");
        if (!SafeTensorDTypes.TryParse(dtypeName, out var dtype))
            throw Fail($"entry '{name}' has unknown dtype '{dtypeName}'.");

        if (shapeValue.ValueKind != JsonValueKind.Array)
            throw Fail($"entry '{name}': 'shape' must be an array of integers (found {shapeValue.ValueKind}).");
        var shape = new int[shapeValue.GetArrayLength()];
        var index = 0;
        foreach (var dim in shapeValue.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var d))
                throw Fail($"entry '{name}': 'shape' must be an array of integers (element {index} is {dim.GetRawText()}).");
            if (d < 0) throw Fail($"entry '{name}' has negative dimension {d} in its shape.");
            if (d > int.MaxValue) throw Fail($"entry '{name}' has dimension {d}, larger than {int.MaxValue}.");
            shape[index++] = (int)d;
        }

        if (offsetsValue.ValueKind != JsonValueKind.Array || offsetsValue.GetArrayLength() != 2)
            throw Fail($"entry '{name}': 'data_offsets' must be an array of two integers [begin, end].");
        var begin = ReadOffset(name, offsetsValue[0]);
        var end = ReadOffset(name, offsetsValue[1]);
        if (end < begin)
            throw Fail($"entry '{name}' has data_offsets [{begin}, {end}] with end < begin.");

        var elements = ElementCount(name, shape);
        var size = SafeTensorDTypes.SizeOf(dtype);
        var expected = elements > long.MaxValue / size ? long.MaxValue : elements * size;
        if (end - begin != expected)
            throw Fail($"entry '{name}' has byte length {end - begin} (data_offsets [{begin}, {end}]) but shape {FormatShape(shape)} of dtype {dtypeName} needs {elements} × {size} = {expected} bytes.");
        if (end > dataLength)
            throw Fail($"entry '{name}' has data_offsets [{begin}, {end}] outside the data buffer, which is {dataLength} bytes long (truncated file?).");

        return new SafeTensorsEntry(name, dtype, shape, begin, end);
    }

    private long ReadOffset(string name, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var value))
            throw Fail($"entry '{name}': 'data_offsets' must be an array of two integers [begin, end] (found {element.GetRawText()}).");
        if (value < 0) throw Fail($"entry '{name}' has negative data offset {value}.");
        return value;
    }

    private long ElementCount(string name, int[] shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            n *= d;
            if (n > Array.MaxLength)
                throw Fail($"entry '{name}' has shape {FormatShape(shape)} with more than {Array.MaxLength} elements.");
        }
        return n;
    }

    /// <summary>The data buffer must be covered exactly: no overlaps, no gaps, nothing after the last tensor.</summary>
    private void CheckCoverage(long dataLength)
    {
        var sorted = Entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long covered = 0;
        string? previous = null;
        foreach (var e in sorted)
        {
            if (e.Begin < covered)
                throw Fail($"entries '{previous}' and '{e.Name}' overlap in the data buffer (byte {e.Begin} is before {covered}).");
            if (e.Begin > covered)
                throw Fail($"gap in the data buffer: bytes [{covered}, {e.Begin}) before entry '{e.Name}' belong to no tensor.");
            covered = e.End;
            previous = e.Name;
        }
        if (covered != dataLength)
            throw Fail($"the data buffer is {dataLength} bytes long but the tensors cover {covered} bytes; the format requires them to be equal.");
    }

    internal static string FormatShape(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
