namespace Dicp.Environments;

/// <summary>Dark Key-to-Door: in a dark 9 × 9 room, reach an unseen key, then an unseen door.</summary>
/// <remarks>
/// <para>The agent starts at the centre (4, 4) and observes only its own cell (x, y) (not whether it holds the key).
/// Actions are 0: x+1, 1: x−1, 2: y+1, 3: y−1, 4: stay, clipped to the grid. After moving: if the agent does not
/// hold the key and is on the key cell, it picks the key up and gets reward 1; otherwise, if it holds the key, has
/// not opened the door yet and is on the door cell, the door opens and it gets reward 1; every other step gives 0.
/// Both rewards are earned once per episode, and never on the same step (when key and door share a cell the door
/// reward comes on the next step spent there). The episode never terminates; it is truncated after
/// <see cref="MaxEpisodeSteps"/> steps (50 by default). <see cref="StepResult.Success"/> is true from the step the door
/// opens on. Deterministic: the reset seed is ignored.</para>
/// <para>The maximum return is 2 (any key and door are at most 24 moves apart from the centre via the key). The optimal
/// action moves along x first, then y, toward the key while it is not held, then toward the door, and stays (4) once
/// the door is open or on the current target.</para>
/// </remarks>
public sealed class DarkKeyToDoor : IEnvironment, IHasOptimalAction, IHasMaxReturn, IGridEnvironment
{
    private int _x, _y, _steps;
    private bool _running, _hasKey, _doorOpen;

    /// <summary>Creates the room with the key at (<paramref name="keyX"/>, <paramref name="keyY"/>) and the door at (<paramref name="doorX"/>, <paramref name="doorY"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A cell is outside the grid or the horizon is not positive.</exception>
    public DarkKeyToDoor(int keyX, int keyY, int doorX, int doorY, int horizon = 50)
    {
        GridWorld.CheckCell(keyX, keyY, "key");
        GridWorld.CheckCell(doorX, doorY, "door");
        GridWorld.CheckHorizon(horizon);
        (KeyX, KeyY, DoorX, DoorY, MaxEpisodeSteps) = (keyX, keyY, doorX, doorY, horizon);
        _x = _y = GridWorld.Centre;
    }

    /// <summary>The key's x coordinate.</summary>
    public int KeyX { get; }

    /// <summary>The key's y coordinate.</summary>
    public int KeyY { get; }

    /// <summary>The door's x coordinate.</summary>
    public int DoorX { get; }

    /// <summary>The door's y coordinate.</summary>
    public int DoorY { get; }

    /// <summary>The agent's x coordinate.</summary>
    public int X => _x;

    /// <summary>The agent's y coordinate.</summary>
    public int Y => _y;

    /// <summary>The steps taken in the current episode.</summary>
    public int StepCount => _steps;

    /// <summary>Whether the agent has picked up the key in this episode.</summary>
    public bool HasKey => _hasKey;

    /// <summary>Whether the agent has opened the door in this episode.</summary>
    public bool DoorOpen => _doorOpen;

    /// <inheritdoc/>
    public Space ObservationSpace => GridWorld.ObservationSpace;

    /// <inheritdoc/>
    public Space ActionSpace => GridWorld.ActionSpace;

    /// <inheritdoc/>
    public int MaxEpisodeSteps { get; }

    /// <inheritdoc/>
    public int StateIndex => GridWorld.StateIndex(_x, _y);

    /// <summary>2 (key and door), or less when the horizon is too short for the optimal path.</summary>
    public float MaxReturn
    {
        get
        {
            var toKey = Math.Abs(KeyX - GridWorld.Centre) + Math.Abs(KeyY - GridWorld.Centre);
            var toDoor = Math.Max(1, Math.Abs(DoorX - KeyX) + Math.Abs(DoorY - KeyY)); // a shared cell costs one stay
            var keyStep = Math.Max(1, toKey);
            return keyStep > MaxEpisodeSteps ? 0f : keyStep + toDoor > MaxEpisodeSteps ? 1f : 2f;
        }
    }

    /// <inheritdoc/>
    public int OptimalAction() =>
        _hasKey ? (_doorOpen ? 4 : GridWorld.Toward(_x, _y, DoorX, DoorY)) : GridWorld.Toward(_x, _y, KeyX, KeyY);

    /// <inheritdoc/>
    public void Reset(int seed, Span<float> observation)
    {
        GridWorld.CheckObservationBuffer(observation);
        _x = _y = GridWorld.Centre;
        _steps = 0;
        _hasKey = _doorOpen = false;
        _running = true;
        GridWorld.WriteObservation(observation, _x, _y);
    }

    /// <inheritdoc/>
    public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
    {
        var a = GridWorld.ActionSpace.ToIndex(action);
        GridWorld.CheckObservationBuffer(nextObservation);
        GridWorld.CheckRunning(_running, _steps, MaxEpisodeSteps, nameof(DarkKeyToDoor));
        GridWorld.Move(a, ref _x, ref _y);
        _steps++;
        var reward = 0f;
        if (!_hasKey && _x == KeyX && _y == KeyY)
        {
            _hasKey = true;
            reward = 1f;
        }
        else if (_hasKey && !_doorOpen && _x == DoorX && _y == DoorY)
        {
            _doorOpen = true;
            reward = 1f;
        }
        var truncated = _steps >= MaxEpisodeSteps;
        if (truncated) _running = false;
        GridWorld.WriteObservation(nextObservation, _x, _y);
        return new StepResult(reward, false, truncated, _doorOpen);
    }

    /// <inheritdoc/>
    public override string ToString() => $"DarkKeyToDoor(key=({KeyX}, {KeyY}), door=({DoorX}, {DoorY}), horizon={MaxEpisodeSteps})";
}
