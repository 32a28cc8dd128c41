using Dicp.Nn;
using Dicp.Optim;
using Dicp.Tensors;
using Dicp.Tests.Ops;
using Dicp.Tests.TestUtil;
using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;
using O = Dicp.Tensors.Ops;

namespace Dicp.Tests.Nn;

/// <summary>
/// A training step of the Meta-World ML1 AD backbone's blocks (d 64, 8 heads of size 8, SwiGLU 256, attention dropout
/// 0.1) at T = 1000 with a reduced batch: the recomputing attention path against the op-by-op reference attention,
/// gradients of every parameter and the parameters after one AdamW step.
/// </summary>
public class LongContextTrainingTests
{
    private const int Batch = 2, T = 1000, Layers = 2, Heads = 8;

    [Fact]
    public void Ml1AdTrainingStepAtT1000MatchesTheOpByOpReference()
    {
        var config = new TransformerConfig(DModel: 64, NLayer: Layers, NHead: Heads, NInner: 256, Dropout: 0.1f, MaxSeqLen: T);
        var rope = new RotaryCache(T, config.HeadSize);
        var x = Randn(1, 1f, Batch, T, config.DModel);
        var w = Randn(2, 1f / MathF.Sqrt(Batch * T), Batch, T, config.DModel).ToArray();

        (TransformerBlock[] Blocks, Tensor Y, long AttentionBytes) Step(bool flash)
        {
            var gen = new Generator(7); // the same initial weights for both sides
            var blocks = Enumerable.Range(0, Layers).Select(_ => new TransformerBlock(config, rope, gen)).ToArray();
            var h = x;
            long attentionBytes = 0;
            for (var l = 0; l < blocks.Length; l++)
            {
                var blk = blocks[l];
                blk.Eval(); // the norms' input dropout off: only attention dropout (its key from its own generator) is random
                var qkv = blk.Attn.Attn.Forward(blk.Norm1.Forward(h)); // (B, T, 3D)
                var before = GC.GetAllocatedBytesForCurrentThread();
                var a = flash
                    ? O.CausalSelfAttentionWithBudget(qkv, Heads, rope, config.Dropout, new Generator(100 + l), 0)
                    : FlashAttentionTests.Reference(qkv, Heads, rope, config.Dropout, new Generator(100 + l).NextUInt64());
                attentionBytes += GC.GetAllocatedBytesForCurrentThread() - before;
                h = O.Add(h, blk.Attn.Proj.Forward(a));
                h = O.Add(h, blk.Mlp.Forward(blk.Norm2.Forward(h)));
            }
            h.Backward(w); // loss = Σ h ⊙ w
            return (blocks, h, attentionBytes);
        }

        var fast = Step(flash: true);
        var reference = Step(flash: false);
        Close.Assert(reference.Y, fast.Y, 1e-4, 1e-5, "block outputs");
        // (B, H, T, T) probabilities of one layer would be 64 MB; the recomputing path keeps the output and (B, H, T).
        Assert.True(fast.AttentionBytes < 8L << 20, $"attention allocated {fast.AttentionBytes:N0} bytes on the calling thread");

        var pf = fast.Blocks.SelectMany(b => b.NamedParameters()).ToArray();
        var pr = reference.Blocks.SelectMany(b => b.NamedParameters()).ToArray();
        for (var i = 0; i < pf.Length; i++)
            Close.Assert(pr[i].Value.Grad!.AsSpan(0, pr[i].Value.Size), pf[i].Value.Grad!.AsSpan(0, pf[i].Value.Size), 1e-3, 1e-5, $"gradient of {pf[i].Key} (layer {i / (pf.Length / Layers)})");

        var options = new AdamOptions(LearningRate: 1e-2f, Beta1: 0.9f, Beta2: 0.99f, WeightDecay: 0.01f); // the ML1 AD config
        new AdamW(pf.Select(p => (Tensor)p.Value), options).Step();
        new AdamW(pr.Select(p => (Tensor)p.Value), options).Step();
        // Adam's first step moves each weight by lr·g/(|g| + ε) ≈ ±lr: float-rounding differences of gradients near
        // zero show up as a fraction of lr, so the tolerance is 1 % of lr.
        for (var i = 0; i < pf.Length; i++)
            Close.Assert(pr[i].Value.Span, pf[i].Value.Span, 0, 1e-2 * options.LearningRate, $"{pf[i].Key} after one AdamW step");
    }
}
