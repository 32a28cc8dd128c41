using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>Multi-head causal self-attention with rotary embeddings, as the reference (keys <c>attn.weight|bias</c>, <c>proj.weight|bias</c>).</summary>
/// <remarks>x (B, T, D) → qkv = attn(x) (B, T, 3D), per head [q | k | v]; y = proj(attention(qkv)) (B, T, D).
/// Attention dropout p on the probabilities in training mode.</remarks>
public sealed class CausalSelfAttention : Module
{
    /// <summary>Creates the layer.</summary>
    public CausalSelfAttention(int dModel, int nHead, float dropout, RotaryCache rope, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(rope);
        if (nHead <= 0 || dModel % nHead != 0) throw new ArgumentException($"d_model {dModel} is not divisible by {nHead} heads.", nameof(nHead));
        if (rope.HeadSize != dModel / nHead) throw new ArgumentException($"Rotary cache head size {rope.HeadSize} ≠ {dModel / nHead}.", nameof(rope));
        NHead = nHead;
        Dropout = dropout;
        Rope = rope;
        Attn = RegisterModule("attn", new Linear(dModel, 3 * dModel, bias: true, generator));
        Proj = RegisterModule("proj", new Linear(dModel, dModel, bias: true, generator));
    }

    /// <summary>Number of heads.</summary>
    public int NHead { get; }

    /// <summary>Attention dropout probability.</summary>
    public float Dropout { get; }

    /// <summary>Rotary tables shared by all layers.</summary>
    public RotaryCache Rope { get; }

    /// <summary>The fused qkv projection (D → 3D).</summary>
    public Linear Attn { get; }

    /// <summary>The output projection (D → D).</summary>
    public Linear Proj { get; }

    /// <summary>Applies the layer to x (B, T, D).</summary>
    public Tensor Forward(Tensor x)
    {
        var qkv = Attn.Forward(x); // (B, T, 3D)
        var p = Training ? Dropout : 0f;
        var y = Ops.CausalSelfAttention(qkv, NHead, Rope, p, p > 0f ? Generator : null); // (B, T, D)
        return Proj.Forward(y);
    }
}
