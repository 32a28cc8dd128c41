using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>Whether <see cref="TransformerInference"/> handles a backbone of these sizes on this machine.</summary>
    internal static bool SupportsTransformerInference(int dModel, int nHead, int nInner) =>
        BackboneInference.Supports(dModel, nHead, nInner);

    /// <summary>
    /// The whole reference backbone (pre-norm blocks: x += proj(attn(rmsnorm₁(x))); x += w3(silu(w1·n) ⊙ w2·n) with
    /// n = rmsnorm₂(x)) for inference — no dropout, nothing recorded — one sample at a time with every activation of
    /// the sample kept in per-thread scratch.
    /// </summary>
    /// <remarks>
    /// x (B, T, D) → (B, T, D). Each product, norm, attention row and element-wise step runs the same kernel code
    /// with the same operation order per element as the op-by-op forward (<see cref="RmsNorm"/>, <see cref="Linear"/>,
    /// <see cref="CausalSelfAttention"/>, <see cref="SwiGlu"/>, <see cref="Add"/>), so the results are bit-identical
    /// to it; it only avoids writing and re-reading the (B, T, 3D) and (B, T, F) activations and starts one parallel
    /// loop instead of ~12 per block.
    /// </remarks>
    /// <exception cref="InvalidOperationException">Gradients are being recorded (use the op-by-op forward).</exception>
    internal static Tensor TransformerInference(Tensor x, TransformerBlockWeights[] blocks, int nHead, RotaryCache? rope, float eps)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(blocks);
        if (GradMode.IsEnabled) throw new InvalidOperationException("TransformerInference records nothing: call it under GradMode.NoGrad().");
        if (x.Rank != 3 || blocks.Length == 0) throw new ArgumentException($"TransformerInference: x must be (B, T, D) and there must be blocks, got {ShapeUtil.Format(x.Shape)}.");
        int b = x.Shape[0], t = x.Shape[1], d = x.Shape[2], f = blocks[0].W1.Shape[0];
        if (!BackboneInference.Supports(d, nHead, f) || (rope is not null && (rope.HeadSize != d / nHead || rope.MaxSeqLen < t)))
            throw new ArgumentException($"TransformerInference: unsupported backbone (D {d}, {nHead} heads, F {f}, T {t}).");
        var y = Tensor.Uninitialized(x.Shape);
        var weights = BackboneInference.PackWeights(blocks, d, f);
        try
        {
            ParallelLoop.For(0, b, new BackboneInference.Samples(x.Data, y.Data, t, d, f, nHead, eps, rope, blocks, weights));
        }
        finally
        {
            BufferPool.Return(weights);
        }
        return y;
    }
}
