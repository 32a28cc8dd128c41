using Dicp.Environments.MetaWorld;
using Dicp.Tensors;
using Xunit;

namespace Dicp.Environments.Tests.MetaWorld;

public class SawyerEnvironmentTests
{
    private static readonly Ml1Tasks Reach = new("reach-v2", MetaWorldAssets.Options());

    [Fact]
    public void ResetObservation_HasTheV2Layout()
    {
        using var env = Reach.Create(50);
        var obs = new float[39];
        env.Reset(0, obs);
        // Hand settled near (0, 0.6, 0.2) by the mocap: Meta-World v2's well-known (0.00615, 0.60019, 0.19430).
        Assert.Equal(0.0061524, obs[0], 4);
        Assert.Equal(0.6001898, obs[1], 4);
        Assert.Equal(0.1943012, obs[2], 4);
        Assert.Equal(1f, obs[3]); // gripper open
        var v = Reach.RandVec(50);
        Assert.Equal(v[0], obs[4], 3); // object at the variation's position
        Assert.Equal(v[1], obs[5], 3);
        Assert.Equal(0.02, obs[6], 2);
        Assert.Equal(0f, obs[7], 3); // upright cylinder: SciPy quaternion (x, y, z, w) = (0, 0, 0, 1)
        Assert.Equal(1f, obs[10], 3);
        Assert.All(obs[11..18], x => Assert.Equal(0f, x)); // no second object
        Assert.Equal(obs[..18], obs[18..36]); // previous frame = current frame after a reset
        Assert.All(obs[36..], x => Assert.Equal(0f, x)); // goal hidden (partially observable)
        Assert.True(env.ObservationSpace.Contains(obs));
    }

    [Fact]
    public void FullyObservable_ShowsTheGoal_AndPreviousFrameLags()
    {
        using var env = new ReachV2(MetaWorldAssets.Options(partiallyObservable: false), Reach.RandVec(3));
        var obs = new float[39];
        env.Reset(0, obs);
        var first = obs[..18];
        var v = Reach.RandVec(3);
        Assert.Equal(v[3], obs[36], 5);
        Assert.Equal(v[4], obs[37], 5);
        Assert.Equal(v[5], obs[38], 5);
        env.Step([1, 0, 0, 0], obs);
        Assert.Equal(first, obs[18..36]);
        Assert.True(obs[0] > first[0]); // moved +x
    }

    [Fact]
    public void RandomActions_GiveRewardsIn0To10_AndReachSuccessMeansFullReward()
    {
        foreach (var name in MetaWorldTasks.Names)
        {
            var tasks = new Ml1Tasks(name, MetaWorldAssets.Options(horizon: 40));
            using var env = tasks.Create(0);
            var rng = new Generator(7);
            var obs = new float[39];
            var a = new float[4];
            env.Reset(0, obs);
            for (var t = 0; t < 40; t++)
            {
                env.ActionSpace.Sample(rng, a);
                var r = env.Step(a, obs);
                Assert.InRange(r.Reward, 0f, 10f);
                Assert.True(env.ObservationSpace.Contains(obs), $"{name} step {t}: observation outside its space");
                Assert.Equal(t == 39, r.Truncated);
                Assert.False(r.Terminated);
            }
        }
        // reach: success (tcp within 0.05 of the goal) is exactly the in-bounds part of the tolerance: reward 10.
        using var reach = Reach.Create(50);
        var o = new float[39];
        reach.Reset(0, o);
        var policy = ScriptedPolicy.For(reach);
        var act = new float[4];
        var sawSuccess = false;
        for (var t = 0; t < 100; t++)
        {
            policy.Act(reach, act);
            var r = reach.Step(act, o);
            if (r.Success) Assert.Equal(10f, r.Reward);
            else Assert.True(r.Reward < 10f);
            sawSuccess |= r.Success;
        }
        Assert.True(sawSuccess);
    }

    [Fact]
    public void SameVariationAndActions_AreBitIdentical_AcrossEnvironmentsAndResets()
    {
        var tasks = new Ml1Tasks("pick-place-v2", MetaWorldAssets.Options(horizon: 30));
        using var a = tasks.Create(7);
        using var b = tasks.Create(7);
        var run = (SawyerEnvironment env) =>
        {
            var rng = new Generator(3);
            var obs = new float[39];
            var act = new float[4];
            var trace = new List<float>();
            env.Reset(0, obs);
            trace.AddRange(obs);
            for (var t = 0; t < 30; t++)
            {
                env.ActionSpace.Sample(rng, act);
                var r = env.Step(act, obs);
                trace.AddRange(obs);
                trace.Add(r.Reward);
            }
            return trace.ToArray();
        };
        var first = run(a);
        Assert.Equal(first, run(b));
        Assert.Equal(first, run(a)); // a reset restores the same state
    }

    [Fact]
    public void Horizon_BadActions_AndBadBuffers_AreRejected()
    {
        using var env = new Ml1Tasks("push-v2", MetaWorldAssets.Options(horizon: 2)).Create(0);
        var obs = new float[39];
        Assert.Throws<InvalidOperationException>(() => env.Step([0, 0, 0, 0], obs));
        env.Reset(0, obs);
        Assert.Throws<ArgumentException>(() => env.Step([0, 0, 0], obs));
        Assert.Throws<ArgumentException>(() => env.Step([0, float.NaN, 0, 0], obs));
        Assert.Throws<ArgumentException>(() => env.Step([0, 0, 0, 0], new float[38]));
        Assert.False(env.Step([0, 0, 0, 0], obs).Truncated);
        Assert.True(env.Step([5, 5, 5, 5], obs).Truncated); // out-of-range actions are clipped
        Assert.Throws<InvalidOperationException>(() => env.Step([0, 0, 0, 0], obs));
    }

    [Fact]
    public void BadAssetRoot_AndBadVariation_AreClearErrors()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => new ReachV2(new MetaWorldOptions { AssetRoot = "/nonexistent/assets_v2" }, Reach.RandVec(0)));
        Assert.Contains("/nonexistent/assets_v2", e.Message);
        var notAssets = Assert.Throws<DirectoryNotFoundException>(() => new ReachV2(new MetaWorldOptions { AssetRoot = Path.GetTempPath() }, Reach.RandVec(0)));
        Assert.Contains("sawyer_xyz", notAssets.Message);
        Assert.Throws<ArgumentException>(() => new ReachV2(MetaWorldAssets.Options(), [0, 0.6, 0.02, 0, 0.65, 0.1])); // goal too close
        Assert.Throws<ArgumentException>(() => new ReachV2(MetaWorldAssets.Options(), [0, 0.6, 0.02]));
        Assert.Throws<ArgumentException>(() => new Ml1Tasks("no-such-task-v2", MetaWorldAssets.Options()));
    }

    [Fact]
    public void Ml1TaskSet_IsFixedSplitOfFiftyAndFifty()
    {
        Assert.Equal(100, Reach.Count);
        var (train, test) = Reach.DefaultSplit();
        Assert.Equal(Enumerable.Range(0, 50), train);
        Assert.Equal(Enumerable.Range(50, 50), test);
        Assert.Throws<ArgumentException>(() => Reach.Split(3, 0.5));
        Assert.Equal(100, Enumerable.Range(0, 100).Select(i => string.Join(",", Reach.Describe(i))).Distinct().Count());
        Assert.Equal([-62748, 634556, 20000, 7763, 841919, 221305], Reach.Describe(50));
    }
}

public class LeverPullAssetTests
{
    [Fact]
    public void UprightLever_IsAtNegativeQuarterTurn_WhereTheTipMeetsTheGoal()
    {
        // The goal (lever + (0.12, 0, 0.45)) is the tip of the upright lever, at qpos −π/2; positive angles lower the tip.
        using var env = (LeverPullV2)new Ml1Tasks("lever-pull-v2", MetaWorldAssets.Options()).Create(50);
        var obs = new float[39];
        env.Reset(0, obs);
        var tip = env.ObjectPosition;
        Assert.Equal(env.TargetPos.Z - 0.2, tip.Z, 2); // horizontal at reset, 0.2 below the goal
        var address = env.Model.JointQposAddress[env.Model.JointId("LeverAxis")];
        env.Data.QPos[address] = 0.5;
        env.Data.Forward();
        Assert.True(env.ObjectPosition.Z < tip.Z - 0.05);
        env.Data.QPos[address] = -Math.PI / 2;
        env.Data.Forward();
        Assert.Equal(Math.PI / 2, env.LeverAngle, 12);
        Assert.True((env.ObjectPosition - env.TargetPos).Norm() < 1e-3, $"upright tip {env.ObjectPosition} vs goal {env.TargetPos}");
    }

    [Fact]
    public void LowerJointLimit_IsSoft_AReleasedRaisedLeverSinksBackGradually()
    {
        // LeverAxis is limited to [0, 1.57], but its limit constraint acts on a tiny inertia: a weak spring the hand can
        // push through (the scripted policy does), which lowers a released lever over several steps.
        using var env = (LeverPullV2)new Ml1Tasks("lever-pull-v2", MetaWorldAssets.Options()).Create(50);
        var obs = new float[39];
        env.Reset(0, obs);
        var address = env.Model.JointQposAddress[env.Model.JointId("LeverAxis")];
        env.Data.QPos[address] = -1.0;
        env.Data.Forward();
        env.Step([0, 0, 0, 0], obs);
        var afterOne = env.LeverAngle;
        Assert.InRange(afterOne, 0.9, 0.999);
        for (var t = 0; t < 9; t++) env.Step([0, 0, 0, 0], obs);
        Assert.InRange(env.LeverAngle, 0.0, 0.3);
    }
}
