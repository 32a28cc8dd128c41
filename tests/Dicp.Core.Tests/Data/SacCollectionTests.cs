using Dicp.Data;
using Dicp.Environments;
using Dicp.Rl;
using Xunit;

namespace Dicp.Core.Tests.Data;

public sealed class SacCollectionTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dicp-sac-history-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static HistoryCollectionOptions Small(string dir) =>
        new(dir, TaskIndices: [2, 9], Streams: 3, StepsPerStream: 25, Seed: 4, MaxParallelism: 1, Algorithm: "sac",
            Sac: new SacOptions(HiddenSize: 16, LearningStarts: 9, BatchSize: 8, GradientSteps: 2));

    [Fact]
    public async Task SacCollectionRoundTripsAndMatchesADirectRun()
    {
        var tasks = new PointRobotTasks(count: 10);
        var result = await new HistoryCollector(tasks, Small(_dir)).RunAsync();
        Assert.Equal([2, 9], result.Collected);
        var m = HistoryManifest.Read(_dir);
        Assert.Equal("sac", m.Algorithm);
        Assert.Equal("point-robot", m.Environment);
        Assert.Equal(2, (int)m.Hyperparameters["gradient_steps"]!);
        Assert.Equal(-2f, (float)m.Hyperparameters["target_entropy"]!);
        Assert.Equal("tanh_gaussian", (string)m.Hyperparameters["distribution"]!);

        var h = TaskHistory.Read(Path.Combine(_dir, HistoryFormat.TaskFileName(9)));
        Assert.Equal("sac", h.Info.Algorithm);
        Assert.Equal(4 + 9, h.Info.Seed);
        Assert.Equal(3 * 25 * 2, h.Actions.Length);
        Assert.Equal(3 * 25, h.Dones.Length);
        Assert.Equal(3, h.Dones.Count(d => d != 0)); // one 20-step episode end per stream

        // The stored actions are exactly those of a SAC learner run by hand with the task's seed.
        var vec = new VectorEnvironment(_ => tasks.Create(9), 3);
        var sac = new Sac(vec[0].ObservationSpace, vec[0].ActionSpace, 3, Small(_dir).Sac, seed: 13);
        var actions = new float[3, 25 * 2];
        LockstepRunner.Run(sac, vec, 25, seed: 13, onTransition: (in Transition t) =>
        {
            for (var i = 0; i < 3; i++)
                for (var j = 0; j < 2; j++) actions[i, t.Step * 2 + j] = t.Actions[i * 2 + j];
        });
        for (var i = 0; i < 3; i++)
            for (var k = 0; k < 50; k++) Assert.Equal(actions[i, k], h.Actions[i * 50 + k]);

        var again = await new HistoryCollector(tasks, Small(_dir)).RunAsync();
        Assert.Equal([2, 9], again.Skipped);
        await Assert.ThrowsAsync<InvalidOperationException>(() => new HistoryCollector(tasks, Small(_dir) with { Algorithm = "ppo" }).RunAsync());
        Assert.Throws<ArgumentException>(() => new HistoryCollector(tasks, Small(_dir) with { Algorithm = "dqn" }));
    }
}
