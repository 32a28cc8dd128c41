using Dicp.Environments.MetaWorld;
using Xunit;

namespace Dicp.Environments.Tests.MetaWorld;

/// <summary>
/// The scripted policies solve the ML1 test variations within 100 steps. CI runs the first 10 test variations of each
/// task (the full 50 are measured by <c>benchmarks/Dicp.MetaWorldBench</c>, see docs/metaworld.md).
/// </summary>
public class ScriptedPolicyTests
{
    [Theory]
    [InlineData("reach-v2")]
    [InlineData("push-v2")]
    [InlineData("pick-place-v2")]
    [InlineData("sweep-v2")]
    [InlineData("peg-insert-side-v2")]
    [InlineData("drawer-close-v2")]
    [InlineData("drawer-open-v2")]
    [InlineData("button-press-topdown-v2")]
    [InlineData("door-open-v2")]
    [InlineData("door-close-v2")]
    [InlineData("sweep-into-v2")]
    [InlineData("lever-pull-v2")]
    [InlineData("window-open-v2")]
    [InlineData("basketball-v2")]
    [InlineData("shelf-place-v2")]
    public void ScriptedPolicy_SolvesAtLeastNineOfTenTestVariations(string task)
    {
        var tasks = new Ml1Tasks(task, MetaWorldAssets.Options());
        var successes = 0;
        foreach (var index in tasks.TestIndices.Take(10))
        {
            using var env = tasks.Create(index);
            var policy = ScriptedPolicy.For(env);
            var obs = new float[39];
            var action = new float[4];
            env.Reset(0, obs);
            var success = false;
            for (var t = 0; t < env.MaxEpisodeSteps && !success; t++)
            {
                policy.Act(env, action);
                success = env.Step(action, obs).Success;
            }
            if (success) successes++;
        }
        Assert.True(successes >= 9, $"{task}: {successes}/10 test variations solved");
    }

    [Fact]
    public void EveryTask_HasAScriptedPolicy()
    {
        foreach (var name in MetaWorldTasks.Names)
        {
            using var env = new Ml1Tasks(name, MetaWorldAssets.Options()).Create(50);
            Assert.True(ScriptedPolicy.Has(env), name);
            Assert.NotNull(ScriptedPolicy.For(env));
        }
    }

    [Fact]
    public void DoingNothing_SucceedsOnNoVariation()
    {
        foreach (var name in MetaWorldTasks.Names)
        {
            var tasks = new Ml1Tasks(name, MetaWorldAssets.Options(horizon: 20));
            using var env = tasks.Create(50);
            var obs = new float[39];
            env.Reset(0, obs);
            for (var t = 0; t < 20; t++) Assert.False(env.Step([0, 0, 0, 0], obs).Success, $"{name} succeeded without acting");
        }
    }
}
