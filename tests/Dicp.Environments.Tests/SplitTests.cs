using Xunit;

namespace Dicp.Environments.Tests;

/// <summary>The reference splits (check values from reference.md §2 and CPython 3.11).</summary>
public class SplitTests
{
    [Fact]
    public void Darkroom_Seed0_MatchesReference()
    {
        var tasks = new DarkroomTasks();
        var (train, test) = tasks.DefaultSplit();
        Assert.Equal(73, train.Length);
        Assert.Equal([38, 51, 62, 65, 33, 5, 53, 49], test);
        Assert.Equal([24, 48, 26, 75, 9, 76, 29, 44, 37, 60], train[..10]);
        var goals = test.Select(i => tasks.Describe(i)).ToArray();
        int[][] expectedGoals = [[4, 2], [5, 6], [6, 8], [7, 2], [3, 6], [0, 5], [5, 8], [5, 4]];
        Assert.Equal(expectedGoals, goals);
        AssertPartition(train, test, tasks.Count);
    }

    [Theory]
    [InlineData(1, new[] { 60, 57, 63, 15, 32, 8, 72, 17 })]
    [InlineData(2, new[] { 27, 32, 39, 21, 46, 10, 11, 7 })]
    [InlineData(3, new[] { 8, 74, 60, 47, 16, 69, 75, 30 })]
    [InlineData(4, new[] { 8, 11, 19, 61, 50, 13, 38, 30 })]
    public void Darkroom_OtherSeeds_MatchCPython(int seed, int[] expectedTest)
    {
        var (train, test) = new DarkroomTasks().Split(seed, 0.9);
        Assert.Equal(expectedTest, test);
        AssertPartition(train, test, 81);
    }

    [Fact]
    public void DarkroomPermuted_Seed4_MatchesReference()
    {
        var tasks = new DarkroomPermutedTasks();
        var (train, test) = tasks.DefaultSplit();
        Assert.Equal(108, train.Length);
        Assert.Equal([70, 51, 2, 8, 11, 19, 61, 50, 92, 13, 38, 30], test);
        Assert.Equal([48, 25, 45, 83, 32, 6, 53, 73, 58, 105], train[..10]);
        Assert.Equal([2, 4, 3, 0, 1], tasks.Describe(70));
        AssertPartition(train, test, tasks.Count);
    }

    [Fact]
    public void KeyToDoor_Seed4_MatchesReference()
    {
        var tasks = new KeyToDoorTasks();
        var (train, test) = tasks.DefaultSplit();
        Assert.Equal(6233, train.Length);
        Assert.Equal(328, test.Length);
        Assert.Equal([3406, 3554, 4198, 2997, 5086, 937, 632, 779, 3277, 3986], test[..10]);
        Assert.Equal([845, 2484, 1933], test[^3..]);
        Assert.Equal([558, 2586, 14, 4356, 890], train[..5]);
        Assert.Equal([4, 6, 0, 4], tasks.Describe(3406));
        AssertPartition(train, test, tasks.Count);
    }

    [Fact]
    public void PointRobot_DefaultSplit_MatchesCPython()
    {
        var (train, test) = new PointRobotTasks().DefaultSplit();
        Assert.Equal(90, train.Length);
        Assert.Equal([61, 38, 51, 62, 65, 33, 5, 53, 97, 49], test);
    }

    [Fact]
    public void TrainCount_UsesBankersRounding()
    {
        // round(10 * 0.25) == 2 and round(6 * 0.75) == 4 in Python.
        var (train, test) = TaskSplit.Split(10, 3, 0.25);
        Assert.Equal([1, 5], train);
        Assert.Equal([6, 0, 9, 4, 7, 2, 8, 3], test);
        (train, test) = TaskSplit.Split(6, 3, 0.75);
        Assert.Equal([0, 2, 3, 5], train);
        Assert.Equal([4, 1], test);
    }

    [Fact]
    public void Split_RejectsBadRatios()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TaskSplit.Split(10, 0, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => TaskSplit.Split(10, 0, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => TaskSplit.Split(-1, 0, 0.5));
        var (train, test) = TaskSplit.Split(0, 0, 0.5);
        Assert.Empty(train);
        Assert.Empty(test);
    }

    [Fact]
    public void TaskSets_DescribeIsCanonicalOrder()
    {
        var dark = new DarkroomTasks();
        Assert.Equal(81, dark.Count);
        Assert.Equal([0, 1], dark.Describe(1));
        Assert.Equal([1, 0], dark.Describe(9));
        Assert.Equal([8, 8], dark.Describe(80));
        Assert.Equal(38, dark.IndexOf(4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => dark.Describe(81));

        var ktd = new KeyToDoorTasks();
        Assert.Equal(6561, ktd.Count);
        Assert.Equal([0, 0, 0, 1], ktd.Describe(1));
        Assert.Equal([0, 0, 1, 0], ktd.Describe(9));
        Assert.Equal([0, 1, 0, 0], ktd.Describe(81));
        Assert.Equal([1, 0, 0, 0], ktd.Describe(729));
        for (var i = 0; i < ktd.Count; i += 37)
        {
            var d = ktd.Describe(i);
            Assert.Equal(i, ktd.IndexOf(d[0], d[1], d[2], d[3]));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ktd.Create(-1));

        var pr = new PointRobotTasks(7);
        Assert.Equal([3, 7], pr.Describe(3));
        Assert.Equal(Math.PI / 2, pr.Angle(3), 12);
    }

    private static void AssertPartition(int[] train, int[] test, int count) =>
        Assert.Equal(Enumerable.Range(0, count), train.Concat(test).Order());
}
