using Dicp.Data;
using Dicp.Environments.MetaWorld;
using Xunit;

namespace Dicp.Environments.Tests.MetaWorld;

/// <summary>Continuous PPO learning histories on Meta-World through the same collector and store as the grid worlds.</summary>
public sealed class MetaWorldHistoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dicp-mw-hist-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task PpoHistory_OnMl1Reach_IsRecordedWithTheMetaWorldLayout()
    {
        var tasks = new Ml1Tasks("reach-v2", MetaWorldAssets.Options());
        var options = new HistoryCollectionOptions(_dir, TaskIndices: [4], Streams: 2, StepsPerStream: 200, Seed: 3, MaxParallelism: 1);
        var result = await new HistoryCollector(tasks, options).RunAsync();
        Assert.Equal([4], result.Collected);

        var manifest = HistoryManifest.Read(_dir);
        Assert.Equal("metaworld-ml1-reach", manifest.Environment);
        Assert.Equal(Enumerable.Range(50, 50), manifest.Split.Test);
        Assert.Equal(100, (int)manifest.Hyperparameters["n_steps"]!); // the spec's Meta-World PPO settings
        Assert.Equal(200, (int)manifest.Hyperparameters["minibatch_size"]!);

        var h = TaskHistory.Read(Path.Combine(_dir, HistoryFormat.TaskFileName(4)));
        Assert.Equal(39, h.ObservationSize);
        Assert.Equal(4, h.ActionSize);
        Assert.Equal(tasks.Describe(4), h.Info.Task);
        Assert.All(h.Rewards, r => Assert.InRange(r, 0f, 10f));
        for (var stream = 0; stream < 2; stream++)
        {
            for (var t = 0; t < 200; t++) Assert.Equal(t % 100 == 99 ? (byte)1 : (byte)0, h.Dones[stream * 200 + t]);
            // Every episode starts from the settled reset state.
            Assert.Equal(0.0061524f, h.State(stream, 0)[0], 4);
            Assert.Equal(0.1943012f, h.State(stream, 100)[2], 4);
        }
        // The hand moves under the policy's actions, so the dense reach reward varies along the history.
        Assert.True(h.Rewards.Max() - h.Rewards.Min() > 0.1f);
    }
}
