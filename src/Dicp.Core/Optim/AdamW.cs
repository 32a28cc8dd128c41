using Dicp.Kernels;
using Dicp.Tensors;

namespace Dicp.Optim;

/// <summary>Options of <see cref="AdamW"/> and <see cref="Adam"/>; defaults are the reference's AdamW settings.</summary>
/// <param name="LearningRate">Step size α (reference: 1e-2 or 1e-3 per model).</param>
/// <param name="Beta1">First-moment decay (0.9).</param>
/// <param name="Beta2">Second-moment decay (reference: 0.99).</param>
/// <param name="Eps">Denominator ε (1e-8).</param>
/// <param name="WeightDecay">AdamW: decoupled decay (reference 0.01); Adam: L2 term added to the gradient.</param>
public sealed record AdamOptions(float LearningRate = 1e-3f, float Beta1 = 0.9f, float Beta2 = 0.99f, float Eps = 1e-8f, float WeightDecay = 0.01f);

/// <summary>Adam with decoupled weight decay, with PyTorch's update order.</summary>
/// <remarks>
/// For step t: p ← p·(1 − α·λ); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
/// p ← p − (α / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
/// </remarks>
public class AdamW : Optimizer
{
    private readonly float[][] _m, _v;

    /// <summary>Creates the optimizer.</summary>
    public AdamW(IEnumerable<Tensor> parameters, AdamOptions? options = null) : this(parameters, options ?? new AdamOptions(), decoupled: true) { }

    /// <summary>Shared constructor for AdamW (decoupled decay) and Adam (L2).</summary>
    protected AdamW(IEnumerable<Tensor> parameters, AdamOptions options, bool decoupled) : base(parameters, options.LearningRate)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.Beta1 is >= 0f and < 1f)) throw new ArgumentOutOfRangeException(nameof(options), $"Beta1 must be in [0, 1), got {options.Beta1}.");
        if (!(options.Beta2 is >= 0f and < 1f)) throw new ArgumentOutOfRangeException(nameof(options), $"Beta2 must be in [0, 1), got {options.Beta2}.");
        if (!(options.Eps >= 0f)) throw new ArgumentOutOfRangeException(nameof(options), $"Eps must be ≥ 0, got {options.Eps}.");
        if (!(options.WeightDecay >= 0f)) throw new ArgumentOutOfRangeException(nameof(options), $"WeightDecay must be ≥ 0, got {options.WeightDecay}.");
        Options = options;
        Decoupled = decoupled;
        _m = Params.Select(p => new float[p.Size]).ToArray();
        _v = Params.Select(p => new float[p.Size]).ToArray();
    }

    /// <summary>The options (the learning rate is <see cref="Optimizer.LearningRate"/>, which schedules change).</summary>
    public AdamOptions Options { get; }

    /// <summary>True for AdamW's decoupled decay, false for Adam's L2 term.</summary>
    protected bool Decoupled { get; }

    /// <inheritdoc/>
    public override void Step()
    {
        StepCount++;
        var (b1, b2, eps, wd, lr) = (Options.Beta1, Options.Beta2, Options.Eps, Options.WeightDecay, LearningRate);
        var bc1 = 1.0 - Math.Pow(b1, StepCount);
        var bc2Sqrt = (float)Math.Sqrt(1.0 - Math.Pow(b2, StepCount));
        var stepSize = (float)(lr / bc1);
        ParallelLoop.For(0, Params.Length, new Update(Params, _m, _v, Decoupled, b1, b2, eps, wd, lr, bc2Sqrt, stepSize));
    }

    /// <summary>The update of parameter i (parameters are independent, so the split never changes results).</summary>
    private readonly record struct Update(Tensor[] Params, float[][] M, float[][] V, bool Decoupled,
        float B1, float B2, float Eps, float Wd, float Lr, float Bc2Sqrt, float StepSize) : IParallelBody
    {
        public void Run(int i)
        {
            var p = Params[i];
            if (p.Grad is null) return;
            var w = p.Span;
            var g = p.Grad.AsSpan(0, p.Size);
            var m = M[i];
            var v = V[i];
            float b1 = B1, b2 = B2, eps = Eps, wd = Wd, lr = Lr, bc2Sqrt = Bc2Sqrt, stepSize = StepSize;
            if (Decoupled && wd != 0f) TensorPrimitives.Multiply(w, 1f - lr * wd, w);
            for (var j = 0; j < w.Length; j++)
            {
                var gj = Decoupled || wd == 0f ? g[j] : g[j] + wd * w[j];
                m[j] = b1 * m[j] + (1f - b1) * gj;                      // PyTorch: m.lerp_(g, 1 − β₁)
                v[j] = b2 * v[j] + (1f - b2) * gj * gj;
                w[j] -= stepSize * m[j] / (MathF.Sqrt(v[j]) / bc2Sqrt + eps);
            }
        }
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, float[]> GetState()
    {
        var d = new OrderedDictionary<string, float[]>();
        for (var i = 0; i < Params.Length; i++) { d.Add($"{i}.exp_avg", _m[i]); d.Add($"{i}.exp_avg_sq", _v[i]); }
        return d;
    }

    /// <inheritdoc/>
    public override void SetState(IReadOnlyDictionary<string, float[]> state, long stepCount)
    {
        ArgumentNullException.ThrowIfNull(state);
        for (var i = 0; i < Params.Length; i++)
        {
            foreach (var (name, dst) in new[] { ($"{i}.exp_avg", _m[i]), ($"{i}.exp_avg_sq", _v[i]) })
            {
                if (!state.TryGetValue(name, out var src)) throw new ArgumentException($"Optimizer state lacks '{name}'.", nameof(state));
                if (src.Length != dst.Length) throw new ArgumentException($"Optimizer state '{name}' has {src.Length} values, parameter {i} has {dst.Length}.", nameof(state));
                src.CopyTo(dst, 0);
            }
        }
        StepCount = stepCount;
    }
}

/// <summary>Adam with (coupled) L2 weight decay, as PyTorch's <c>torch.optim.Adam</c>: g ← g + λ·p before the moments.</summary>
public sealed class Adam : AdamW
{
    /// <summary>Creates the optimizer (default weight decay 0).</summary>
    public Adam(IEnumerable<Tensor> parameters, AdamOptions? options = null)
        : base(parameters, options ?? new AdamOptions(WeightDecay: 0f), decoupled: false) { }
}
