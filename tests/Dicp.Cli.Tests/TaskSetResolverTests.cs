using Dicp.Environments.MetaWorld;
using Xunit;

namespace Dicp.Cli.Tests;

public sealed class TaskSetResolverTests
{
    [Theory]
    [InlineData("metaworld-ml1-reach", "reach-v2")]
    [InlineData("metaworld-ml1-pick-place-v2", "pick-place-v2")]
    [InlineData("metaworld-ml1-peg-insert-side", "peg-insert-side-v2")]
    [InlineData("metaworld-ml1-bogus", null)]
    [InlineData("ml1-reach", null)]
    public void Ml1NamesMapToMetaWorldTasks(string name, string? task)
    {
        Assert.Equal(task, TaskSetResolver.Ml1Task(name));
        Assert.Equal(task is not null, TaskSetResolver.IsKnown(name));
    }

    [Fact]
    public void Ml1ListsWithoutAssetsButCollectingNeedsThem()
    {
        var set = Assert.IsType<Ml1Tasks>(TaskSetResolver.Resolve("metaworld-ml1-reach", requireAssets: false));
        Assert.Equal("metaworld-ml1-reach", set.Name);
        Assert.Equal("metaworld-ml1-reach", TaskSetResolver.Canonical("metaworld-ml1-reach-v2"));
        Assert.Equal("metaworld-ml1-reach", TaskSetResolver.Canonical("ml1-reach-v2")); // manifests of older collections
        Assert.Equal("metaworld-ml10", TaskSetResolver.Canonical("ml10"));
        Assert.Equal("darkroom", TaskSetResolver.Canonical("darkroom"));
        Assert.Equal(100, set.Count);
        var missing = Path.Combine(Path.GetTempPath(), "dicp-no-assets-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<ArgumentException>(() => TaskSetResolver.Resolve("metaworld-ml1-reach", missing));
        Assert.Contains("assets_v2", e.Message);
        Assert.Contains(TaskSetResolver.AssetsVariable, e.Message);
        Assert.Throws<ArgumentException>(() => TaskSetResolver.Resolve("metaworld-ml1-nope", missing));
        Assert.Equal("point-robot", TaskSetResolver.Resolve("point-robot").Name);
        Assert.True(TaskSetResolver.IsKnown("metaworld-ml10"));
        Assert.Equal(750, TaskSetResolver.Resolve("metaworld-ml10", requireAssets: false).Count);
        Assert.Throws<ArgumentException>(() => TaskSetResolver.Resolve("metaworld-ml10", missing));
    }
}
