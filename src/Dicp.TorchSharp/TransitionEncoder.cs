using Dicp.Models;

namespace Dicp.TorchSharp;

/// <summary>Dicp's token features on the CPU: a transition is <c>[s (O), a (one-hot or A floats), r, s' (O)]</c>; grid cells <c>x·side + y</c>.</summary>
internal sealed class TransitionEncoder
{
    public TransitionEncoder(ModelConfig config)
    {
        Config = config;
        IsGrid = config.StateClasses > 0;
        GridSide = IsGrid ? (int)Math.Round(Math.Sqrt(config.StateClasses)) : 0;
        DiscreteActions = config.ActionCount > 0;
        ActionSize = DiscreteActions ? 1 : config.ActionSize;
        ActionFeatures = DiscreteActions ? config.ActionCount : config.ActionSize;
        TransitionFeatures = 2 * config.ObservationSize + ActionFeatures + 1;
        PolicySize = DiscreteActions ? config.ActionCount : 2 * config.ActionSize;
    }

    public ModelConfig Config { get; }

    public bool IsGrid { get; }

    public int GridSide { get; }

    public bool DiscreteActions { get; }

    /// <summary>A: floats per action in buffers (1 for discrete actions).</summary>
    public int ActionSize { get; }

    public int ActionFeatures { get; }

    public int TransitionFeatures { get; }

    /// <summary>P: logits, or mean then log-variance.</summary>
    public int PolicySize { get; }

    public void Encode(string model, ReadOnlySpan<float> state, ReadOnlySpan<float> action, float reward, ReadOnlySpan<float> nextState, Span<float> destination)
    {
        int o = Config.ObservationSize, af = ActionFeatures;
        state[..o].CopyTo(destination);
        var a = destination.Slice(o, af);
        if (DiscreteActions)
        {
            a.Clear();
            a[ActionIndex(model, action[0])] = 1f;
        }
        else action[..af].CopyTo(a);
        destination[o + af] = reward;
        nextState[..o].CopyTo(destination.Slice(o + af + 1, o));
    }

    public int ActionIndex(string model, float action) => ModelSupport.ActionIndex(model, Config.ActionCount, action);

    public int CellIndex(string model, ReadOnlySpan<float> state) => ModelSupport.CellIndex(model, GridSide, state);

    public int RewardClass(string model, float reward) => ModelSupport.RewardClass(model, Config.RewardClasses, reward, "reward head");
}
