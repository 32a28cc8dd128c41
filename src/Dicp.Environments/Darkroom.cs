namespace Dicp.Environments;

/// <summary>Darkroom: find an unseen goal cell in a dark 9 × 9 room.</summary>
/// <remarks>
/// <para>The agent starts at the centre (4, 4) and observes only its own cell (x, y). Actions are 0: x+1, 1: x−1,
/// 2: y+1, 3: y−1, 4: stay, clipped to the grid. After moving, the reward is 1 if the agent is on the goal and 0
/// otherwise, so it is earned on every step spent on the goal (also when staying there). The episode never
/// terminates; it is truncated after <see cref="MaxEpisodeSteps"/> steps (20 by default). <see cref="StepResult.Success"/>
/// is true on the steps that end on the goal. Deterministic: the reset seed is ignored.</para>
/// <para>The maximum return is <c>clip(horizon + 1 − |goal − centre|₁, 0, horizon)</c>; the optimal action moves along
/// x first, then y, and stays on the goal.</para>
/// </remarks>
public sealed class Darkroom : IEnvironment, IHasOptimalAction, IHasMaxReturn, IGridEnvironment
{
    private int _x, _y, _steps;
    private bool _running;

    /// <summary>Creates the room with its goal at (<paramref name="goalX"/>, <paramref name="goalY"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The goal is outside the grid or the horizon is not positive.</exception>
    public Darkroom(int goalX, int goalY, int horizon = 20)
    {
        GridWorld.CheckCell(goalX, goalY, "goal");
        GridWorld.CheckHorizon(horizon);
        (GoalX, GoalY, MaxEpisodeSteps) = (goalX, goalY, horizon);
        _x = _y = GridWorld.Centre;
    }

    /// <summary>The goal's x coordinate.</summary>
    public int GoalX { get; }

    /// <summary>The goal's y coordinate.</summary>
    public int GoalY { get; }

    /// <summary>The agent's x coordinate.</summary>
    public int X => _x;

    /// <summary>The agent's y coordinate.</summary>
    public int Y => _y;

    /// <summary>The steps taken in the current episode.</summary>
    public int StepCount => _steps;

    /// <inheritdoc/>
    public Space ObservationSpace => GridWorld.ObservationSpace;

    /// <inheritdoc/>
    public Space ActionSpace => GridWorld.ActionSpace;

    /// <inheritdoc/>
    public int MaxEpisodeSteps { get; }

    /// <inheritdoc/>
    public int StateIndex => GridWorld.StateIndex(_x, _y);

    /// <summary><c>clip(horizon + 1 − |goal − centre|₁, 0, horizon)</c>.</summary>
    public float MaxReturn
    {
        get
        {
            var distance = Math.Abs(GoalX - GridWorld.Centre) + Math.Abs(GoalY - GridWorld.Centre);
            return Math.Clamp(MaxEpisodeSteps + 1 - distance, 0, MaxEpisodeSteps);
        }
    }

    /// <inheritdoc/>
    public int OptimalAction() => GridWorld.Toward(_x, _y, GoalX, GoalY);

    /// <inheritdoc/>
    public void Reset(int seed, Span<float> observation)
    {
        GridWorld.CheckObservationBuffer(observation);
        _x = _y = GridWorld.Centre;
        _steps = 0;
        _running = true;
        GridWorld.WriteObservation(observation, _x, _y);
    }

    /// <inheritdoc/>
    public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
    {
        var a = GridWorld.ActionSpace.ToIndex(action);
        GridWorld.CheckObservationBuffer(nextObservation);
        GridWorld.CheckRunning(_running, _steps, MaxEpisodeSteps, nameof(Darkroom));
        GridWorld.Move(a, ref _x, ref _y);
        _steps++;
        var onGoal = _x == GoalX && _y == GoalY;
        var truncated = _steps >= MaxEpisodeSteps;
        if (truncated) _running = false;
        GridWorld.WriteObservation(nextObservation, _x, _y);
        return new StepResult(onGoal ? 1f : 0f, false, truncated, onGoal);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Darkroom(goal=({GoalX}, {GoalY}), horizon={MaxEpisodeSteps})";
}
