using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>A pre-norm block <c>x = x + attn(norm_1(x)); x = x + mlp(norm_2(x))</c> (keys <c>norm_1</c>, <c>attn</c>, <c>norm_2</c>, <c>mlp</c>).</summary>
public sealed class TransformerBlock : Module
{
    /// <summary>Creates a block.</summary>
    public TransformerBlock(TransformerConfig config, RotaryCache rope, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(config);
        Norm1 = RegisterModule("norm_1", new RmsNorm(config.DModel, config.NormEps, config.Dropout));
        Attn = RegisterModule("attn", new CausalSelfAttention(config.DModel, config.NHead, config.Dropout, rope, generator));
        Norm2 = RegisterModule("norm_2", new RmsNorm(config.DModel, config.NormEps, config.Dropout));
        Mlp = RegisterModule("mlp", new Mlp(config.DModel, config.NInner, generator));
    }

    /// <summary>Norm before attention.</summary>
    public RmsNorm Norm1 { get; }

    /// <summary>Attention.</summary>
    public CausalSelfAttention Attn { get; }

    /// <summary>Norm before the MLP.</summary>
    public RmsNorm Norm2 { get; }

    /// <summary>The feed-forward.</summary>
    public Mlp Mlp { get; }

    /// <summary>Applies the block to x (B, T, D).</summary>
    public Tensor Forward(Tensor x) => Forward(x, null, 0);

    /// <summary>
    /// Applies the block to x (B, T, D) as block <paramref name="layer"/> of the stack; with <paramref name="cache"/>
    /// as inference (no dropout) over that layer's cached keys and values (see <see cref="Transformer"/>).
    /// </summary>
    internal Tensor Forward(Tensor x, KvContext? cache, int layer)
    {
        var dropout = cache is null;
        x = Ops.Add(x, Attn.Forward(Norm1.Forward(x, dropout), cache, layer));
        return Ops.Add(x, Mlp.Forward(Norm2.Forward(x, dropout)));
    }
}
