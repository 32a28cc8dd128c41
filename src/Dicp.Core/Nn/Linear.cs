using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>Fully connected layer <c>y = x·Wᵀ + b</c> (PyTorch's <c>nn.Linear</c>; keys <c>weight</c>, <c>bias</c>).</summary>
/// <remarks>x (…, in) → (…, out); weight (out, in), bias (out). Initialised as PyTorch: U(±1/√in) for both.</remarks>
public sealed class Linear : Module
{
    /// <summary>Creates the layer, drawing its initial values from <paramref name="generator"/>.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias, Generator generator)
    {
        if (inFeatures <= 0 || outFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear needs positive sizes, got {inFeatures} → {outFeatures}.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", new Parameter(outFeatures, inFeatures));
        Init.LinearDefault(Weight, inFeatures, generator);
        if (bias)
        {
            Bias = RegisterParameter("bias", new Parameter(outFeatures));
            Init.LinearDefault(Bias, inFeatures, generator);
        }
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>Weight (out, in).</summary>
    public Parameter Weight { get; }

    /// <summary>Bias (out), or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>Applies the layer.</summary>
    public Tensor Forward(Tensor x) => Ops.Linear(x, Weight, Bias);
}
