using Dicp.Optim;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dicp.TorchSharp;

/// <summary>
/// AdamW on TorchSharp tensors with exactly the update of Dicp's <see cref="Dicp.Optim.AdamW"/> (PyTorch's order: decoupled decay
/// <c>p ← p·(1 − lr·λ)</c>, then the moments, then <c>p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)</c>), with its state
/// in Dicp's checkpoint layout (<c>{i}.exp_avg</c>, <c>{i}.exp_avg_sq</c>), so runs resume across backends.
/// </summary>
public sealed class TorchAdamW
{
    private readonly Parameter[] _params;
    private readonly Tensor[] _m, _v;

    /// <summary>Creates the optimizer over <paramref name="parameters"/> (order = state indices).</summary>
    public TorchAdamW(IEnumerable<Parameter> parameters, AdamOptions options)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(options);
        _params = [.. parameters];
        Options = options;
        LearningRate = options.LearningRate;
        _m = [.. _params.Select(p => zeros_like(p).requires_grad_(false))];
        _v = [.. _params.Select(p => zeros_like(p).requires_grad_(false))];
    }

    /// <summary>β₁, β₂, ε and the weight decay (the learning rate is <see cref="LearningRate"/>).</summary>
    public AdamOptions Options { get; }

    /// <summary>The learning rate of the next <see cref="Step"/> (schedules set it).</summary>
    public float LearningRate { get; set; }

    /// <summary>The number of steps taken.</summary>
    public long StepCount { get; private set; }

    /// <summary>Clears the gradients.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _params) p.grad?.zero_();
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        StepCount++;
        var (b1, b2, eps, wd, lr) = (Options.Beta1, Options.Beta2, Options.Eps, Options.WeightDecay, LearningRate);
        var bc1 = 1.0 - Math.Pow(b1, StepCount);
        var bc2Sqrt = (float)Math.Sqrt(1.0 - Math.Pow(b2, StepCount));
        var stepSize = (float)(lr / bc1);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        for (var i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            var g = p.grad;
            if (g is null) continue;
            if (wd != 0f) p.mul_(1f - lr * wd);
            _m[i].mul_(b1).add_(g, alpha: 1f - b1);
            _v[i].mul_(b2).addcmul_(g, g, value: 1f - b2);
            var denom = _v[i].sqrt().div_(bc2Sqrt).add_(eps);
            p.addcdiv_(_m[i], denom, value: -stepSize);
        }
    }

    /// <summary>The moments as float arrays (CPU copies) in Dicp's layout.</summary>
    public IReadOnlyDictionary<string, float[]> GetState()
    {
        var d = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (var i = 0; i < _params.Length; i++)
        {
            d.Add($"{i}.exp_avg", _m[i].to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray());
            d.Add($"{i}.exp_avg_sq", _v[i].to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray());
        }
        return d;
    }

    /// <summary>Restores moments written by <see cref="GetState"/> or by Dicp's <see cref="Dicp.Optim.AdamW"/>.</summary>
    /// <exception cref="ArgumentException">A moment is missing or has the wrong size.</exception>
    public void SetState(IReadOnlyDictionary<string, float[]> state, long stepCount)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var noGrad = no_grad();
        for (var i = 0; i < _params.Length; i++)
            foreach (var (name, dst) in new[] { ($"{i}.exp_avg", _m[i]), ($"{i}.exp_avg_sq", _v[i]) })
            {
                if (!state.TryGetValue(name, out var src)) throw new ArgumentException($"Optimizer state lacks '{name}'.", nameof(state));
                if (src.Length != dst.numel()) throw new ArgumentException($"Optimizer state '{name}' has {src.Length} values, parameter {i} has {dst.numel()}.", nameof(state));
                using var t = tensor(src, dst.shape);
                dst.copy_(t);
            }
        StepCount = stepCount;
    }

    /// <summary>
    /// PyTorch's <c>clip_grad_norm_</c> as Dicp's <see cref="GradClip.ClipGradNorm"/>: the total 2-norm of the
    /// gradients; when it exceeds <paramref name="maxNorm"/> every gradient is scaled by maxNorm / (norm + 1e-6).
    /// </summary>
    /// <returns>The norm before clipping.</returns>
    public float ClipGradNorm(float maxNorm)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var grads = _params.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToArray();
        if (grads.Length == 0) return 0f;
        var total = stack(grads.Select(g => g.to(ScalarType.Float64).square().sum()).ToArray()).sum().sqrt().item<double>();
        var coef = maxNorm / ((float)total + 1e-6f);
        if (coef < 1f)
            foreach (var g in grads) g.mul_(coef);
        return (float)total;
    }
}
