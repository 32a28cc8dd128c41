namespace Dicp.Environments;

/// <summary>Darkroom-Permuted: the Darkroom whose five actions are secretly permuted; the task is the permutation.</summary>
/// <remarks>
/// <para>The agent starts at (0, 0); the goal is fixed at (8, 8). The agent's action <c>a</c> runs as the grid action
/// <c>perm[a]</c> (grid actions: 0: x+1, 1: x−1, 2: y+1, 3: y−1, 4: stay, clipped to the grid). After moving, the
/// reward is 1 if the agent is on the goal, else 0. The episode never terminates; it is truncated after
/// <see cref="MaxEpisodeSteps"/> steps (50 by default). <see cref="StepResult.Success"/> is true on the steps that
/// end on the goal. Deterministic: the reset seed is ignored.</para>
/// <para>The goal is 16 moves away, so the maximum return is <c>clip(horizon + 1 − 16, 0, horizon)</c> (35 for
/// horizon 50). The optimal action is the agent action that runs as the greedy grid action (x first, then y, stay on
/// the goal).</para>
/// </remarks>
public sealed class DarkroomPermuted : IEnvironment, IHasOptimalAction, IHasMaxReturn, IGridEnvironment
{
    /// <summary>The goal's coordinates (both 8).</summary>
    public const int Goal = GridWorld.Size - 1;

    private readonly int[] _perm = new int[GridWorld.ActionCount];
    private readonly int[] _inverse = new int[GridWorld.ActionCount];
    private int _x, _y, _steps;
    private bool _running;

    /// <summary>Creates the room in which agent action <c>a</c> runs as grid action <c>permutation[a]</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="permutation"/> is not a permutation of 0–4.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The horizon is not positive.</exception>
    public DarkroomPermuted(ReadOnlySpan<int> permutation, int horizon = 50)
    {
        if (permutation.Length != GridWorld.ActionCount)
            throw new ArgumentException($"The permutation must have {GridWorld.ActionCount} entries, got {permutation.Length}.", nameof(permutation));
        Array.Fill(_inverse, -1);
        for (var a = 0; a < permutation.Length; a++)
        {
            var p = permutation[a];
            if ((uint)p >= GridWorld.ActionCount || _inverse[p] >= 0)
                throw new ArgumentException($"[{string.Join(", ", permutation.ToArray())}] is not a permutation of 0–4.", nameof(permutation));
            _perm[a] = p;
            _inverse[p] = a;
        }
        GridWorld.CheckHorizon(horizon);
        MaxEpisodeSteps = horizon;
    }

    /// <summary>The permutation: agent action <c>a</c> runs as grid action <c>Permutation[a]</c>.</summary>
    public ReadOnlySpan<int> Permutation => _perm;

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

    /// <summary><c>clip(horizon + 1 − 16, 0, horizon)</c>: 35 for the default horizon of 50.</summary>
    public float MaxReturn => Math.Clamp(MaxEpisodeSteps + 1 - 2 * Goal, 0, MaxEpisodeSteps);

    /// <inheritdoc/>
    public int OptimalAction() => _inverse[GridWorld.Toward(_x, _y, Goal, Goal)];

    /// <inheritdoc/>
    public void Reset(int seed, Span<float> observation)
    {
        GridWorld.CheckObservationBuffer(observation);
        _x = _y = 0;
        _steps = 0;
        _running = true;
        GridWorld.WriteObservation(observation, _x, _y);
    }

    /// <inheritdoc/>
    public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
    {
        var a = GridWorld.ActionSpace.ToIndex(action);
        GridWorld.CheckObservationBuffer(nextObservation);
        GridWorld.CheckRunning(_running, _steps, MaxEpisodeSteps, nameof(DarkroomPermuted));
        GridWorld.Move(_perm[a], ref _x, ref _y);
        _steps++;
        var onGoal = _x == Goal && _y == Goal;
        var truncated = _steps >= MaxEpisodeSteps;
        if (truncated) _running = false;
        GridWorld.WriteObservation(nextObservation, _x, _y);
        return new StepResult(onGoal ? 1f : 0f, false, truncated, onGoal);
    }

    /// <inheritdoc/>
    public override string ToString() => $"DarkroomPermuted(perm=({string.Join(", ", _perm)}), horizon={MaxEpisodeSteps})";
}
