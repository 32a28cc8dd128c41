namespace Dicp.Rl;

/// <summary>One lock-step environment step of all streams, as <see cref="LockstepRunner"/> hands it to observers.</summary>
/// <remarks>Spans are row-major over streams and valid only during the callback.</remarks>
public readonly ref struct Transition
{
    /// <summary>Creates the view.</summary>
    public Transition(int step, ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards,
        ReadOnlySpan<float> nextStates, ReadOnlySpan<bool> dones, ReadOnlySpan<int> optimalActions)
    {
        Step = step;
        States = states;
        Actions = actions;
        Rewards = rewards;
        NextStates = nextStates;
        Dones = dones;
        OptimalActions = optimalActions;
    }

    /// <summary>The 0-based step index within each stream.</summary>
    public int Step { get; }

    /// <summary>(streams, obs) the observations the actions were chosen in.</summary>
    public ReadOnlySpan<float> States { get; }

    /// <summary>(streams, act) the actions sent to the environments.</summary>
    public ReadOnlySpan<float> Actions { get; }

    /// <summary>(streams) the rewards.</summary>
    public ReadOnlySpan<float> Rewards { get; }

    /// <summary>(streams, obs) the true next observations (the terminal ones at episode ends, before any reset).</summary>
    public ReadOnlySpan<float> NextStates { get; }

    /// <summary>(streams) whether the stream's episode ended on this step.</summary>
    public ReadOnlySpan<bool> Dones { get; }

    /// <summary>(streams) the optimal action in <see cref="States"/>, or empty when the environment does not implement <c>IHasOptimalAction</c>.</summary>
    public ReadOnlySpan<int> OptimalActions { get; }
}

/// <summary>Receives every <see cref="Transition"/> of a <see cref="LockstepRunner"/> run.</summary>
/// <param name="transition">The step of all streams.</param>
public delegate void TransitionHandler(in Transition transition);
