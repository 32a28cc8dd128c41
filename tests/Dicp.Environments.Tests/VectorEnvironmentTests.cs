using Xunit;

namespace Dicp.Environments.Tests;

public class VectorEnvironmentTests
{
    [Fact]
    public void Step_AutoResetsFinishedCopies_AndKeepsTerminalObservation()
    {
        var vec = new VectorEnvironment([new Darkroom(4, 5, horizon: 2), new Darkroom(6, 4, horizon: 3)]);
        Assert.Equal(2, vec.Count);
        Assert.Equal(2, vec.ObservationSize);
        Assert.Equal(1, vec.ActionSize);
        var obs = new float[4];
        var final = new float[4];
        var rewards = new float[2];
        var dones = new bool[2];
        var results = new StepResult[2];
        vec.Reset(0, obs);
        Assert.Equal([4f, 4f, 4f, 4f], obs);

        vec.Step([2f, 0f], obs, rewards, dones, final, results);
        Assert.Equal([4f, 5f, 5f, 4f], obs);
        Assert.Equal([4f, 5f, 5f, 4f], final);
        Assert.Equal([1f, 0f], rewards);
        Assert.Equal([false, false], dones);

        vec.Step([2f, 0f], obs, rewards, dones, final, results);
        Assert.Equal([4f, 6f, 6f, 4f], final);   // copy 0's true terminal observation
        Assert.Equal([4f, 4f, 6f, 4f], obs);     // copy 0 reset to the centre
        Assert.Equal([0f, 1f], rewards);
        Assert.Equal([true, false], dones);
        Assert.True(results[0].Truncated);
        Assert.Equal(1, vec.CompletedEpisodes(0));
        Assert.Equal(0, vec.CompletedEpisodes(1));

        vec.Step([4f, 4f], obs, rewards, dones, final);
        Assert.Equal([4f, 4f, 6f, 4f], final);
        Assert.Equal([4f, 4f, 4f, 4f], obs);     // copy 1 finished (horizon 3) and reset
        Assert.Equal([0f, 1f], rewards);
        Assert.Equal([false, true], dones);
    }

    [Fact]
    public void AutoReset_SeedsAreDistinctAndDeterministic()
    {
        var envs = Enumerable.Range(0, 3).Select(_ => new SeedRecorder(horizon: 2)).ToArray();
        var vec = new VectorEnvironment(envs);
        var obs = new float[3];
        var final = new float[3];
        var rewards = new float[3];
        var dones = new bool[3];
        vec.Reset(100, obs);
        for (var t = 0; t < 4; t++) vec.Step([0f, 0f, 0f], obs, rewards, dones, final);
        // Copy i's e-th episode uses seed 100 + 3e + i.
        Assert.Equal([100, 103, 106], envs[0].Seeds);
        Assert.Equal([101, 104, 107], envs[1].Seeds);
        Assert.Equal([102, 105, 108], envs[2].Seeds);
        Assert.Equal([106f, 107f, 108f], obs);    // the observations of the third episodes (just reset)
        Assert.Equal([103f, 104f, 105f], final);  // the terminal observations of the second episodes
    }

    [Fact]
    public void Step_DoesNotAllocate_OnceWarm()
    {
        var grid = new VectorEnvironment([new Darkroom(4, 2), new DarkroomPermutedTasks().Create(70), new KeyToDoorTasks().Create(3406), new Darkroom(8, 8, horizon: 3)]);
        var robots = new VectorEnvironment(i => new PointRobotTasks().Create(i * 10), 3);
        AssertNoAllocations(grid);
        AssertNoAllocations(robots);
    }

    private static void AssertNoAllocations(VectorEnvironment vec)
    {
        var obs = new float[vec.Count * vec.ObservationSize];
        var final = new float[obs.Length];
        var actions = new float[vec.Count * vec.ActionSize];
        var rewards = new float[vec.Count];
        var dones = new bool[vec.Count];
        var results = new StepResult[vec.Count];
        vec.Reset(0, obs);
        void Run(int steps)
        {
            for (var t = 0; t < steps; t++)
            {
                for (var i = 0; i < actions.Length; i++) actions[i] = vec.ActionSize == 1 ? (t + i) % 5 : ((t + i) % 3) - 1;
                vec.Step(actions, obs, rewards, dones, final, results);
            }
        }
        Run(200); // warm up (JIT, tiering)
        var before = GC.GetAllocatedBytesForCurrentThread();
        Run(100);
        var after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(0, after - before);
    }

    [Fact]
    public void Validates_Arguments()
    {
        var d = new Darkroom(0, 0);
        Assert.Throws<ArgumentException>(() => new VectorEnvironment([d, d]));
        Assert.Throws<ArgumentException>(() => new VectorEnvironment([new Darkroom(0, 0), new PointRobot(1f, 0f)]));
        Assert.Throws<ArgumentException>(() => new VectorEnvironment(Array.Empty<IEnvironment>()));
        var vec = new VectorEnvironment(_ => new Darkroom(1, 1), 2);
        var obs = new float[4];
        Assert.Throws<InvalidOperationException>(() => vec.Step([0f, 0f], obs, new float[2], new bool[2], new float[4]));
        Assert.Throws<ArgumentException>(() => vec.Reset(0, new float[3]));
        vec.Reset(0, obs);
        Assert.Throws<ArgumentException>(() => vec.Step([0f], obs, new float[2], new bool[2], new float[4]));
        Assert.Throws<ArgumentException>(() => vec.Step([0f, 0f], obs, new float[1], new bool[2], new float[4]));
        Assert.Throws<ArgumentException>(() => vec.Step([0f, 9f], obs, new float[2], new bool[2], new float[4]));
    }

    /// <summary>Records the seed of every reset; its observation is the seed of the running episode.</summary>
    private sealed class SeedRecorder(int horizon) : IEnvironment
    {
        private int _steps;
        public List<int> Seeds { get; } = [];
        public Space ObservationSpace { get; } = new BoxSpace([float.NegativeInfinity], [float.PositiveInfinity]);
        public Space ActionSpace { get; } = new DiscreteSpace(1);
        public int MaxEpisodeSteps => horizon;

        public void Reset(int seed, Span<float> observation)
        {
            Seeds.Add(seed);
            _steps = 0;
            observation[0] = seed;
        }

        public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
        {
            nextObservation[0] = Seeds[^1];
            _steps++;
            return new StepResult(0f, false, _steps >= horizon, false);
        }
    }
}
