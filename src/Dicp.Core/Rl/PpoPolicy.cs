using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Rl;

/// <summary>
/// PPO's actor-critic: separate policy (<c>policy.*</c>) and value (<c>value.*</c>) <see cref="TanhMlp"/>s and, for
/// continuous actions, a state-independent log-std (<c>log_std</c>).
/// </summary>
public sealed class PpoPolicy : Module
{
    /// <summary>Creates the networks for <paramref name="observationSize"/> inputs.</summary>
    /// <param name="observationSize">Floats per observation.</param>
    /// <param name="actionDims">Discrete: the number of actions (logits); continuous: the action dimension (means).</param>
    /// <param name="continuous">Whether the policy is a diagonal Gaussian (else categorical).</param>
    /// <param name="options">Network sizes and initial log-std.</param>
    /// <param name="generator">Source of the initial weights.</param>
    public PpoPolicy(int observationSize, int actionDims, bool continuous, PpoOptions options, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(generator);
        Continuous = continuous;
        ActionDims = actionDims;
        var sqrt2 = MathF.Sqrt(2f);
        Policy = RegisterModule("policy", new TanhMlp(observationSize, options.HiddenSize, options.HiddenLayers, actionDims, sqrt2, 0.01f, generator));
        Value = RegisterModule("value", new TanhMlp(observationSize, options.HiddenSize, options.HiddenLayers, 1, sqrt2, 1f, generator));
        if (continuous)
        {
            LogStd = RegisterParameter("log_std", new Parameter(actionDims));
            Init.Constant(LogStd, options.InitialLogStd);
        }
    }

    /// <summary>Whether the policy is a diagonal Gaussian.</summary>
    public bool Continuous { get; }

    /// <summary>Logits (discrete) or means (continuous) per observation.</summary>
    public int ActionDims { get; }

    /// <summary>The policy network: observation → logits or means.</summary>
    public TanhMlp Policy { get; }

    /// <summary>The value network: observation → V(s).</summary>
    public TanhMlp Value { get; }

    /// <summary>The log standard deviations (continuous only).</summary>
    public Parameter? LogStd { get; }
}
