using Dicp.Environments;
using Dicp.Tensors;

namespace Dicp.Core.Tests.Rl;

/// <summary>A one-step two-armed bandit: arm 1 pays 1, arm 0 pays 0.</summary>
internal sealed class TwoArmedBandit : IEnvironment
{
    public Space ObservationSpace { get; } = new BoxSpace([0f], [1f]);
    public Space ActionSpace { get; } = new DiscreteSpace(2);
    public int MaxEpisodeSteps => 1;

    public void Reset(int seed, Span<float> observation) => observation[0] = 0f;

    public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
    {
        var a = ((DiscreteSpace)ActionSpace).ToIndex(action);
        nextObservation[0] = 1f;
        return new StepResult(a == 1 ? 1f : 0f, false, true, a == 1);
    }
}

/// <summary>A one-step continuous task: reward −(a − 0.5)² for a ∈ [−1, 1].</summary>
internal sealed class QuadraticTarget : IEnvironment
{
    public Space ObservationSpace { get; } = new BoxSpace([0f], [1f]);
    public Space ActionSpace { get; } = new BoxSpace([-1f], [1f]);
    public int MaxEpisodeSteps => 1;

    public void Reset(int seed, Span<float> observation) => observation[0] = 0f;

    public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
    {
        nextObservation[0] = 1f;
        var d = action[0] - 0.5f;
        return new StepResult(-d * d, false, true, false);
    }
}
