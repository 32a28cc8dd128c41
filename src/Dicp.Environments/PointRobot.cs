namespace Dicp.Environments;

/// <summary>Point robot: steer a 2-D point to an unseen goal on the upper half of the unit circle.</summary>
/// <remarks>
/// <para>The point starts at (0, 0) and observes its position (x, y). An action is a 2-D float vector; each component
/// is clipped to [−1, 1] and the position moves by 0.1 × the clipped action (in float arithmetic). After moving, the
/// dense reward is <c>−‖position − goal‖₂</c>; <see cref="StepResult.Success"/> is true on the steps that end within
/// <see cref="SuccessRadius"/> (0.1) of the goal (distance ≤ 0.1). The episode never terminates; it is truncated
/// after <see cref="MaxEpisodeSteps"/> steps (20 by default). A NaN component is rejected; infinite components are
/// clipped. Deterministic: the reset seed is ignored.</para>
/// <para>The observation space is unbounded (every finite position is valid), though after <c>T</c> steps each
/// coordinate lies within ±0.1·T.</para>
/// </remarks>
public sealed class PointRobot : IEnvironment
{
    /// <summary>The displacement of a unit action.</summary>
    public const float StepScale = 0.1f;

    /// <summary>The success radius around the goal.</summary>
    public const float SuccessRadius = 0.1f;

    private static readonly BoxSpace ObsSpace = new([float.NegativeInfinity, float.NegativeInfinity], [float.PositiveInfinity, float.PositiveInfinity]);
    private static readonly BoxSpace ActSpace = new([-1f, -1f], [1f, 1f]);

    private float _x, _y;
    private int _steps;
    private bool _running;

    /// <summary>Creates the task with its goal at (<paramref name="goalX"/>, <paramref name="goalY"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The goal is not finite or the horizon is not positive.</exception>
    public PointRobot(float goalX, float goalY, int horizon = 20)
    {
        if (!float.IsFinite(goalX) || !float.IsFinite(goalY))
            throw new ArgumentOutOfRangeException(nameof(goalX), $"The goal ({goalX}, {goalY}) must be finite.");
        if (horizon <= 0) throw new ArgumentOutOfRangeException(nameof(horizon), $"The horizon must be positive, got {horizon}.");
        (GoalX, GoalY, MaxEpisodeSteps) = (goalX, goalY, horizon);
    }

    /// <summary>The goal's x coordinate.</summary>
    public float GoalX { get; }

    /// <summary>The goal's y coordinate.</summary>
    public float GoalY { get; }

    /// <summary>The point's x coordinate.</summary>
    public float X => _x;

    /// <summary>The point's y coordinate.</summary>
    public float Y => _y;

    /// <summary>The steps taken in the current episode.</summary>
    public int StepCount => _steps;

    /// <summary>Unbounded 2-D box (positions).</summary>
    public Space ObservationSpace => ObsSpace;

    /// <summary>The box [−1, 1]² (larger actions are clipped, not rejected).</summary>
    public Space ActionSpace => ActSpace;

    /// <inheritdoc/>
    public int MaxEpisodeSteps { get; }

    /// <inheritdoc/>
    public void Reset(int seed, Span<float> observation)
    {
        CheckObservation(observation);
        _x = _y = 0f;
        _steps = 0;
        _running = true;
        observation[0] = _x;
        observation[1] = _y;
    }

    /// <inheritdoc/>
    public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
    {
        if (action.Length != 2)
            throw new ArgumentException($"A PointRobot action is 2 floats, got {action.Length}.", nameof(action));
        if (float.IsNaN(action[0]) || float.IsNaN(action[1]))
            throw new ArgumentException("A PointRobot action must not contain NaN.", nameof(action));
        CheckObservation(nextObservation);
        if (!_running)
            throw new InvalidOperationException(_steps >= MaxEpisodeSteps
                ? $"The PointRobot episode ended at the horizon ({MaxEpisodeSteps} steps); call Reset."
                : "Call Reset before stepping the PointRobot environment.");
        _x += StepScale * Math.Clamp(action[0], -1f, 1f);
        _y += StepScale * Math.Clamp(action[1], -1f, 1f);
        _steps++;
        float dx = _x - GoalX, dy = _y - GoalY;
        var distance = MathF.Sqrt(dx * dx + dy * dy);
        var truncated = _steps >= MaxEpisodeSteps;
        if (truncated) _running = false;
        nextObservation[0] = _x;
        nextObservation[1] = _y;
        return new StepResult(-distance, false, truncated, distance <= SuccessRadius);
    }

    /// <inheritdoc/>
    public override string ToString() => $"PointRobot(goal=({GoalX}, {GoalY}), horizon={MaxEpisodeSteps})";

    private static void CheckObservation(Span<float> observation)
    {
        if (observation.Length != 2)
            throw new ArgumentException($"A PointRobot observation is 2 floats (x, y), got a buffer of {observation.Length}.", nameof(observation));
    }
}
