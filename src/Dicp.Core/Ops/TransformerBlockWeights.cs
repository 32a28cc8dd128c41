namespace Dicp.Tensors;

/// <summary>The parameters of one reference transformer block, as <see cref="Ops.TransformerInference"/> reads them.</summary>
/// <param name="Norm1">norm_1 weight (D).</param>
/// <param name="QkvWeight">attn.attn weight (3D, D).</param>
/// <param name="QkvBias">attn.attn bias (3D) or null.</param>
/// <param name="ProjWeight">attn.proj weight (D, D).</param>
/// <param name="ProjBias">attn.proj bias (D) or null.</param>
/// <param name="Norm2">norm_2 weight (D).</param>
/// <param name="W1">mlp.swiglu.w1 weight (F, D).</param>
/// <param name="W2">mlp.swiglu.w2 weight (F, D).</param>
/// <param name="W3">mlp.swiglu.w3 weight (D, F).</param>
internal readonly record struct TransformerBlockWeights(
    Tensor Norm1, Tensor QkvWeight, Tensor? QkvBias, Tensor ProjWeight, Tensor? ProjBias, Tensor Norm2, Tensor W1, Tensor W2, Tensor W3);
