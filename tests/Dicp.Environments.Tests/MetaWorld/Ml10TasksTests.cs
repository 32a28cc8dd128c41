using Dicp.Environments.MetaWorld;
using Xunit;

namespace Dicp.Environments.Tests.MetaWorld;

public class Ml10TasksTests
{
    [Fact]
    public void IndicesLayoutSplitAndDescriptions()
    {
        var ml10 = new Ml10Tasks(MetaWorldAssets.Options());
        Assert.Equal("metaworld-ml10", ml10.Name);
        Assert.Equal(750, ml10.Count);
        Assert.Equal([.. Ml10Sampling.TrainTasks, .. Ml10Sampling.TestTasks], ml10.Tasks);
        Assert.Equal("reach-v2", ml10.TaskName(0));
        Assert.Equal("window-open-v2", ml10.TaskName(7 * 50 + 49));
        Assert.Equal("shelf-place-v2", ml10.TaskName(500 + 2 * 50));
        var (train, test) = ml10.Split(ml10.DefaultSplitSeed, ml10.DefaultTrainRatio);
        Assert.Equal(Enumerable.Range(0, 500), train);
        Assert.Equal(Enumerable.Range(500, 250), test);
        Assert.Throws<ArgumentException>(() => ml10.Split(1, ml10.DefaultTrainRatio));
        // NumPy check values (Ml10SamplingTests): window-open's first train variation, shelf-place's first test variation.
        Assert.Equal([7, -76888, 743456, 160000, 0, 0, 0], ml10.Describe(7 * 50));
        Assert.Equal([12, 62372, 587496, 20377, 13899, 816097, 299934], ml10.Describe(600));
        Assert.Equal(MetaWorldTasks.SampleVariations(MetaWorldTasks.Get("reach-v2"), 0)[3], ml10.RandVec(3));
    }

    [Fact]
    public void EveryTaskCreatesResetsAndStepsWithItsGoal()
    {
        var ml10 = new Ml10Tasks(MetaWorldAssets.Options(horizon: 5));
        var obs = new float[39];
        for (var t = 0; t < 15; t++)
        {
            using var env = ml10.Create(t * 50 + 1);
            Assert.Equal(ml10.TaskName(t * 50 + 1), env.Name);
            env.Reset(0, obs);
            var r = env.Step([0f, 0f, 0f, 0f], obs);
            Assert.InRange(r.Reward, 0.0, 10.0);
            Assert.False(r.Success, env.Name);
        }
        var v = ml10.RandVec(600);
        using (var shelf = ml10.Create(600))
        {
            shelf.Reset(0, obs);
            // goal = the shelf's goal-site offset (0, 0, 0.3) + the shelf at goal − (0, 0, 0.3)
            Assert.Equal(v[3], shelf.TargetPos.X, 12);
            Assert.Equal(v[4], shelf.TargetPos.Y, 12);
            Assert.Equal(v[5], shelf.TargetPos.Z, 12);
        }
        var b = ml10.RandVec(9 * 50);
        using var basket = (BasketballV2)ml10.Create(9 * 50);
        basket.Reset(0, obs);
        Assert.Equal(b[3], basket.TargetPos.X, 9);
        Assert.Equal(b[4] - 0.083, basket.TargetPos.Y, 9);
        Assert.Equal(0.25, basket.TargetPos.Z, 9);
        Assert.Equal(0.3, basket.RewardTarget.Z);
    }

    [Fact]
    public void WindowOpensWhenItsHandleReachesTheGoal()
    {
        var tasks = new Ml1Tasks("window-open-v2", MetaWorldAssets.Options());
        using var env = (WindowOpenV2)tasks.Create(50);
        var obs = new float[39];
        env.Reset(0, obs);
        Assert.Equal(0.0, env.Opening);
        Assert.Equal(env.ObjInitPos.X + 0.2, env.TargetPos.X, 12);
        var policy = ScriptedPolicy.For(env);
        var action = new float[4];
        var success = false;
        for (var t = 0; t < 100 && !success; t++)
        {
            policy.Act(env, action);
            success = env.Step(action, obs).Success;
        }
        Assert.True(success);
        Assert.InRange(env.Opening, 0.15, 0.2); // success: the handle within 0.05 of the goal in x
    }
}
