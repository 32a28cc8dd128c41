using System.Buffers.Binary;
using System.Text;
using Dicp.Metrics;
using Xunit;

namespace Dicp.Core.Tests.Metrics;

public sealed class MetricsTests
{
    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void TensorBoardFileIsAValidTfRecordStreamOfScalarEvents()
    {
        var dir = Path.Combine(Path.GetTempPath(), "dicp-tb-" + Guid.NewGuid().ToString("N"));
        try
        {
            string path;
            using (var w = new TensorBoardWriter(dir))
            {
                w.AddScalar("train/loss", 1.5f, 10, wallTime: 100.25);
                w.AddScalar("eval/return", -2.75f, 300, wallTime: 101.5);
                path = w.Path;
            }
            Assert.StartsWith("events.out.tfevents.", Path.GetFileName(path));
            var records = ReadRecords(File.ReadAllBytes(path));
            Assert.Equal(3, records.Count);

            var first = Decode(records[0]);
            Assert.Equal("brain.Event:2", Encoding.UTF8.GetString((byte[])first[3]));

            var e = Decode(records[1]);
            Assert.Equal(100.25, (double)e[1]);
            Assert.Equal(10UL, (ulong)e[2]);
            var value = Decode((byte[])Decode((byte[])e[5])[1]);
            Assert.Equal("train/loss", Encoding.UTF8.GetString((byte[])value[1]));
            Assert.Equal(1.5f, (float)value[2]);

            var e2 = Decode(records[2]);
            Assert.Equal(300UL, (ulong)e2[2]);
            Assert.Equal(-2.75f, (float)Decode((byte[])Decode((byte[])e2[5])[1])[2]);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TensorBoardRejectsEmptyTags()
    {
        var dir = Path.Combine(Path.GetTempPath(), "dicp-tb-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var w = new TensorBoardWriter(dir);
            Assert.Throws<ArgumentException>(() => w.AddScalar("", 1f, 0));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    internal static List<byte[]> ReadRecords(byte[] file)
    {
        var list = new List<byte[]>();
        var o = 0;
        while (o < file.Length)
        {
            var len = (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(o));
            Assert.Equal(Masked(file.AsSpan(o, 8)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(o + 8)));
            var data = file.AsSpan(o + 12, len).ToArray();
            Assert.Equal(Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(o + 12 + len)));
            list.Add(data);
            o += 12 + len + 4;
        }
        return list;
    }

    private static uint Masked(ReadOnlySpan<byte> d)
    {
        var c = Crc32C.Compute(d);
        return unchecked(((c >> 15) | (c << 17)) + 0xA282EAD8u);
    }

    /// <summary>A minimal protobuf decoder: field number → value (varint: ulong, fixed64: double, fixed32: float, bytes).</summary>
    internal static Dictionary<int, object> Decode(byte[] m)
    {
        var d = new Dictionary<int, object>();
        var o = 0;
        while (o < m.Length)
        {
            var key = Varint(m, ref o);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: d[field] = Varint(m, ref o); break;
                case 1: d[field] = BinaryPrimitives.ReadDoubleLittleEndian(m.AsSpan(o)); o += 8; break;
                case 5: d[field] = BinaryPrimitives.ReadSingleLittleEndian(m.AsSpan(o)); o += 4; break;
                case 2:
                    var n = (int)Varint(m, ref o);
                    d[field] = m.AsSpan(o, n).ToArray();
                    o += n;
                    break;
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
        return d;
    }

    private static ulong Varint(byte[] m, ref int o)
    {
        ulong v = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = m[o++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
    }
}
