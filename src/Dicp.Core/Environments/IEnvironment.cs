namespace Dicp.Environments;

/// <summary>What one environment step produced.</summary>
/// <param name="Reward">The reward of the transition.</param>
/// <param name="Terminated">The episode reached a terminal state of the task.</param>
/// <param name="Truncated">The episode was cut off by the horizon (<see cref="IEnvironment.MaxEpisodeSteps"/>).</param>
/// <param name="Success">The task's success criterion holds after this step (false where the task defines none).</param>
public readonly record struct StepResult(float Reward, bool Terminated, bool Truncated, bool Success)
{
    /// <summary>The episode is over (<see cref="Terminated"/> or <see cref="Truncated"/>).</summary>
    public bool Done => Terminated || Truncated;
}

/// <summary>
/// A reinforcement-learning environment with float-vector observations and actions, written into caller-provided
/// buffers so that stepping allocates nothing.
/// </summary>
/// <remarks>
/// A discrete action is one float holding the integer index. Implementations throw <see cref="ArgumentException"/>
/// for invalid actions (wrong length, NaN, a discrete index out of range) and for buffers of the wrong length.
/// <see cref="EnvironmentChecker"/> verifies the contract.
/// </remarks>
public interface IEnvironment
{
    /// <summary>The space every observation belongs to.</summary>
    Space ObservationSpace { get; }

    /// <summary>The space of valid actions.</summary>
    Space ActionSpace { get; }

    /// <summary>The horizon: the step that returns <see cref="StepResult.Truncated"/> (unless the episode terminated earlier).</summary>
    int MaxEpisodeSteps { get; }

    /// <summary>Starts a new episode and writes its first observation into <paramref name="observation"/>.</summary>
    /// <param name="seed">Seeds any randomness of the episode (deterministic environments ignore it).</param>
    /// <param name="observation">Receives the first observation (<c>ObservationSpace.Size</c> floats).</param>
    void Reset(int seed, Span<float> observation);

    /// <summary>Applies <paramref name="action"/> and writes the resulting observation into <paramref name="nextObservation"/>.</summary>
    /// <exception cref="ArgumentException">The action is invalid or a buffer has the wrong length.</exception>
    /// <exception cref="InvalidOperationException">No episode is running (before the first reset or after it ended).</exception>
    StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation);
}

/// <summary>An environment that can tell the optimal action in its current state (the labels of DPT).</summary>
public interface IHasOptimalAction
{
    /// <summary>The optimal discrete action in the current state.</summary>
    int OptimalAction();
}

/// <summary>An environment that knows the best achievable return of one episode.</summary>
public interface IHasMaxReturn
{
    /// <summary>The maximum undiscounted return of an episode.</summary>
    float MaxReturn { get; }
}

/// <summary>A 9 × 9 grid world whose state is the agent's cell.</summary>
public interface IGridEnvironment
{
    /// <summary>The current cell as a class index <c>x * 9 + y</c> (81 classes).</summary>
    int StateIndex { get; }
}

/// <summary>Size helpers for <see cref="IEnvironment"/>.</summary>
public static class EnvironmentExtensions
{
    /// <summary>Size helpers for an environment.</summary>
    /// <param name="environment">The environment.</param>
    extension(IEnvironment environment)
    {
        /// <summary>The number of floats in one observation.</summary>
        public int ObservationSize => environment.ObservationSpace.Size;

        /// <summary>The number of floats in one action (1 for a discrete action space).</summary>
        public int ActionSize => environment.ActionSpace.Size;
    }
}
