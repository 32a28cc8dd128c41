using Dicp.Tensors;
using Xunit;

namespace Dicp.Environments.Tests;

public class SpaceTests
{
    [Fact]
    public void Discrete_ContainsIntegralIndicesInRange()
    {
        var s = new DiscreteSpace(5);
        Assert.Equal(1, s.Size);
        Assert.True(s.Contains([0f]));
        Assert.True(s.Contains([4f]));
        Assert.False(s.Contains([5f]));
        Assert.False(s.Contains([-1f]));
        Assert.False(s.Contains([1.5f]));
        Assert.False(s.Contains([float.NaN]));
        Assert.False(s.Contains([0f, 1f]));
        Assert.Equal(3, s.ToIndex([3f]));
        Assert.Throws<ArgumentException>(() => s.ToIndex([7f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DiscreteSpace(0));
        Assert.Equal("Discrete(5)", s.ToString());
    }

    [Fact]
    public void Box_ContainsFiniteValuesWithinBounds()
    {
        var s = new BoxSpace([-1f, 0f], [1f, 2f]);
        Assert.Equal(2, s.Size);
        Assert.True(s.Contains([-1f, 2f]));
        Assert.True(s.Contains([0.5f, 0.5f]));
        Assert.False(s.Contains([1.01f, 0f]));
        Assert.False(s.Contains([0f, float.NaN]));
        Assert.False(s.Contains([0f]));
        var unbounded = new BoxSpace([float.NegativeInfinity], [float.PositiveInfinity]);
        Assert.True(unbounded.Contains([1e30f]));
        Assert.False(unbounded.Contains([float.PositiveInfinity]));
        Assert.Throws<ArgumentException>(() => new BoxSpace([1f], [0f]));
        Assert.Throws<ArgumentException>(() => new BoxSpace([0f, 0f], [1f]));
        Assert.Throws<ArgumentException>(() => new BoxSpace([], []));
        Assert.Throws<ArgumentException>(() => new BoxSpace([float.NaN], [1f]));
    }

    [Fact]
    public void Box_CopiesItsBounds()
    {
        float[] low = [0f], high = [1f];
        var s = new BoxSpace(low, high);
        high[0] = -5f;
        Assert.Equal(1f, s.High[0]);
    }

    [Fact]
    public void Samples_AreMembers()
    {
        var rng = new Generator(3);
        Space[] spaces = [new DiscreteSpace(5), new BoxSpace([-1f, 0f], [1f, 0f]), new BoxSpace([float.NegativeInfinity, 0f], [0f, float.PositiveInfinity])];
        foreach (var s in spaces)
        {
            var v = new float[s.Size];
            for (var i = 0; i < 200; i++)
            {
                s.Sample(rng, v);
                Assert.True(s.Contains(v), $"{s} sample [{string.Join(", ", v)}]");
            }
        }
    }

    [Fact]
    public void SizeHelpers_ReadTheSpaces()
    {
        IEnvironment grid = new Darkroom(0, 0);
        Assert.Equal(2, grid.ObservationSize);
        Assert.Equal(1, grid.ActionSize);
        var robot = new PointRobot(1f, 0f);
        Assert.Equal(2, robot.ObservationSize);
        Assert.Equal(2, robot.ActionSize);
    }
}
