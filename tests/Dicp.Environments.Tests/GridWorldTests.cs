using Xunit;

namespace Dicp.Environments.Tests;

public class DarkroomTests
{
    [Fact]
    public void Goal42_DownDownStay_Rewards011()
    {
        var (results, obs) = TestHelpers.Run(new Darkroom(4, 2), 3, 3, 4);
        Assert.Equal([0f, 1f, 1f], results.Rewards());
        Assert.Equal([[4f, 3f], [4f, 2f], [4f, 2f]], obs);
        Assert.Equal([false, true, true], results.Select(r => r.Success));
        Assert.All(results, r => Assert.False(r.Terminated || r.Truncated));
    }

    [Fact]
    public void Actions_MoveAsSpecified_AndClipAtWalls()
    {
        var (results, obs) = TestHelpers.Run(new Darkroom(8, 4), 0, 0, 0, 0, 0, 0);
        Assert.Equal([[5f, 4f], [6f, 4f], [7f, 4f], [8f, 4f], [8f, 4f], [8f, 4f]], obs);
        Assert.Equal([0f, 0f, 0f, 1f, 1f, 1f], results.Rewards());

        (_, obs) = TestHelpers.Run(new Darkroom(0, 0), 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 4);
        Assert.Equal([[3f, 4f], [2f, 4f], [1f, 4f], [0f, 4f], [0f, 4f], [0f, 5f], [0f, 6f], [0f, 7f], [0f, 8f], [0f, 8f], [0f, 7f], [0f, 7f]], obs);

        (_, obs) = TestHelpers.Run(new Darkroom(0, 0), 3, 3, 3, 3, 3);
        Assert.Equal([4f, 0f], obs[^1]);
    }

    [Fact]
    public void Reset_StartsAtCentre_AndStateIndexIsX9PlusY()
    {
        var env = new Darkroom(1, 2);
        var obs = new float[2];
        env.Reset(123, obs);
        Assert.Equal([4f, 4f], obs);
        Assert.Equal(40, env.StateIndex);
        env.Step([0f], obs);
        env.Step([3f], obs);
        Assert.Equal(5 * 9 + 3, env.StateIndex);
    }

    [Fact]
    public void Episode_TruncatesExactlyAtHorizon_ThenRefusesToStep()
    {
        var env = new Darkroom(0, 0);
        var obs = new float[2];
        env.Reset(0, obs);
        for (var t = 1; t < 20; t++) Assert.False(env.Step([4f], obs).Truncated);
        var last = env.Step([4f], obs);
        Assert.True(last.Truncated);
        Assert.False(last.Terminated);
        Assert.Throws<InvalidOperationException>(() => env.Step([4f], obs));
        Assert.Throws<InvalidOperationException>(() => new Darkroom(0, 0).Step([4f], obs));
    }

    [Theory]
    [InlineData(5f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(1.5f)]
    [InlineData(float.PositiveInfinity)]
    public void InvalidActions_Throw(float action)
    {
        var env = new Darkroom(0, 0);
        var obs = new float[2];
        env.Reset(0, obs);
        Assert.Throws<ArgumentException>(() => env.Step([action], obs));
        Assert.Throws<ArgumentException>(() => env.Step([0f, 0f], obs));
        Assert.Throws<ArgumentException>(() => env.Step([0f], new float[3]));
        Assert.Equal(0, env.StepCount); // rejected actions do not advance the episode
    }

    [Fact]
    public void MaxReturn_Formula_HandChecked()
    {
        Assert.Equal(20f, new Darkroom(4, 4).MaxReturn);
        Assert.Equal(20f, new Darkroom(4, 3).MaxReturn);
        Assert.Equal(19f, new Darkroom(4, 2).MaxReturn);
        Assert.Equal(13f, new Darkroom(0, 0).MaxReturn);
        Assert.Equal(0f, new Darkroom(0, 0, horizon: 5).MaxReturn);
        Assert.Equal(1f, new Darkroom(8, 8, horizon: 8).MaxReturn);
    }

    [Fact]
    public void OptimalRollout_ReachesMaxReturn_ForEveryGoal()
    {
        var tasks = new DarkroomTasks();
        for (var i = 0; i < tasks.Count; i++)
        {
            var env = tasks.Create(i);
            var distance = Math.Abs(env.GoalX - 4) + Math.Abs(env.GoalY - 4);
            Assert.Equal(Math.Clamp(21 - distance, 0, 20), env.MaxReturn);
            Assert.Equal(env.MaxReturn, TestHelpers.OptimalReturn(env));
        }
    }

    [Fact]
    public void OptimalAction_MovesXFirst_ThenY_ThenStays()
    {
        var env = new Darkroom(6, 1);
        var taken = new List<int>();
        var o = new float[2];
        env.Reset(0, o);
        for (var t = 0; t < 7; t++)
        {
            var a = env.OptimalAction();
            taken.Add(a);
            env.Step([a], o);
        }
        Assert.Equal([0, 0, 3, 3, 3, 4, 4], taken);
    }

    [Fact]
    public void MaxReturn_EqualsExhaustiveSearch_ShortHorizon()
    {
        // Short horizon so that the clip in the formula matters for far goals.
        const int horizon = 6;
        for (var x = 0; x < 9; x++)
        for (var y = 0; y < 9; y++)
        {
            var (gx, gy) = (x, y);
            var best = TestHelpers.BruteForceMaxReturn(() => new Darkroom(gx, gy, horizon), horizon);
            Assert.Equal(new Darkroom(gx, gy, horizon).MaxReturn, best);
        }
    }
}

public class DarkroomPermutedTests
{
    [Fact]
    public void Permutations_AreInItertoolsOrder()
    {
        var tasks = new DarkroomPermutedTasks();
        Assert.Equal(120, tasks.Count);
        Assert.Equal([0, 1, 2, 3, 4], tasks.Describe(0));
        Assert.Equal([0, 1, 2, 4, 3], tasks.Describe(1));
        Assert.Equal([0, 1, 3, 2, 4], tasks.Describe(2));
        Assert.Equal([1, 0, 2, 3, 4], tasks.Describe(24));
        Assert.Equal([2, 4, 3, 0, 1], tasks.Describe(70));
        Assert.Equal([4, 3, 2, 1, 0], tasks.Describe(119));
        var all = Enumerable.Range(0, 120).Select(i => string.Join(",", tasks.Describe(i))).ToList();
        Assert.Equal(120, all.Distinct().Count());
        Assert.Equal(all.Order(StringComparer.Ordinal), all); // lexicographic
    }

    [Fact]
    public void Task70_AgentActionRunsAsPermutedAction()
    {
        // perm 70 = (2, 4, 3, 0, 1): agent 0 → y+1, 1 → stay, 2 → y−1, 3 → x+1, 4 → x−1.
        var env = new DarkroomPermutedTasks().Create(70);
        var (results, obs) = TestHelpers.Run(env, 0, 3, 1, 4, 2, 2);
        Assert.Equal([[0f, 1f], [1f, 1f], [1f, 1f], [0f, 1f], [0f, 0f], [0f, 0f]], obs);
        Assert.All(results, r => Assert.Equal(0f, r.Reward));
    }

    [Fact]
    public void StartsAtOrigin_GoalAt88_Horizon50()
    {
        var env = new DarkroomPermuted([0, 1, 2, 3, 4]);
        var obs = new float[2];
        env.Reset(0, obs);
        Assert.Equal([0f, 0f], obs);
        Assert.Equal(50, env.MaxEpisodeSteps);
        Assert.Equal(35f, env.MaxReturn);
        var actions = Enumerable.Repeat(0, 8).Concat(Enumerable.Repeat(2, 8)).Concat([4, 4]).ToArray();
        var (results, o) = TestHelpers.Run(env, actions);
        Assert.Equal([8f, 8f], o[^1]);
        Assert.Equal(3f, results.Rewards().Sum());
        Assert.Equal(0f, results[14].Reward);
        Assert.Equal(1f, results[15].Reward);
    }

    [Fact]
    public void OptimalRollout_Reaches35_ForAllPermutations()
    {
        var tasks = new DarkroomPermutedTasks();
        for (var i = 0; i < tasks.Count; i++)
        {
            var env = tasks.Create(i);
            Assert.Equal(35f, env.MaxReturn);
            Assert.Equal(35f, TestHelpers.OptimalReturn(env));
        }
    }

    [Fact]
    public void OptimalAction_IsInversePermutationOfGreedy()
    {
        var env = new DarkroomPermutedTasks().Create(70); // greedy x+1 (grid 0) is agent action 3
        var obs = new float[2];
        env.Reset(0, obs);
        Assert.Equal(3, env.OptimalAction());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(70)]
    [InlineData(119)]
    public void MaxReturn_EqualsExhaustiveSearch_ShortHorizon(int task)
    {
        const int horizon = 20; // 16 moves to the goal, so the best is 5
        var perm = new DarkroomPermutedTasks().Describe(task);
        var best = TestHelpers.BruteForceMaxReturn(() => new DarkroomPermuted(perm, horizon), horizon);
        Assert.Equal(5f, best);
        Assert.Equal(5f, new DarkroomPermuted(perm, horizon).MaxReturn);
    }

    [Fact]
    public void InvalidPermutations_Throw()
    {
        Assert.Throws<ArgumentException>(() => new DarkroomPermuted([0, 1, 2, 3]));
        Assert.Throws<ArgumentException>(() => new DarkroomPermuted([0, 1, 2, 3, 3]));
        Assert.Throws<ArgumentException>(() => new DarkroomPermuted([0, 1, 2, 3, 5]));
    }
}

public class DarkKeyToDoorTests
{
    [Fact]
    public void DoorBeforeKey_GivesNothing_KeyTwice_RewardedOnce()
    {
        // Key (5,4) and door (3,4), both next to the start (4,4).
        var env = new DarkKeyToDoor(5, 4, 3, 4);
        var (results, obs) = TestHelpers.Run(env, 1, 0, 0, 1, 0, 1, 1, 0, 1);
        // door(no key) centre key centre key(again) centre door(with key) centre door(again)
        Assert.Equal([0f, 0f, 1f, 0f, 0f, 0f, 1f, 0f, 0f], results.Rewards());
        Assert.Equal([3f, 4f], obs[0]);
        Assert.Equal([false, false, false, false, false, false, true, true, true], results.Select(r => r.Success));
        Assert.True(env.HasKey);
        Assert.True(env.DoorOpen);
    }

    [Fact]
    public void KeyAndDoorOnSameCell_RewardOnTwoSteps()
    {
        var (results, _) = TestHelpers.Run(new DarkKeyToDoor(4, 4, 4, 4), 4, 4, 4);
        Assert.Equal([1f, 1f, 0f], results.Rewards());
    }

    [Fact]
    public void Reset_ClearsKeyAndDoor()
    {
        var env = new DarkKeyToDoor(4, 5, 4, 4);
        TestHelpers.Run(env, 2, 3);
        Assert.True(env.DoorOpen);
        var (results, _) = TestHelpers.Run(env, 2, 3);
        Assert.Equal([1f, 1f], results.Rewards());
    }

    [Fact]
    public void OptimalRollout_ReachesMaxReturn2_ForEveryTask()
    {
        var tasks = new KeyToDoorTasks();
        Assert.Equal(50, tasks.Create(0).MaxEpisodeSteps);
        for (var i = 0; i < tasks.Count; i++)
        {
            var env = tasks.Create(i);
            Assert.Equal(2f, env.MaxReturn);
            Assert.Equal(2f, TestHelpers.OptimalReturn(env));
        }
    }

    [Fact]
    public void OptimalAction_GoesToKeyThenDoor()
    {
        var env = new DarkKeyToDoor(6, 3, 4, 6);
        var o = new float[2];
        env.Reset(0, o);
        var taken = new List<int>();
        for (var t = 0; t < 10; t++)
        {
            var a = env.OptimalAction();
            taken.Add(a);
            env.Step([a], o);
        }
        Assert.Equal([0, 0, 3, 1, 1, 2, 2, 2, 4, 4], taken);
        Assert.True(env.DoorOpen);
    }

    [Theory]
    [InlineData(4, 4, 4, 4, 6)]
    [InlineData(6, 3, 4, 6, 12)]
    [InlineData(0, 4, 2, 4, 8)]  // key far: door not reachable in time → 1
    [InlineData(8, 8, 0, 0, 8)]  // key not reachable → 0
    public void MaxReturn_EqualsExhaustiveSearch_ShortHorizon(int kx, int ky, int dx, int dy, int horizon)
    {
        var best = TestHelpers.BruteForceMaxReturn(() => new DarkKeyToDoor(kx, ky, dx, dy, horizon), horizon);
        Assert.Equal(new DarkKeyToDoor(kx, ky, dx, dy, horizon).MaxReturn, best);
    }
}

public class PointRobotTests
{
    [Fact]
    public void Goals_SpreadOnUpperHalfCircle()
    {
        var tasks = new PointRobotTasks();
        Assert.Equal(100, tasks.Count);
        Assert.Equal((1f, 0f), tasks.Goal(0));
        var last = tasks.Goal(99);
        Assert.Equal(-1f, last.X);
        Assert.True(Math.Abs(last.Y) < 1e-6f);
        var three = new PointRobotTasks(3);
        Assert.True(Math.Abs(three.Goal(1).X) < 1e-6f);
        Assert.Equal(1f, three.Goal(1).Y);
        for (var i = 0; i < tasks.Count; i++)
        {
            var (x, y) = tasks.Goal(i);
            Assert.True(y >= 0f);
            Assert.Equal(1.0, Math.Sqrt(x * x + y * y), 5);
        }
    }

    [Fact]
    public void Step_ScalesClipsAndRewardsNegativeDistance()
    {
        var env = new PointRobot(1f, 0f);
        var obs = new float[2];
        env.Reset(0, obs);
        Assert.Equal([0f, 0f], obs);
        var r = env.Step([1f, 0f], obs);
        Assert.Equal([0.1f, 0f], obs);
        Assert.Equal(-0.9f, r.Reward, 6);
        r = env.Step([5f, -3f], obs); // clipped to (1, −1)
        Assert.Equal(0.2f, obs[0], 6);
        Assert.Equal(-0.1f, obs[1], 6);
        Assert.Equal(-(float)Math.Sqrt(0.8 * 0.8 + 0.1 * 0.1), r.Reward, 5);
        r = env.Step([float.NegativeInfinity, 0.5f], obs); // infinities are clipped too
        Assert.Equal(0.1f, obs[0], 6);
        Assert.Equal(-0.05f, obs[1], 6);
        Assert.False(r.Success);
    }

    [Fact]
    public void Success_WithinRadius_AndTruncationAt20()
    {
        var env = new PointRobotTasks().Create(0); // goal (1, 0)
        var obs = new float[2];
        env.Reset(0, obs);
        var results = new List<StepResult>();
        for (var t = 0; t < 20; t++) results.Add(env.Step(t < 10 ? [1f, 0f] : [0f, 0f], obs));
        Assert.False(results[7].Success);   // x = 0.8
        Assert.True(results[9].Success);    // x = 1.0
        Assert.True(results[19].Success);
        Assert.All(results.Take(19), r => Assert.False(r.Truncated));
        Assert.True(results[19].Truncated);
        Assert.All(results, r => Assert.False(r.Terminated));
        Assert.Throws<InvalidOperationException>(() => env.Step([0f, 0f], obs));
    }

    [Fact]
    public void InvalidActions_Throw()
    {
        var env = new PointRobot(0f, 1f);
        var obs = new float[2];
        env.Reset(0, obs);
        Assert.Throws<ArgumentException>(() => env.Step([float.NaN, 0f], obs));
        Assert.Throws<ArgumentException>(() => env.Step([0f], obs));
        Assert.Equal(0, env.StepCount);
    }
}
