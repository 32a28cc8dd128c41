using Dicp.Metrics;
using Xunit;

namespace Dicp.Core.Tests.Metrics;

/// <summary><see cref="TensorBoardWriter.Continue"/>: a resumed run keeps one event file in which every step appears once.</summary>
public sealed class TensorBoardResumeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dicp-tb-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static void Write(TensorBoardWriter w, int from, int to, float offset)
    {
        for (var s = from; s <= to; s += 10) w.AddScalar("loss", s + offset, s, wallTime: 1000 + s);
        w.Flush();
    }

    private (long Step, float Value)[] Scalars()
    {
        var file = Assert.Single(TensorBoardEventFile.List(_dir));
        var records = TensorBoardEventFile.Read(file);
        Assert.False(records[0].IsScalar); // the file_version header first
        Assert.Single(records, r => !r.IsScalar);
        return [.. records.Where(r => r.IsScalar).Select(r => (r.Step, Value(r.Bytes)))];
    }

    // The simple_value: the 4 bytes before the record's 4-byte CRC (Value's last field).
    private static float Value(byte[] record) => BitConverter.ToSingle(record, record.Length - 8);

    [Fact]
    public void AResumeDropsTheStepsAfterTheCheckpointAndAppendsToTheSameFile()
    {
        using (var w = new TensorBoardWriter(_dir)) Write(w, 10, 140, 0f);   // crashed at step 140, checkpoint at 100
        var path = Assert.Single(TensorBoardEventFile.List(_dir));
        using (var w = TensorBoardWriter.Continue(_dir, 100))
        {
            Assert.Equal(path, w.Path);
            Write(w, 110, 200, 0.5f);                                     // the redone steps
        }
        var s = Scalars();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i * 10), s.Select(x => x.Step));
        Assert.Equal(100f, s[9].Value);
        Assert.Equal(110.5f, s[10].Value);
    }

    [Fact]
    public void FilesOfAnEarlierVersionAreMergedIntoOneTimelineAndADamagedTailIsDropped()
    {
        // Earlier versions started a new file per resume: a run killed at 250 (checkpoint 200), resumed and killed at
        // 370 (checkpoint 300) left steps 210–250 and 310–370 twice. Here the last file is also cut mid-record.
        using (var w = new TensorBoardWriter(_dir, "a")) Write(w, 10, 250, 0f);
        string second, third;
        using (var w = new TensorBoardWriter(_dir, "b"))
        {
            second = w.Path;
            Write(w, 210, 370, 0.25f);
        }
        using (var w = new TensorBoardWriter(_dir, "c"))
        {
            third = w.Path;
            Write(w, 310, 330, 0.5f);
        }
        var bytes = File.ReadAllBytes(third);
        File.WriteAllBytes(third, bytes[..^7]); // a record cut off by a crash
        Assert.Equal(3, TensorBoardEventFile.List(_dir).Count);

        using (var w = TensorBoardWriter.Continue(_dir, 320)) Write(w, 330, 400, 0.75f);
        var s = Scalars();
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i * 10), s.Select(x => x.Step));
        Assert.Equal(200f, s[19].Value);      // first file up to the second's start
        Assert.Equal(300.25f, s[29].Value);   // second file up to the third's start
        Assert.Equal(320.5f, s[31].Value);    // third file's intact records up to the checkpoint
        Assert.Equal(330.75f, s[32].Value);   // the resumed run
        Assert.False(File.Exists(second));
        Assert.False(File.Exists(third));
    }

    [Fact]
    public void ARunStartingOverRemovesOldEventFiles()
    {
        using (var w = new TensorBoardWriter(_dir)) Write(w, 10, 50, 0f);
        using (var w = TensorBoardWriter.Continue(_dir, 0)) Write(w, 10, 20, 1f);
        Assert.Equal([(10L, 11f), (20L, 21f)], Scalars());
    }
}
