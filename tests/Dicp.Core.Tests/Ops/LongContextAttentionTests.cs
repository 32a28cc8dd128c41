using Dicp.Kernels;
using Dicp.Nn;
using Dicp.Tensors;
using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;

namespace Dicp.Tests.Ops;

/// <summary>
/// Long contexts (T = 1000, the Meta-World ML1 window): the fused attention, which keeps only each row's log-sum-exp
/// and recomputes the scores in backward, against an op-by-op reference that materialises the (B·H, T, T) scores and
/// probabilities; and one whole training step of the Meta-World AD backbone (d 64, 8 heads, SwiGLU 256) against the
/// same blocks run op by op with that reference attention. Reduced batch (B = 1–2) so the reference fits.
/// </summary>
public class LongContextAttentionTests
{
    private const int T = 1000;

    /// <summary>Attention op by op: rope(q)·rope(k)ᵀ/√hs + causal mask → softmax → ·v, with the T×T tensors in memory.</summary>
    internal static Tensor ReferenceAttention(Tensor qkv, int nHead, RotaryCache rope)
    {
        int b = qkv.Shape[0], t = qkv.Shape[1], d = qkv.Shape[2] / 3, hs = d / nHead;
        var x = Dicp.Tensors.Ops.Reshape(qkv, b, t, nHead, 3 * hs);                                  // (B, T, H, 3·hs)
        var q = Dicp.Tensors.Ops.Rope(Dicp.Tensors.Ops.Slice(x, 3, 0, hs), rope);                    // (B, T, H, hs)
        var k = Dicp.Tensors.Ops.Rope(Dicp.Tensors.Ops.Slice(x, 3, hs, hs), rope);
        var v = Dicp.Tensors.Ops.Slice(x, 3, 2 * hs, hs);
        Tensor Heads(Tensor u) => Dicp.Tensors.Ops.Reshape(Dicp.Tensors.Ops.Permute(u, 0, 2, 1, 3), b * nHead, t, hs); // (B·H, T, hs)
        var s = Dicp.Tensors.Ops.Scale(Dicp.Tensors.Ops.BatchedMatMul(Heads(q), Heads(k), transposeB: true), 1f / MathF.Sqrt(hs)); // (B·H, T, T)
        var mask = new float[t * t];
        for (var i = 0; i < t; i++)
            for (var j = i + 1; j < t; j++) mask[i * t + j] = float.NegativeInfinity;
        var p = Dicp.Tensors.Ops.Softmax(Dicp.Tensors.Ops.Add(s, Tensor.FromArray(mask, t, t)));     // (B·H, T, T)
        var o = Dicp.Tensors.Ops.BatchedMatMul(p, Heads(v));                                          // (B·H, T, hs)
        return Dicp.Tensors.Ops.Reshape(Dicp.Tensors.Ops.Permute(Dicp.Tensors.Ops.Reshape(o, b, nHead, t, hs), 0, 2, 1, 3), b, t, d); // (B, T, D)
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= atol + rtol * Math.Abs(expected[i]), $"{what}[{i}]: reference {expected[i]}, fused {actual[i]}");
    }

    [Theory]
    [InlineData(2, 64, 8)]  // hs = 8 (the Meta-World AD shape): the head-8 kernel with AVX-512, else the generic one
    [InlineData(1, 32, 2)]  // hs = 16: the generic kernel
    public void FusedAttentionMatchesTheOpByOpReferenceAtT1000(int batch, int d, int heads)
    {
        var rope = new RotaryCache(T, d / heads);
        var qkv = Randn(21, 1f, batch, T, 3 * d);
        var gout = Randn(22, 1f, batch, T, d).ToArray();

        qkv.RequiresGrad = true;
        var fused = Dicp.Tensors.Ops.CausalSelfAttention(qkv, heads, rope);
        fused.Backward(gout);
        var fusedY = fused.ToArray();
        var fusedG = qkv.Grad!.AsSpan(0, qkv.Size).ToArray();

        qkv.ZeroGrad();
        var reference = ReferenceAttention(qkv, heads, rope);
        reference.Backward(gout);
        AssertClose(reference.ToArray(), fusedY, 1e-4, 1e-5, "y");
        AssertClose(qkv.Grad!.AsSpan(0, qkv.Size), fusedG, 1e-4, 1e-5, "dqkv");
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0f)]
    public void Head8AndGenericKernelsAgreeAtT1000WithDropout(float p)
    {
        const int B = 1, H = 8, Hs = 8, D = H * Hs;
        var k = new CausalAttention { B = B, T = T, H = H, Hs = Hs, Rope = new RotaryCache(T, Hs), DropoutP = p, DropoutKey = 0x0F1E_2D3C_4B5A_6978UL };
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return; // the head-8 kernel needs AVX2 (the generic one is covered above)
        var qkv = Randn(31, 1f, B, T, 3 * D).ToArray();
        var gout = Randn(32, 1f, B, T, D).ToArray();
        var (y0, g0, l0) = (new float[B * T * D], new float[B * T * 3 * D], new float[k.LseLength]);
        k.Forward(qkv, y0, l0);
        k.Backward(qkv, l0, gout, g0);
        var (y1, g1, l1) = (new float[B * T * D], new float[B * T * 3 * D], new float[k.LseLength]);
        k.Forward8(qkv, y1, l1);
        k.Backward8(qkv, y1, l1, gout, g1);
        AssertClose(l0, l1, 1e-5, 1e-5, "lse");
        AssertClose(y0, y1, 1e-4, 1e-5, "y");
        AssertClose(g0, g1, 1e-4, 1e-5, "dqkv");
    }

    [Fact]
    public void MetaWorldBackboneTrainingStepMatchesTheOpByOpReferenceAtT1000()
    {
        // The Meta-World ML1 AD backbone (d 64, 8 heads, SwiGLU 256), two of its four layers, one window of T = 1000.
        var config = new TransformerConfig(DModel: 64, NLayer: 2, NHead: 8, NInner: 256, Dropout: 0f, MaxSeqLen: T);
        var backbone = new Transformer(config, new Generator(5));
        var x = Randn(41, 1f, 1, T, 64);
        var w = Randn(42, 1f, 1, T, 64).ToArray();
        var parameters = backbone.Parameters().ToArray();

        x.RequiresGrad = true;
        backbone.Train();
        backbone.Forward(x).Backward(w);
        var fusedDx = x.Grad!.AsSpan(0, x.Size).ToArray();
        var fusedGrads = parameters.Select(p => p.Grad!.AsSpan(0, p.Size).ToArray()).ToArray();

        backbone.ZeroGrad();
        x.ZeroGrad();
        var h = x;
        for (var l = 0; l < backbone.Blocks.Count; l++)
        {
            var blk = backbone.Blocks[l];
            var n1 = Dicp.Tensors.Ops.RmsNorm(h, blk.Norm1.Weight, blk.Norm1.Eps);
            var qkv = blk.Attn.Attn.Forward(n1);                                           // (B, T, 3D)
            h = Dicp.Tensors.Ops.Add(h, blk.Attn.Proj.Forward(ReferenceAttention(qkv, config.NHead, backbone.Rope)));
            var n2 = Dicp.Tensors.Ops.RmsNorm(h, blk.Norm2.Weight, blk.Norm2.Eps);
            var sw = blk.Mlp.SwiGlu;
            h = Dicp.Tensors.Ops.Add(h, sw.W3.Forward(Dicp.Tensors.Ops.SwiGlu(sw.W1.Forward(n2), sw.W2.Forward(n2))));
        }
        h.Backward(w);
        AssertClose(x.Grad!.AsSpan(0, x.Size), fusedDx, 1e-4, 1e-5, "dx");
        for (var i = 0; i < parameters.Length; i++)
            AssertClose(parameters[i].Grad!.AsSpan(0, parameters[i].Size), fusedGrads[i], 1e-4, 1e-4, $"grad {i}");
    }
}
