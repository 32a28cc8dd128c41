using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// A <see cref="Transformer"/> backbone run for inference (no dropout whatever the training mode), in full or over
/// cached keys and values (<see cref="KvSegment"/>): shared by AD/DPT (<see cref="InContextModel"/>) and IDT's modules.
/// </summary>
internal static class InferenceBackbone
{
    /// <summary>Runs <paramref name="transformer"/>'s blocks on x (B, T, d) with causal attention and no dropout.</summary>
    public static Tensor Run(Transformer transformer, Tensor x)
    {
        var rope = transformer.Rope;
        for (var i = 0; i < transformer.Blocks.Count; i++)
        {
            var blk = transformer.Blocks[i];
            var qkv = blk.Attn.Attn.Forward(Ops.RmsNorm(x, blk.Norm1.Weight, blk.Norm1.Eps)); // (B, T, 3d)
            x = Ops.Add(x, blk.Attn.Proj.Forward(Ops.CausalSelfAttention(qkv, blk.Attn.NHead, rope)));
            x = Ops.Add(x, blk.Mlp.Forward(Ops.RmsNorm(x, blk.Norm2.Weight, blk.Norm2.Eps)));
        }
        return x;
    }

    /// <summary>
    /// Runs <paramref name="transformer"/>, without dropout, over new tokens x (N, S, d) that follow a cached prefix
    /// (row n uses <c>prefix</c> row <c>prefixOf[n]</c>, row 0 when null) and optionally a cached middle segment (row n
    /// uses <c>middle</c> row <c>groupOf[n]</c>):
    /// positions P + M … P + M + S − 1. With <paramref name="fill"/> (Count = N, Length = S) the new tokens' keys and
    /// values are stored per layer, and their last hidden states, so that they can serve as a prefix or middle segment
    /// later.
    /// </summary>
    /// <remarks>Equals <see cref="Run"/> on prefix ++ middle ++ x, restricted to x's rows (up to float rounding).</remarks>
    public static Tensor RunCached(Transformer transformer, Tensor x, KvSegment? prefix, int[]? prefixOf, KvSegment? middle, int[]? groupOf, KvSegment? fill)
    {
        var rope = transformer.Rope;
        int p = prefix?.Length ?? 0, m = middle?.Length ?? 0;
        for (var i = 0; i < transformer.Blocks.Count; i++)
        {
            var blk = transformer.Blocks[i];
            var qkv = blk.Attn.Attn.Forward(Ops.RmsNorm(x, blk.Norm1.Weight, blk.Norm1.Eps)); // (N, S, 3d)
            var att = Ops.CachedAttention(qkv, blk.Attn.NHead, rope, prefix?.Keys[i], prefix?.Values[i], p,
                middle?.Keys[i], middle?.Values[i], m, groupOf, fill?.Keys[i], fill?.Values[i], prefixOf); // (N, S, d)
            x = Ops.Add(x, blk.Attn.Proj.Forward(att));
            x = Ops.Add(x, blk.Mlp.Forward(Ops.RmsNorm(x, blk.Norm2.Weight, blk.Norm2.Eps)));
        }
        if (fill is not null)
        {
            int n = x.Shape[0], s = x.Shape[1], d = x.Shape[2];
            for (var r = 0; r < n; r++) x.Data.AsSpan((r * s + s - 1) * d, d).CopyTo(fill.LastHidden.AsSpan(r * d));
        }
        return x;
    }
}
