using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Rl;

/// <summary>
/// A multilayer perceptron with tanh hidden activations and a linear output, initialised as Stable-Baselines3 does
/// for PPO: orthogonal weights (gain √2 in the reference for hidden layers, 0.01 (policy) or 1 (value)
/// for the output layer) and zero biases. Parameter keys: <c>{i}.weight</c>, <c>{i}.bias</c> for layer i.
/// </summary>
public sealed class TanhMlp : Module
{
    private readonly Linear[] _layers;

    /// <summary>Creates the network, drawing its initial weights from <paramref name="generator"/>.</summary>
    /// <param name="inputs">Input features.</param>
    /// <param name="hidden">Hidden width.</param>
    /// <param name="hiddenLayers">Number of hidden layers (0 for a linear map).</param>
    /// <param name="outputs">Output features.</param>
    /// <param name="hiddenGain">Orthogonal gain of the hidden layers (√2 in the reference).</param>
    /// <param name="outputGain">Orthogonal gain of the output layer (0.01 policy, 1 value).</param>
    /// <param name="generator">The source of the initial weights.</param>
    public TanhMlp(int inputs, int hidden, int hiddenLayers, int outputs, float hiddenGain, float outputGain, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegative(hiddenLayers);
        _layers = new Linear[hiddenLayers + 1];
        var fanIn = inputs;
        for (var i = 0; i <= hiddenLayers; i++)
        {
            var last = i == hiddenLayers;
            var layer = new Linear(fanIn, last ? outputs : hidden, bias: true, generator);
            Init.Orthogonal(layer.Weight, generator, last ? outputGain : hiddenGain);
            Init.Constant(layer.Bias!, 0f);
            _layers[i] = RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
            fanIn = hidden;
        }
    }

    /// <summary>Output features.</summary>
    public int Outputs => _layers[^1].OutFeatures;

    /// <summary>Applies the network: x (…, inputs) → (…, outputs).</summary>
    public Tensor Forward(Tensor x)
    {
        for (var i = 0; i < _layers.Length - 1; i++) x = Ops.Tanh(_layers[i].Forward(x));
        return _layers[^1].Forward(x);
    }
}
