using System.Buffers.Binary;
using System.Text;
using Dicp.IO;
using Dicp.Tensors;
using Xunit;

namespace Dicp.Tests.IO;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dicp-safetensors-" + Guid.NewGuid().ToString("N"));

    public SafeTensorsTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Builds a safetensors image by hand: u64 LE header length, the header bytes, the data buffer.</summary>
    private static byte[] Image(byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static byte[] Image(string json, int dataLength) => Image(Encoding.UTF8.GetBytes(json), new byte[dataLength]);

    private static byte[] ToBytes(SafeTensorsWriter writer)
    {
        using var ms = new MemoryStream();
        writer.WriteTo(ms);
        return ms.ToArray();
    }

    private string TempFile(string name = "t.safetensors") => Path.Combine(_dir, name);

    private static SafeTensorsWriter SampleWriter()
    {
        var w = new SafeTensorsWriter();
        w.Add("layer.weight", Tensor.FromArray([1f, -2f, 3.5f, float.MaxValue, float.Epsilon, -0f], 2, 3));
        w.AddInt32("counts", [1, -2, int.MaxValue], [3]);
        w.AddInt64("ids", [long.MinValue, 0, long.MaxValue, 5], [2, 2]);
        w.Add("empty", Tensor.Zeros(0, 4));
        w.Add("scalar", Tensor.Scalar(0.25f));
        w.SetMetadata("format", "pt");
        w.SetMetadata("note", "quotes \" and \\ and ünïcødé ✓ <tag>");
        return w;
    }

    // ------------------------------------------------------------------ round trips

    [Fact]
    public void RoundTrip_F32_IsBitExact()
    {
        float[] values = [1f, -2f, 3.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, float.Epsilon, 1e-30f, 123456.789f, float.MinValue, 0.1f];
        var path = TempFile();
        var w = new SafeTensorsWriter();
        w.Add("x", Tensor.FromArray(values, 2, 3, 2));
        w.Save(path);

        var file = SafeTensorsFile.Read(path);
        var t = file.GetTensor("x");
        Assert.Equal([2, 3, 2], t.Shape.ToArray());
        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), t.ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal("x", t.Name);
        Assert.False(t.RequiresGrad);
        var info = file.GetInfo("x");
        Assert.Equal(SafeTensorDType.F32, info.DType);
        Assert.Equal([2, 3, 2], info.Shape);
        Assert.Equal(48, info.ByteLength);
        Assert.Equal(path, file.Path);
    }

    [Fact]
    public void RoundTrip_AllSampleEntries()
    {
        var path = TempFile();
        SampleWriter().Save(path);
        var file = SafeTensorsFile.Read(path);

        Assert.Equal(["layer.weight", "counts", "ids", "empty", "scalar"], file.Names);
        Assert.Equal([1f, -2f, 3.5f, float.MaxValue, float.Epsilon, -0f], file.GetTensor("layer.weight").ToArray());
        Assert.Equal([1, -2, int.MaxValue], file.GetInt32("counts"));
        Assert.Equal([1L, -2L, int.MaxValue], file.GetInt64("counts"));
        Assert.Equal([long.MinValue, 0, long.MaxValue, 5], file.GetInt64("ids"));
        Assert.Equal(SafeTensorDType.I64, file.GetInfo("ids").DType);
        Assert.Equal([2, 2], file.GetInfo("ids").Shape);
        Assert.Equal(32, file.GetInfo("ids").ByteLength);

        var empty = file.GetTensor("empty");
        Assert.Equal([0, 4], empty.Shape.ToArray());
        Assert.Equal(0, empty.Size);
        Assert.Equal(0, file.GetInfo("empty").ByteLength);

        var scalar = file.GetTensor("scalar");
        Assert.Equal(0, scalar.Rank);
        Assert.Equal(0.25f, scalar.Item());
        Assert.Empty(file.GetInfo("scalar").Shape);

        Assert.Equal(2, file.Metadata.Count);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("quotes \" and \\ and ünïcødé ✓ <tag>", file.Metadata["note"]);
        Assert.True(file.Contains("ids"));
        Assert.False(file.Contains("IDS"));
    }

    [Fact]
    public void RoundTrip_ScalarShapesForIntegers()
    {
        var w = new SafeTensorsWriter();
        w.AddInt32("i", [7], []);
        w.AddInt64("l", [-9], []);
        var file = SafeTensorsFile.Parse(ToBytes(w));
        Assert.Equal([7], file.GetInt32("i"));
        Assert.Empty(file.GetInfo("i").Shape);
        Assert.Equal([-9L], file.GetInt64("l"));
    }

    [Fact]
    public void RoundTrip_FileWithNoTensors()
    {
        var w = new SafeTensorsWriter();
        var bytes = ToBytes(w);
        Assert.Equal(16, bytes.Length); // "{}" padded to 8 bytes
        var file = SafeTensorsFile.Parse(bytes);
        Assert.Empty(file.Names);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void RoundTrip_OnlyEmptyTensors()
    {
        var w = new SafeTensorsWriter();
        w.Add("a", Tensor.Zeros(0));
        w.AddInt64("b", [], [3, 0]);
        var file = SafeTensorsFile.Parse(ToBytes(w));
        Assert.Equal([0], file.GetTensor("a").Shape.ToArray());
        Assert.Empty(file.GetInt64("b"));
        Assert.Equal([3, 0], file.GetInfo("b").Shape);
    }

    [Fact]
    public void Add_WritesOnlyTheFirstSizeValuesOfStorage()
    {
        var storage = new float[] { 1, 2, 3, 4, 99, 99 };
        var w = new SafeTensorsWriter();
        w.Add("t", new Tensor(storage, [2, 2]));
        var file = SafeTensorsFile.Parse(ToBytes(w));
        Assert.Equal(16, file.GetInfo("t").ByteLength);
        Assert.Equal([1f, 2f, 3f, 4f], file.GetTensor("t").ToArray());
    }

    [Fact]
    public void Add_SnapshotsValuesAtAddTime()
    {
        var t = Tensor.FromArray([1f, 2f], 2);
        var w = new SafeTensorsWriter();
        w.Add("t", t);
        t[0] = 100f;
        Assert.Equal([1f, 2f], SafeTensorsFile.Parse(ToBytes(w)).GetTensor("t").ToArray());
    }

    [Fact]
    public void ConvenienceSaveLoad_RoundTripsInOrderWithMetadata()
    {
        var path = Path.Combine(_dir, "nested", "dir", "model.safetensors");
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("z.last", Tensor.FromArray([1f, 2f, 3f], 3)),
            new("a.first", Tensor.FromArray([4f, 5f, 6f, 7f], 2, 2)),
        };
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["step"] = "42" });

        var loaded = SafeTensors.Load(path);
        Assert.Equal(["z.last", "a.first"], loaded.Keys);
        Assert.Equal([4f, 5f, 6f, 7f], loaded["a.first"].ToArray());
        Assert.Equal([2, 2], loaded["a.first"].Shape.ToArray());
        Assert.Equal("42", SafeTensorsFile.Read(path).Metadata["step"]);
        Assert.Equal(["model.safetensors"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void ConvenienceLoad_ThrowsForIntegerEntries()
    {
        var path = TempFile();
        SampleWriter().Save(path);
        var ex = Assert.Throws<InvalidOperationException>(() => SafeTensors.Load(path));
        Assert.Contains("'counts'", ex.Message);
        Assert.Contains("I32", ex.Message);
    }

    [Fact]
    public void Save_OverwritesExistingFileAndLeavesNoTempFiles()
    {
        var path = TempFile();
        File.WriteAllText(path, "garbage");
        SampleWriter().Save(path);
        Assert.Equal(5, SafeTensorsFile.Read(path).Names.Count);
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    // ------------------------------------------------------------------ dtype conversions and kinds

    [Fact]
    public void GetTensor_ConvertsF64F16BF16()
    {
        double[] doubles = [1.5, -2.25, 1e-3];
        var f64 = new byte[24];
        for (var i = 0; i < 3; i++) BinaryPrimitives.WriteDoubleLittleEndian(f64.AsSpan(8 * i), doubles[i]);
        Half[] halves = [(Half)0.5f, (Half)(-3f), Half.MaxValue];
        var f16 = new byte[6];
        for (var i = 0; i < 3; i++) BinaryPrimitives.WriteHalfLittleEndian(f16.AsSpan(2 * i), halves[i]);
        // bfloat16 is the upper 16 bits of a float32: 1.0 = 0x3F80, -2.0 = 0xC000, 3.140625 = 0x4049.
        byte[] bf16 = [0x80, 0x3F, 0x00, 0xC0, 0x49, 0x40];

        var w = new SafeTensorsWriter();
        w.AddBytes("f64", SafeTensorDType.F64, f64, [3]);
        w.AddBytes("f16", SafeTensorDType.F16, f16, [1, 3]);
        w.AddBytes("bf16", SafeTensorDType.BF16, bf16, [3, 1]);
        var file = SafeTensorsFile.Parse(ToBytes(w));

        Assert.Equal([1.5f, -2.25f, 1e-3f], file.GetTensor("f64").ToArray());
        Assert.Equal([0.5f, -3f, 65504f], file.GetTensor("f16").ToArray());
        Assert.Equal([1, 3], file.GetTensor("f16").Shape.ToArray());
        Assert.Equal([1f, -2f, 3.140625f], file.GetTensor("bf16").ToArray());
        Assert.Equal(bf16, file.GetBytes("bf16"));
        Assert.Equal(SafeTensorDType.BF16, file.GetInfo("bf16").DType);
    }

    [Fact]
    public void GetInt_WidensSmallIntegerTypes()
    {
        var w = new SafeTensorsWriter();
        w.AddBytes("i8", SafeTensorDType.I8, [0xFF, 0x7F], [2]);
        w.AddBytes("u8", SafeTensorDType.U8, [0xFF, 0x01], [2]);
        w.AddBytes("i16", SafeTensorDType.I16, [0x00, 0x80, 0x01, 0x00], [2]);
        var file = SafeTensorsFile.Parse(ToBytes(w));
        Assert.Equal([-1, 127], file.GetInt32("i8"));
        Assert.Equal([255L, 1L], file.GetInt64("u8"));
        Assert.Equal([-32768, 1], file.GetInt32("i16"));
    }

    [Fact]
    public void GetInt32_FromI64_ChecksRange()
    {
        var w = new SafeTensorsWriter();
        w.AddInt64("ok", [int.MinValue, int.MaxValue, 3], [3]);
        w.AddInt64("big", [1, (long)int.MaxValue + 1], [2]);
        var file = SafeTensorsFile.Parse(ToBytes(w));
        Assert.Equal([int.MinValue, int.MaxValue, 3], file.GetInt32("ok"));
        var ex = Assert.Throws<OverflowException>(() => file.GetInt32("big"));
        Assert.Contains("'big'", ex.Message);
        Assert.Contains("2147483648", ex.Message);
    }

    [Fact]
    public void WrongKind_ThrowsInvalidOperationNamingKeyAndDType()
    {
        var path = TempFile();
        SampleWriter().Save(path);
        var file = SafeTensorsFile.Read(path);

        var e1 = Assert.Throws<InvalidOperationException>(() => file.GetTensor("ids"));
        Assert.Contains("'ids'", e1.Message);
        Assert.Contains("I64", e1.Message);
        var e2 = Assert.Throws<InvalidOperationException>(() => file.GetInt32("layer.weight"));
        Assert.Contains("'layer.weight'", e2.Message);
        Assert.Contains("F32", e2.Message);
        var e3 = Assert.Throws<InvalidOperationException>(() => file.GetInt64("scalar"));
        Assert.Contains("F32", e3.Message);

        var w = new SafeTensorsWriter();
        w.AddBytes("mask", SafeTensorDType.BOOL, [1, 0], [2]);
        var boolFile = SafeTensorsFile.Parse(ToBytes(w));
        Assert.Contains("BOOL", Assert.Throws<InvalidOperationException>(() => boolFile.GetTensor("mask")).Message);
        Assert.Contains("BOOL", Assert.Throws<InvalidOperationException>(() => boolFile.GetInt64("mask")).Message);
        Assert.Equal(new byte[] { 1, 0 }, boolFile.GetBytes("mask"));
    }

    [Fact]
    public void MissingKey_ThrowsKeyNotFoundNamingFileKeyAndAvailableKeys()
    {
        var path = TempFile("model.safetensors");
        SampleWriter().Save(path);
        var file = SafeTensorsFile.Read(path);
        foreach (var call in new Action[] { () => file.GetTensor("nope"), () => file.GetInfo("nope"), () => file.GetInt32("nope"), () => file.GetInt64("nope"), () => file.GetBytes("nope") })
        {
            var ex = Assert.Throws<KeyNotFoundException>(call);
            Assert.Contains("'nope'", ex.Message);
            Assert.Contains(path, ex.Message);
            Assert.Contains("'layer.weight'", ex.Message);
            Assert.Contains("'counts'", ex.Message);
        }
    }

    [Fact]
    public void MissingKey_ListsOnlyAFewKeys()
    {
        var w = new SafeTensorsWriter();
        for (var i = 0; i < 30; i++) w.Add($"k{i:D2}", Tensor.Scalar(i));
        var file = SafeTensorsFile.Parse(ToBytes(w), "many.safetensors");
        var ex = Assert.Throws<KeyNotFoundException>(() => file.GetTensor("missing"));
        Assert.Contains("'k00'", ex.Message);
        Assert.DoesNotContain("'k29'", ex.Message);
        Assert.Contains("more", ex.Message);
    }

    // ------------------------------------------------------------------ exact format

    [Fact]
    public void HandBuiltImage_ParsesCorrectly()
    {
        // Header order differs from data order; extra whitespace and unknown fields are allowed.
        const string json = """
            { "__metadata__": {"format": "pt", "scale.s": "0.5"},
              "b": {"dtype": "I64", "shape": [2], "data_offsets": [8, 24]},
              "a": {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8], "extra": true} }
            """;
        var data = new byte[24];
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(0), 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -2f);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), 7);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(16), -1);
        var file = SafeTensorsFile.Parse(Image(Encoding.UTF8.GetBytes(json), data), "hand");

        Assert.Equal(["b", "a"], file.Names);
        Assert.Equal("0.5", file.Metadata["scale.s"]);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal([1.5f, -2f], file.GetTensor("a").ToArray());
        Assert.Equal([1, 2], file.GetTensor("a").Shape.ToArray());
        Assert.Equal([7L, -1L], file.GetInt64("b"));
        Assert.Equal([7, -1], file.GetInt32("b"));
    }

    [Fact]
    public void Writer_ProducesExactlyTheDocumentedBytes()
    {
        var w = new SafeTensorsWriter();
        w.Add("w", Tensor.FromArray([1f, 2f], 2));
        w.AddInt64("i", [3], []);
        w.SetMetadata("k", "v");
        var bytes = ToBytes(w);

        var json = """{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"i":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}""";
        var padded = json.PadRight((json.Length + 7) / 8 * 8, ' ');
        var data = new byte[16];
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(0), 1f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), 2f);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), 3);
        Assert.Equal(Image(Encoding.UTF8.GetBytes(padded), data), bytes);
    }

    [Fact]
    public void Writer_PadsHeaderToMultipleOfEightWithSpaces()
    {
        for (var nameLength = 1; nameLength <= 9; nameLength++)
        {
            var w = new SafeTensorsWriter();
            w.Add(new string('n', nameLength), Tensor.Scalar(1f));
            var bytes = ToBytes(w);
            var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0, n % 8);
            Assert.Equal((byte)'{', bytes[8]);
            var header = Encoding.UTF8.GetString(bytes, 8, n);
            Assert.EndsWith("}", header.TrimEnd(' '));
            Assert.Equal(bytes.Length, 8 + n + 4);
        }
    }

    [Fact]
    public void Writer_IsByteDeterministic()
    {
        var a = ToBytes(SampleWriter());
        var b = ToBytes(SampleWriter());
        Assert.Equal(a, b);

        // Metadata order does not matter; saving to a file gives the same bytes as WriteTo.
        var w1 = new SafeTensorsWriter();
        w1.SetMetadata("x", "1");
        w1.SetMetadata("a", "2");
        var w2 = new SafeTensorsWriter();
        w2.SetMetadata("a", "2");
        w2.SetMetadata("x", "1");
        Assert.Equal(ToBytes(w1), ToBytes(w2));

        var path = TempFile();
        SampleWriter().Save(path);
        Assert.Equal(a, File.ReadAllBytes(path));
    }

    // ------------------------------------------------------------------ writer argument checks

    [Fact]
    public void Writer_RejectsBadArguments()
    {
        var w = new SafeTensorsWriter();
        w.Add("t", Tensor.Zeros(2));
        Assert.Contains("'t'", Assert.Throws<ArgumentException>(() => w.Add("t", Tensor.Zeros(1))).Message);
        Assert.Contains("'t'", Assert.Throws<ArgumentException>(() => w.AddInt32("t", [1], [1])).Message);

        var mismatch = Assert.Throws<ArgumentException>(() => w.AddInt32("counts", [1, 2, 3], [2, 2]));
        Assert.Contains("'counts'", mismatch.Message);
        Assert.Contains("[2, 2]", mismatch.Message);
        Assert.Contains("'ids'", Assert.Throws<ArgumentException>(() => w.AddInt64("ids", [1, 2], [3])).Message);
        Assert.Contains("'raw'", Assert.Throws<ArgumentException>(() => w.AddBytes("raw", SafeTensorDType.F32, new byte[7], [2])).Message);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => w.AddInt32("neg", [], [-1, 0])).Message);
        Assert.Throws<ArgumentException>(() => w.Add("__metadata__", Tensor.Zeros(1)));
        Assert.Throws<ArgumentException>(() => w.Add("", Tensor.Zeros(1)));
        Assert.Throws<ArgumentNullException>(() => w.Add(null!, Tensor.Zeros(1)));
        Assert.Throws<ArgumentNullException>(() => w.Add("n", null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.AddBytes("bad", (SafeTensorDType)99, [], [0]));
        Assert.Equal(1, w.Count);
    }

    // ------------------------------------------------------------------ corruption

    public static TheoryData<string, byte[], string> CorruptImages()
    {
        var data = new TheoryData<string, byte[], string>
        {
            { "empty file", [], "shorter than the 8-byte" },
            { "7 bytes", [1, 2, 3, 4, 5, 6, 7], "shorter than the 8-byte" },
            { "header longer than file", WithLength(Image("{}", 0), 1000), "larger than the file" },
            { "absurd header length", WithLength(Image("{}", 0), 1UL << 40), "absurd" },
            { "absurd header length (max)", WithLength(Image("{}", 0), ulong.MaxValue), "absurd" },
            { "invalid UTF-8", Image([(byte)'{', 0xFF, 0xFE, (byte)'}'], []), "not valid UTF-8" },
            { "not JSON", Image("{not json", 0), "not valid JSON" },
            { "empty header", Image("", 0), "not valid JSON" },
            { "trailing comma", Image("""{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},}""", 4), "not valid JSON" },
            { "array header", Image("[1, 2]", 0), "not a JSON object" },
            { "string header", Image("\"x\"", 0), "not a JSON object" },
            { "entry not an object", Image("""{"a": 3}""", 0), "entry 'a' is not a JSON object" },
            { "missing dtype", Image("""{"a":{"shape":[1],"data_offsets":[0,4]}}""", 4), "missing 'dtype'" },
            { "missing shape", Image("""{"a":{"dtype":"F32","data_offsets":[0,4]}}""", 4), "missing 'shape'" },
            { "missing data_offsets", Image("""{"a":{"dtype":"F32","shape":[1]}}""", 4), "missing 'data_offsets'" },
            { "dtype not a string", Image("""{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}""", 4), "'dtype' must be a string" },
            { "shape not an array", Image("""{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}""", 4), "'shape' must be an array" },
            { "shape of floats", Image("""{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", 4), "'shape' must be an array" },
            { "shape of strings", Image("""{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}""", 4), "'shape' must be an array" },
            { "offsets wrong length", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", 4), "'data_offsets' must be an array of two" },
            { "offsets not integers", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}""", 4), "'data_offsets' must be an array of two" },
            { "offsets not an array", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":{"begin":0}}}""", 4), "'data_offsets' must be an array of two" },
            { "unknown dtype", Image("""{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}""", 1), "unknown dtype 'F8_E4M3'" },
            { "lowercase dtype", Image("""{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}""", 4), "unknown dtype 'f32'" },
            { "negative dimension", Image("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4), "negative dimension" },
            { "huge dimension", Image("""{"a":{"dtype":"U8","shape":[3000000000],"data_offsets":[0,4]}}""", 4), "larger than 2147483647" },
            { "too many elements", Image("""{"a":{"dtype":"U8","shape":[2000000000,2000000000],"data_offsets":[0,4]}}""", 4), "elements" },
            { "negative offset", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 4), "negative data offset" },
            { "end before begin", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", 4), "end < begin" },
            { "byte length mismatch", Image("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4), "byte length 4" },
            { "byte length mismatch (dtype size)", Image("""{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}""", 4), "byte length 4" },
            { "offsets outside buffer", Image("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4), "outside the data buffer" },
            { "overlap", Image("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12), "overlap" },
            { "same range twice", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}""", 4), "overlap" },
            { "gap", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12), "gap in the data buffer" },
            { "gap at start", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "gap in the data buffer" },
            { "trailing data", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 8), "the data buffer is 8 bytes long but the tensors cover 4" },
            { "data without tensors", Image("{}", 3), "the data buffer is 3 bytes long but the tensors cover 0" },
            { "duplicate key", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "duplicate key 'a'" },
            { "duplicate metadata", Image("""{"__metadata__":{},"__metadata__":{}}""", 0), "duplicate key '__metadata__'" },
            { "duplicate field", Image("""{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4), "duplicate key 'dtype'" },
            { "duplicate metadata key", Image("""{"__metadata__":{"k":"1","k":"2"}}""", 0), "duplicate metadata key 'k'" },
            { "metadata value not a string", Image("""{"__metadata__":{"k":1}}""", 0), "metadata value for key 'k' is not a string" },
            { "metadata value null", Image("""{"__metadata__":{"k":null}}""", 0), "metadata value for key 'k' is not a string" },
            { "metadata not an object", Image("""{"__metadata__":["k"]}""", 0), "'__metadata__' must be a JSON object" },
            { "invalid escaped key", Image("""{"\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4), "not a valid string" },
        };
        return data;
    }

    private static byte[] WithLength(byte[] image, ulong headerLength)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(image, headerLength);
        return image;
    }

    [Theory]
    [MemberData(nameof(CorruptImages))]
    public void CorruptFile_ThrowsFormatExceptionNamingFileAndProblem(string description, byte[] image, string expected)
    {
        var path = TempFile("corrupt.safetensors");
        File.WriteAllBytes(path, image);
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Read(path));
        Assert.True(ex.Message.Contains(expected, StringComparison.Ordinal), $"{description}: '{ex.Message}' does not contain '{expected}'.");
        Assert.Contains(path, ex.Message);
        Assert.Equal(path, ex.FilePath);
        Assert.IsAssignableFrom<IOException>(ex);
    }

    [Fact]
    public void TruncatedFile_AlwaysThrowsFormatException()
    {
        var full = ToBytes(SampleWriter());
        for (var length = 0; length < full.Length; length++)
        {
            var cut = full.AsSpan(0, length).ToArray();
            var ex = Record.Exception(() => SafeTensorsFile.Parse(cut, "cut"));
            Assert.True(ex is SafeTensorsFormatException, $"cut at {length}/{full.Length}: got {ex?.GetType().Name ?? "no exception"}");
        }

        // Also through the file system, at a few lengths.
        var path = TempFile("cut.safetensors");
        foreach (var length in new[] { 0, 4, 8, 9, 20, full.Length / 2, full.Length - 1 })
        {
            File.WriteAllBytes(path, full.AsSpan(0, length).ToArray());
            Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Read(path));
        }
    }

    [Fact]
    public void RandomHeaderCorruption_ThrowsOnlyFormatExceptions()
    {
        var original = ToBytes(SampleWriter());
        var headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        var rng = new Random(12345);
        for (var trial = 0; trial < 3000; trial++)
        {
            var bytes = (byte[])original.Clone();
            var flips = 1 + rng.Next(3);
            for (var f = 0; f < flips; f++)
            {
                var pos = rng.Next(headerEnd);
                bytes[pos] = rng.Next(4) == 0 ? (byte)rng.Next(256) : (byte)"{}[],:\"0123456789-. eE"[rng.Next(22)];
            }
            var ex = Record.Exception(() => SafeTensorsFile.Parse(bytes, "fuzz"));
            Assert.True(ex is null or SafeTensorsFormatException, $"trial {trial}: {ex}");
        }

        for (var trial = 0; trial < 500; trial++)
        {
            var garbage = new byte[rng.Next(64)];
            rng.NextBytes(garbage);
            if (garbage.Length >= 8 && rng.Next(2) == 0)
                BinaryPrimitives.WriteUInt64LittleEndian(garbage, (ulong)rng.Next(garbage.Length));
            var ex = Record.Exception(() => SafeTensorsFile.Parse(garbage, "garbage"));
            Assert.True(ex is SafeTensorsFormatException, $"garbage trial {trial}: {ex}");
        }
    }

    // ------------------------------------------------------------------ PyTorch fixture

    private static string? FindFixture(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Dicp.Core.Tests", "Fixtures", name);
            if (File.Exists(candidate)) return candidate;
            candidate = Path.Combine(dir.FullName, "Fixtures", name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    [Fact]
    public void PyTorchFixture_OpsSafetensors_Reads()
    {
        var path = FindFixture("ops.safetensors");
        Assert.True(path is not null, "tests/Dicp.Core.Tests/Fixtures/ops.safetensors was not found (it is generated with PyTorch and committed).");
        var file = SafeTensorsFile.Read(path!);

        Assert.Equal([2, 3, 5], file.GetTensor("linear.x").Shape.ToArray());
        Assert.Equal(SafeTensorDType.I64, file.GetInfo("index_select.idx").DType);
        Assert.Equal([4L, 0L, 2L, 2L], file.GetInt64("index_select.idx"));
        Assert.Equal([4, 0, 2, 2], file.GetInt32("index_select.idx"));

        foreach (var name in file.Names)
        {
            var info = file.GetInfo(name);
            if (info.DType is SafeTensorDType.I64 or SafeTensorDType.I32)
                Assert.Equal(info.Shape.Aggregate(1L, (a, d) => a * d), file.GetInt64(name).LongLength);
            else if (info.DType is SafeTensorDType.F32 or SafeTensorDType.F64 or SafeTensorDType.F16 or SafeTensorDType.BF16)
                Assert.Equal(info.Shape, file.GetTensor(name).Shape.ToArray());
        }
    }

    [Fact]
    public void PyTorchFixtures_AllParseAndDecode()
    {
        var ops = FindFixture("ops.safetensors");
        Assert.True(ops is not null, "tests/Dicp.Core.Tests/Fixtures/ops.safetensors was not found.");
        foreach (var path in Directory.GetFiles(Path.GetDirectoryName(ops!)!, "*.safetensors"))
        {
            var file = SafeTensorsFile.Read(path);
            Assert.NotEmpty(file.Names);
            foreach (var name in file.Names)
            {
                var info = file.GetInfo(name);
                Assert.Equal(info.ByteLength, file.GetBytes(name).LongLength);
                if (info.DType is SafeTensorDType.F32 or SafeTensorDType.F64 or SafeTensorDType.F16 or SafeTensorDType.BF16)
                    Assert.Equal(info.Shape, file.GetTensor(name).Shape.ToArray());
            }
        }
    }
}
