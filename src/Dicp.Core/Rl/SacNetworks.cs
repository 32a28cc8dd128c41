using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Rl;

/// <summary>
/// A multilayer perceptron with ReLU hidden activations and a linear output, PyTorch's default initialisation
/// (U(±1/√fan_in) weights and biases). Parameter keys: <c>{i}.weight</c>, <c>{i}.bias</c> for layer i.
/// </summary>
public sealed class ReluMlp : Module
{
    private readonly Linear[] _layers;

    /// <summary>Creates the network, drawing its initial weights from <paramref name="generator"/>.</summary>
    /// <param name="inputs">Input features.</param>
    /// <param name="hidden">Hidden width.</param>
    /// <param name="hiddenLayers">Number of hidden layers (0 for a linear map).</param>
    /// <param name="outputs">Output features.</param>
    /// <param name="generator">The source of the initial weights.</param>
    public ReluMlp(int inputs, int hidden, int hiddenLayers, int outputs, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegative(hiddenLayers);
        _layers = new Linear[hiddenLayers + 1];
        var fanIn = inputs;
        for (var i = 0; i <= hiddenLayers; i++)
        {
            var layer = new Linear(fanIn, i == hiddenLayers ? outputs : hidden, bias: true, generator);
            _layers[i] = RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
            fanIn = hidden;
        }
    }

    /// <summary>Output features.</summary>
    public int Outputs => _layers[^1].OutFeatures;

    /// <summary>Applies the network: x (…, inputs) → (…, outputs).</summary>
    public Tensor Forward(Tensor x)
    {
        for (var i = 0; i < _layers.Length - 1; i++) x = Ops.Relu(_layers[i].Forward(x));
        return _layers[^1].Forward(x);
    }
}

/// <summary>
/// SAC's tanh-squashed diagonal Gaussian policy: a ReLU trunk with a mean head and a log-std head
/// (keys <c>trunk.*</c>, <c>mean.*</c>, <c>log_std.*</c>).
/// </summary>
/// <remarks>
/// For observations s (B, O) and standard normal noise ε (B, A):
/// <c>h = trunk(s)</c>, <c>μ = mean(h)</c>, <c>log σ = clamp(log_std(h), lo, hi)</c> as Stable-Baselines3 (or, with
/// <see cref="SacOptions.SquashLogStd"/>, <c>lo + ½(hi − lo)(tanh(log_std(h)) + 1)</c>, bounded smoothly in [lo, hi]), <c>u = μ + σ·ε</c>, <c>a = tanh(u)</c> (B, A) and
/// <c>log π(a|s) = Σ_j [−½ε_j² − log σ_j − ½ log 2π − log(1 − a_j² + 10⁻⁶)]</c> (B, 1), the Gaussian density with the
/// change-of-variables correction of the tanh squashing.
/// </remarks>
public sealed class SacActor : Module
{
    private static readonly float HalfLog2Pi = 0.5f * MathF.Log(2f * MathF.PI);
    private readonly ReluMlp _trunk;
    private readonly Linear _mean, _logStd;
    private readonly float _lo, _hi;

    /// <summary>Creates the policy.</summary>
    /// <param name="observationSize">O.</param>
    /// <param name="actionDims">A.</param>
    /// <param name="options">Widths and log-std bounds.</param>
    /// <param name="generator">The source of the initial weights.</param>
    public SacActor(int observationSize, int actionDims, SacOptions options, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(options);
        ActionDims = actionDims;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.HiddenLayers);
        var width = options.HiddenSize;
        // The trunk's output layer is the last hidden layer (ReLU applied in Distribution).
        _trunk = RegisterModule("trunk", new ReluMlp(observationSize, width, options.HiddenLayers - 1, width, generator));
        _mean = RegisterModule("mean", new Linear(width, actionDims, bias: true, generator));
        _logStd = RegisterModule("log_std", new Linear(width, actionDims, bias: true, generator));
        (_lo, _hi, _squash) = (options.LogStdMin, options.LogStdMax, options.SquashLogStd);
    }

    private readonly bool _squash;

    /// <summary>A, the action dimensions.</summary>
    public int ActionDims { get; }

    /// <summary>The mean and bounded log-std of the pre-squash Gaussian: s (B, O) → ((B, A), (B, A)).</summary>
    public (Tensor Mean, Tensor LogStd) Distribution(Tensor observations)
    {
        var h = Ops.Relu(_trunk.Forward(observations)); // (B, H)
        var mean = _mean.Forward(h);
        var raw = _logStd.Forward(h);
        var logStd = _squash
            ? Ops.AddScalar(Ops.Scale(Ops.Tanh(raw), 0.5f * (_hi - _lo)), _lo + 0.5f * (_hi - _lo)) // smooth bound (CleanRL)
            : Ops.Clamp(raw, _lo, _hi); // hard clamp (Stable-Baselines3)
        return (mean, logStd);
    }

    /// <summary>A reparameterised sample and its log-probability (differentiable in the parameters).</summary>
    /// <param name="observations">s (B, O).</param>
    /// <param name="noise">ε (B, A), standard normal.</param>
    /// <returns>a = tanh(μ + σε) (B, A) and log π(a|s) (B, 1).</returns>
    public (Tensor Action, Tensor LogProb) Sample(Tensor observations, Tensor noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        var (mean, logStd) = Distribution(observations);
        var u = Ops.Add(mean, Ops.Mul(Ops.Exp(logStd), noise)); // (B, A)
        var a = Ops.Tanh(u);
        var correction = Ops.Log(Ops.AddScalar(Ops.Scale(Ops.Mul(a, a), -1f), 1f + 1e-6f)); // log(1 − a² + 1e-6)
        var perDim = Ops.Add(logStd, correction);
        var b = noise.Dim(0);
        var constant = new float[b];
        var e = noise.Span;
        for (var r = 0; r < b; r++)
        {
            var s = 0f;
            for (var j = 0; j < ActionDims; j++) s += e[r * ActionDims + j] * e[r * ActionDims + j];
            constant[r] = -0.5f * s - ActionDims * HalfLog2Pi;
        }
        var logProb = Ops.Add(Ops.Scale(Ops.Sum(perDim, 1, keepDim: true), -1f), Tensor.FromArray(constant, b, 1)); // (B, 1)
        return (a, logProb);
    }
}

/// <summary>SAC's twin Q-networks over <c>[s, a]</c> (keys <c>q1.*</c>, <c>q2.*</c>).</summary>
public sealed class SacCritic : Module
{
    /// <summary>Creates both critics.</summary>
    /// <param name="observationSize">O.</param>
    /// <param name="actionDims">A.</param>
    /// <param name="options">Widths.</param>
    /// <param name="generator">The source of the initial weights.</param>
    public SacCritic(int observationSize, int actionDims, SacOptions options, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(options);
        Q1 = RegisterModule("q1", new ReluMlp(observationSize + actionDims, options.HiddenSize, options.HiddenLayers, 1, generator));
        Q2 = RegisterModule("q2", new ReluMlp(observationSize + actionDims, options.HiddenSize, options.HiddenLayers, 1, generator));
    }

    /// <summary>The first critic.</summary>
    public ReluMlp Q1 { get; }

    /// <summary>The second critic.</summary>
    public ReluMlp Q2 { get; }

    /// <summary>Both Q-values: s (B, O), a (B, A) → ((B, 1), (B, 1)).</summary>
    public (Tensor Q1, Tensor Q2) Forward(Tensor observations, Tensor actions)
    {
        var x = Ops.Concat([observations, actions], 1); // (B, O + A)
        return (Q1.Forward(x), Q2.Forward(x));
    }
}
