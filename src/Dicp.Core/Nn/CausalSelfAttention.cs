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
    public Tensor Forward(Tensor x) => Forward(x, null, 0);

    /// <summary>
    /// Applies attention to x (B, T, D) as layer <paramref name="layer"/>: training/evaluation without a cache; with one,
    /// inference (no dropout) over the layer's cached keys and values (plain causal attention when it caches nothing).
    /// </summary>
    internal Tensor Forward(Tensor x, KvContext? cache, int layer)
    {
        var qkv = Attn.Forward(x); // (B, T, 3D)
        Tensor y; // (B, T, D)
        if (cache is null)
        {
            var p = Training ? Dropout : 0f;
            y = Ops.CausalSelfAttention(qkv, NHead, Rope, p, p > 0f ? Generator : null);
        }
        else if (cache.IsEmpty) y = Ops.CausalSelfAttention(qkv, NHead, Rope);
        else
        {
            y = Ops.CachedAttention(qkv, NHead, Rope, cache.Prefix?.Keys[layer], cache.Prefix?.Values[layer], cache.Prefix?.Length ?? 0,
                cache.Middle?.Keys[layer], cache.Middle?.Values[layer], cache.Middle?.Length ?? 0, cache.GroupOf,
                cache.Fill?.Keys[layer], cache.Fill?.Values[layer], cache.PrefixOf);
        }
        return Proj.Forward(y);
}
}
