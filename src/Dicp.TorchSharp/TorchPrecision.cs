using TorchSharp.Modules;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Dicp.TorchSharp;

/// <summary>The compute precision of a <see cref="TorchModel"/>'s forward pass.</summary>
/// <remarks>
/// TorchSharp 0.107 has no <c>torch.autocast</c> (no binding of libtorch's autocast dispatch), so bfloat16 is done by
/// hand, in the spirit of PyTorch's autocast: inside a model's forward, every Linear (token embeddings, the fused qkv and
/// output projections, SwiGLU, the heads) multiplies bfloat16 copies of its input and of its float32 weights, and
/// attention (RoPE, qkᵀ, softmax, ·v) runs in bfloat16 (libtorch's kernels accumulate the softmax in float32). The
/// residual stream, RMSNorm, embedding-table lookups, the loss (log-softmax, Gaussian NLL, MSE) and the metrics stay
/// float32; parameters, gradients and AdamW's moments stay float32 (the casts are differentiable, so the float32
/// "master" weights receive float32 gradients). No loss scaling is needed: bfloat16 has float32's exponent range.
/// </remarks>
public enum TorchPrecision
{
    /// <summary>Everything in float32 (the same function as Dicp's engine, within float rounding).</summary>
    Float32,

    /// <summary>Matrix products and attention in bfloat16, the rest in float32 (see <see cref="TorchPrecision"/>).</summary>
    BFloat16,
}

/// <summary>The compute dtype of the forward pass running on this thread (a hand-made autocast scope).</summary>
internal static class TorchAutocast
{
    [ThreadStatic] private static ScalarType? _compute;

    /// <summary>Makes <paramref name="precision"/> the compute precision until the returned scope is disposed.</summary>
    public static Scope Enter(TorchPrecision precision)
    {
        var previous = _compute;
        _compute = precision == TorchPrecision.BFloat16 ? ScalarType.BFloat16 : null;
        return new Scope(previous);
    }

    /// <summary><c>layer(x)</c>, in bfloat16 inside a bfloat16 scope (the result stays bfloat16), else the layer itself.</summary>
    public static TorchTensor Linear(Linear layer, TorchTensor x)
    {
        if (_compute is not { } dt) return layer.forward(x);
        return nn.functional.linear(x.to(dt), layer.weight!.to(dt), layer.bias?.to(dt));
    }

    /// <summary><paramref name="x"/> as float32 (for the residual stream, norms and losses); unchanged when it already is.</summary>
    public static TorchTensor Float(TorchTensor x) => x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);

    /// <summary>Restores the previous compute precision.</summary>
    public readonly struct Scope(ScalarType? previous) : IDisposable
    {
        /// <inheritdoc/>
        public void Dispose() => _compute = previous;
    }
}
