using Dicp.Core.Tests.TestUtil;
using Dicp.Data;
using Xunit;

namespace Dicp.Core.Tests.Data;

/// <summary>IDT's dataset: episodes sorted by return inside each stream, returns-to-go relabelled, segment-aligned windows.</summary>
public sealed class IdtDataTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dicp-idt-data-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void RelabelSortsEpisodesByReturnAndShiftsToTheBest()
    {
        // Episodes: [0..2] return 3, [3..4] return 0, [5..7] return 5, [8..9] (truncated, no done) return 1; ties none.
        float[] r = [1, 1, 1, 0, 0, 2, 0, 3, 1, 0];
        bool[] d = [false, false, true, false, true, false, false, true, false, false];
        var order = new int[10];
        var rtg = new float[10];
        ReturnRelabelling.Relabel(r, d, order, rtg);
        Assert.Equal([3, 4, 8, 9, 0, 1, 2, 5, 6, 7], order);         // returns 0, 1, 3, 5
        // Episode returns-to-go (2+3, 5, 3+2... ) shifted by best − own: +5, +4, +2, +0.
        Assert.Equal([5f, 5f, 5f, 4f, 5f, 4f, 3f, 5f, 3f, 3f], rtg);
    }

    [Fact]
    public void RelabelKeepsStreamOrderOnTies()
    {
        float[] r = [1, 0, 0, 1, 1, 0];
        bool[] d = [false, true, false, true, false, true];
        var order = new int[6];
        var rtg = new float[6];
        ReturnRelabelling.Relabel(r, d, order, rtg);
        Assert.Equal([0, 1, 2, 3, 4, 5], order);
        Assert.Equal([1f, 0f, 1f, 1f, 1f, 0f], rtg);
        Assert.Throws<ArgumentException>(() => ReturnRelabelling.Relabel(r, d, new int[5], rtg));
    }

    /// <summary>
    /// Indexed histories (reward = step index, episodes of 20 steps): a 50-step stream has episodes [0, 20) return 190,
    /// [20, 40) return 590 and the truncated [40, 50) return 445, so the sorted stream is steps 0–19, 40–49, 20–39.
    /// </summary>
    /// <remarks>Stride 1 (the default, the reference's windows): starts anywhere in [0, 40], all 41 drawn, most not on a
    /// segment boundary; stride 5 (<see cref="ModelConfig.AlignedWindows"/>): the 9 multiples of c only.</remarks>
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void SamplerDrawsWindowsOfTheSortedStreamWithReturnsToGo(int stride)
    {
        SyntheticHistories.WriteIndexed(_dir, [3, 7], streams: 2, steps: 50);
        using var data = HistoryDataset.Open(_dir, HistorySplit.All);
        var sampler = new WindowSampler(data, steps: 10, batchSize: 64, seed: 3, returnsToGoSegment: 5, startStride: stride);
        var choices = 40 / stride + 1;
        Assert.Equal(2L * 2 * choices, sampler.WindowCount);
        int[] sorted = [.. Enumerable.Range(0, 20), .. Enumerable.Range(40, 10), .. Enumerable.Range(20, 20)];
        float ToGo(int step)
        {
            var (start, end, ret) = step < 20 ? (0, 20, 190f) : step < 40 ? (20, 40, 590f) : (40, 50, 445f);
            var togo = 0f;
            for (var t = step; t < end; t++) togo += t;
            return togo + 590f - ret;
        }
        var starts = new HashSet<int>();
        for (var round = 0; round < 8; round++)
        {
            var state = sampler.GetState();
            var positions = Enumerable.Range(0, 64).Select(_ => sampler.NextPosition()).ToArray();
            sampler.SetState(state);
            var batch = sampler.Next();
            Assert.NotNull(batch.ReturnsToGo);
            for (var b = 0; b < 64; b++)
            {
                var p = positions[b];
                Assert.Equal(0, p.Start % stride);
                starts.Add(p.Start);
                for (var i = 0; i < 10; i++)
                {
                    var step = sorted[p.Start + i];
                    var k = b * 10 + i;
                    Assert.Equal(data.Tasks[p.Task].Info.TaskIndex, batch.States[2 * k]);
                    Assert.Equal(p.Stream * 10000 + step, batch.States[2 * k + 1]);
                    Assert.Equal(step % 5, batch.Actions[k]);
                    Assert.Equal(step, batch.Rewards[k]);
                    Assert.Equal(p.Stream * 10000 + step + 0.5f, batch.NextStates[2 * k + 1]);
                    Assert.Equal(step % 20 == 19, batch.Dones[k]);
                    Assert.Equal(ToGo(step), batch.ReturnsToGo![k]);
                }
            }
        }
        Assert.Equal(choices, starts.Count); // every start in [0, 40] (on the stride) is drawn in 512 windows
        if (stride == 1) Assert.Equal(32, starts.Count(x => x % 5 != 0)); // windows whose segments do not begin on a boundary
        Assert.Throws<ArgumentException>(() => new WindowSampler(data, steps: 12, batchSize: 4, seed: 0, returnsToGoSegment: 5));
        var set = new FixedWindowSet(data, 10, windows: 10, batchSize: 4, seed: 1, returnsToGoSegment: 5, startStride: stride);
        Assert.All(set.Batches(), batch => Assert.NotNull(batch.ReturnsToGo));
        Assert.All(set.Positions, q => Assert.Equal(0, q.Start % stride));
    }
}
