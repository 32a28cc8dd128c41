using Dicp.Core.Tests.TestUtil;
using Dicp.Data;
using Dicp.IO;
using Xunit;

namespace Dicp.Core.Tests.Data;

public sealed class SamplerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dicp-sampler-" + Guid.NewGuid().ToString("N"));

    public SamplerTests() => SyntheticHistories.WriteIndexed(_dir, [3, 7, 11], streams: 4, steps: 50, train: [7, 3], test: [11]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void MappedReaderMatchesTheFullReader()
    {
        var path = Path.Combine(_dir, HistoryFormat.TaskFileName(7));
        var full = TaskHistory.Read(path);
        using var mapped = MappedTaskHistory.Open(path);
        Assert.True(full.Info.Matches(mapped.Info));
        Assert.Equal((2, 1, true), (mapped.ObservationSize, mapped.ActionSize, mapped.HasOptimalActions));
        float[] s = new float[2 * 50], a = new float[50], r = new float[50], ns = new float[2 * 50];
        var d = new bool[50];
        var o = new int[50];
        for (var stream = 0; stream < 4; stream++)
        {
            mapped.CopyWindow(stream, 0, 50, s, a, r, ns, d, o);
            var k = stream * 50;
            Assert.Equal(full.States.AsSpan(2 * k, 100).ToArray(), s);
            Assert.Equal(full.Actions.AsSpan(k, 50).ToArray(), a);
            Assert.Equal(full.Rewards.AsSpan(k, 50).ToArray(), r);
            Assert.Equal(full.NextStates.AsSpan(2 * k, 100).ToArray(), ns);
            Assert.Equal(full.Dones.AsSpan(k, 50).ToArray().Select(x => x == 1).ToArray(), d);
            Assert.Equal(full.OptimalActions!.AsSpan(k, 50).ToArray(), o);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => mapped.CopyWindow(0, 45, 6, new float[12], new float[6], new float[6], new float[12], new bool[6], []));
        Assert.Throws<ArgumentOutOfRangeException>(() => mapped.CopyWindow(4, 0, 1, new float[2], new float[1], new float[1], new float[2], new bool[1], []));
    }

    [Fact]
    public void DatasetSelectsTheSplitAndLimits()
    {
        using var train = HistoryDataset.Open(_dir, HistorySplit.Train, streams: 3, stepsPerStream: 40);
        Assert.Equal([7, 3], train.Tasks.Select(t => t.Info.TaskIndex));
        Assert.Equal((3, 40), (train.Streams, train.StepsPerStream));
        using var test = HistoryDataset.Open(_dir, HistorySplit.Test);
        Assert.Equal([11], test.Tasks.Select(t => t.Info.TaskIndex));
        using var one = HistoryDataset.Open(_dir, HistorySplit.Train, maxTasks: 1);
        Assert.Equal([7], one.Tasks.Select(t => t.Info.TaskIndex));
        var e = Assert.Throws<ArgumentException>(() => HistoryDataset.Open(_dir, HistorySplit.Train, streams: 5));
        Assert.Contains("5 streams", e.Message);
        Assert.Throws<ArgumentException>(() => HistoryDataset.Open(_dir, [4]));
    }

    [Fact]
    public void WindowsAreConsecutiveStepsOfOneStreamWithinTheLimits()
    {
        using var data = HistoryDataset.Open(_dir, HistorySplit.Train, streams: 3, stepsPerStream: 40);
        var sampler = new WindowSampler(data, steps: 25, batchSize: 64, seed: 5);
        Assert.Equal(2L * 3 * 16, sampler.WindowCount);
        var starts = new HashSet<int>();
        var tasks = new HashSet<int>();
        for (var round = 0; round < 5; round++)
        {
            var b = sampler.Next();
            Assert.Same(sampler.Batch, b);
            for (var i = 0; i < b.BatchSize; i++)
            {
                var task = (int)b.States[i * 50];
                var code = (int)b.States[i * 50 + 1];
                int stream = code / 10000, start = code % 10000;
                Assert.Contains(task, new[] { 3, 7 });
                Assert.InRange(stream, 0, 2);
                Assert.InRange(start, 0, 40 - 25);
                tasks.Add(task);
                starts.Add(start);
                for (var j = 0; j < 25; j++)
                {
                    var t = start + j;
                    var k = i * 25 + j;
                    Assert.Equal(task, b.States[2 * k]);
                    Assert.Equal(stream * 10000 + t, b.States[2 * k + 1]);
                    Assert.Equal(stream * 10000 + t + 0.5f, b.NextStates[2 * k + 1]);
                    Assert.Equal(t % 5, b.Actions[k]);
                    Assert.Equal(t, b.Rewards[k]);
                    Assert.Equal(t % 20 == 19, b.Dones[k]);
                    Assert.Equal((task + stream + t) % 5, b.OptimalActions![k]);
                }
            }
        }
        Assert.Equal(2, tasks.Count);
        Assert.Contains(0, starts);
        Assert.Contains(15, starts);
    }

    [Fact]
    public void SamplerIsSeededAndItsStateRestoresExactly()
    {
        using var data = HistoryDataset.Open(_dir, HistorySplit.All);
        var a = new WindowSampler(data, 10, 8, seed: 1);
        var b = new WindowSampler(data, 10, 8, seed: 1);
        var c = new WindowSampler(data, 10, 8, seed: 2);
        a.Next();
        var state = a.GetState();
        var expected = a.Next().States.ToArray();
        b.SetState(state);
        Assert.Equal(expected, b.Next().States);
        Assert.NotEqual(expected, c.Next().States);
    }

    [Fact]
    public void FixedWindowSetRepeatsTheSameWindows()
    {
        using var data = HistoryDataset.Open(_dir, HistorySplit.Test);
        var set = new FixedWindowSet(data, 10, windows: 20, batchSize: 8, seed: 3);
        var first = set.Batches().Select(b => (b.BatchSize, b.States.ToArray())).ToList();
        var second = set.Batches().Select(b => (b.BatchSize, b.States.ToArray())).ToList();
        Assert.Equal([8, 8, 4], first.Select(x => x.BatchSize));
        Assert.Equal(first.Select(x => x.Item2), second.Select(x => x.Item2));
        Assert.Equal(set.Positions, new FixedWindowSet(data, 10, 20, 8, seed: 3).Positions);
        Assert.NotEqual(set.Positions, new FixedWindowSet(data, 10, 20, 8, seed: 4).Positions);
    }

    [Fact]
    public void CorruptFilesAreRejectedOnOpenNamingFileAndField()
    {
        var path = Path.Combine(_dir, HistoryFormat.TaskFileName(3));
        var bytes = File.ReadAllBytes(path);

        File.WriteAllBytes(path, bytes[..(bytes.Length - 4)]);
        var e = Assert.Throws<HistoryFormatException>(() => MappedTaskHistory.Open(path));
        Assert.Contains(path, e.Message);

        File.WriteAllBytes(path, bytes[..5]);
        Assert.Throws<HistoryFormatException>(() => MappedTaskHistory.Open(path));

        // A wrong shape: rewrite with rewards [4, 49].
        var f = SafeTensorsFile.Parse(bytes, path);
        var w = new SafeTensorsWriter();
        foreach (var name in f.Names)
        {
            if (name == HistoryFormat.Rewards) w.Add(name, new Tensors.Tensor(new float[4 * 49], [4, 49]));
            else w.AddBytes(name, f.GetInfo(name).DType, f.GetBytes(name), f.GetInfo(name).Shape);
        }
        foreach (var (k, v) in f.Metadata) w.SetMetadata(k, v);
        w.Save(path);
        e = Assert.Throws<HistoryFormatException>(() => MappedTaskHistory.Open(path));
        Assert.Equal(HistoryFormat.Rewards, e.Field);
        Assert.Contains("[4, 49]", e.Message);

        // A done flag of 2.
        var dones = f.GetBytes(HistoryFormat.Dones);
        dones[17] = 2;
        w = new SafeTensorsWriter();
        foreach (var name in f.Names)
            w.AddBytes(name, f.GetInfo(name).DType, name == HistoryFormat.Dones ? dones : f.GetBytes(name), f.GetInfo(name).Shape);
        foreach (var (k, v) in f.Metadata) w.SetMetadata(k, v);
        w.Save(path);
        e = Assert.Throws<HistoryFormatException>(() => MappedTaskHistory.Open(path));
        Assert.Equal(HistoryFormat.Dones, e.Field);
        Assert.Contains("flat index 17", e.Message);
        e = Assert.Throws<HistoryFormatException>(() => TaskHistory.Read(path));
        Assert.Equal(HistoryFormat.Dones, e.Field);
    }

    [Fact]
    public void ManyOpenHistoriesHoldNoFileDescriptors()
    {
        if (!Directory.Exists("/proc/self/fd")) return; // Linux only
        var path = Path.Combine(_dir, HistoryFormat.TaskFileName(7));
        var before = Directory.GetFiles("/proc/self/fd").Length;
        var open = Enumerable.Range(0, 200).Select(_ => MappedTaskHistory.Open(path)).ToList();
        var during = Directory.GetFiles("/proc/self/fd").Length;
        var r = new float[50];
        foreach (var h in open) h.CopyWindow(3, 0, 50, new float[100], new float[50], r, new float[100], new bool[50], []);
        Assert.Equal(Enumerable.Range(0, 50).Select(t => (float)t), r);
        foreach (var h in open) h.Dispose();
        Assert.True(during - before < 20, $"{during - before} descriptors for 200 open histories");
    }
}
