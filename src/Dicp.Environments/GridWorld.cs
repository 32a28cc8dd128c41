namespace Dicp.Environments;

/// <summary>Constants and helpers shared by the 9 × 9 grid worlds (<see cref="Darkroom"/>, <see cref="DarkroomPermuted"/>, <see cref="DarkKeyToDoor"/>).</summary>
/// <remarks>
/// A state is the agent's cell (x, y), observed as two floats; its class index is <c>x * 9 + y</c>. Actions:
/// 0: x+1, 1: x−1, 2: y+1, 3: y−1, 4: stay; moves are clipped to the grid.
/// </remarks>
public static class GridWorld
{
    /// <summary>The side of the grid.</summary>
    public const int Size = 9;

    /// <summary>The number of cells (state classes).</summary>
    public const int StateCount = Size * Size;

    /// <summary>The number of actions.</summary>
    public const int ActionCount = 5;

    /// <summary>The centre coordinate (4).</summary>
    public const int Centre = Size / 2;

    /// <summary>The observation space: cells (x, y) with coordinates in [0, 8].</summary>
    public static BoxSpace ObservationSpace { get; } = new([0f, 0f], [Size - 1, Size - 1]);

    /// <summary>The action space: <c>Discrete(5)</c>.</summary>
    public static DiscreteSpace ActionSpace { get; } = new(ActionCount);

    /// <summary>The class index <c>x * 9 + y</c> of a cell.</summary>
    public static int StateIndex(int x, int y) => x * Size + y;

    /// <summary>Applies <paramref name="action"/> (0–4) to the cell, clipped to the grid.</summary>
    public static void Move(int action, ref int x, ref int y)
    {
        switch (action)
        {
            case 0: x = Math.Min(x + 1, Size - 1); break;
            case 1: x = Math.Max(x - 1, 0); break;
            case 2: y = Math.Min(y + 1, Size - 1); break;
            case 3: y = Math.Max(y - 1, 0); break;
            case 4: break;
            default: throw new ArgumentOutOfRangeException(nameof(action), $"Grid actions are 0 to 4, got {action}.");
        }
    }

    /// <summary>The greedy action toward a target: along x first, then y, and 4 (stay) on it.</summary>
    public static int Toward(int x, int y, int targetX, int targetY) =>
        x < targetX ? 0 : x > targetX ? 1 : y < targetY ? 2 : y > targetY ? 3 : 4;

    internal static void CheckCell(int x, int y, string what)
    {
        if ((uint)x >= Size || (uint)y >= Size)
            throw new ArgumentOutOfRangeException(what, $"The {what} cell ({x}, {y}) is outside the 9 × 9 grid.");
    }

    internal static void CheckHorizon(int horizon)
    {
        if (horizon <= 0) throw new ArgumentOutOfRangeException(nameof(horizon), $"The horizon must be positive, got {horizon}.");
    }

    internal static void WriteObservation(Span<float> observation, int x, int y)
    {
        observation[0] = x;
        observation[1] = y;
    }

    internal static void CheckObservationBuffer(Span<float> observation)
    {
        if (observation.Length != 2)
            throw new ArgumentException($"A grid observation is 2 floats (x, y), got a buffer of {observation.Length}.", nameof(observation));
    }

    internal static void CheckRunning(bool running, int steps, int horizon, string env)
    {
        if (!running)
            throw new InvalidOperationException(steps >= horizon
                ? $"The {env} episode ended at the horizon ({horizon} steps); call Reset."
                : $"Call Reset before stepping the {env} environment.");
    }
}
