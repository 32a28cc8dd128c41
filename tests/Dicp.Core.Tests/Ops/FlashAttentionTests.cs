using Dicp.Kernels;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;
using O = Dicp.Tensors.Ops;

namespace Dicp.Tests.Ops;

/// <summary>
/// The recomputing (flash-style) attention path against the saved-probabilities kernel, against the op-by-op reference
/// (Rope, BatchedMatMul, an additive causal mask, Softmax, the same counter-based dropout mask as a constant product,
/// BatchedMatMul) and against finite differences, for head sizes 8, 16, 32 (and an odd one without RoPE), with dropout
/// on and off, and rows ending inside and at the edges of 8-lane blocks.
/// </summary>
public class FlashAttentionTests
{
    /// <summary>y (B, T, D) of causal attention composed of generic ops; the dropout mask is element (bh, i, j) of the key.</summary>
    internal static Tensor Reference(Tensor qkv, int heads, RotaryCache? rope, float p, ulong key)
    {
        int b = qkv.Shape[0], t = qkv.Shape[1], d = qkv.Shape[2] / 3, hs = d / heads;
        var x = O.Reshape(qkv, b, t, heads, 3 * hs);                            // (B, T, H, 3hs)
        Tensor q = O.Slice(x, 3, 0, hs), k = O.Slice(x, 3, hs, hs), v = O.Slice(x, 3, 2 * hs, hs);
        if (rope is not null) { q = O.Rope(q, rope); k = O.Rope(k, rope); }
        Tensor Heads(Tensor z) => O.Reshape(O.Permute(z, 0, 2, 1, 3), b * heads, t, hs); // (B·H, T, hs)
        var s = O.Scale(O.BatchedMatMul(Heads(q), Heads(k), transposeB: true), 1f / MathF.Sqrt(hs)); // (B·H, T, T)
        var mask = new float[t * t];
        for (var i = 0; i < t; i++) for (var j = i + 1; j < t; j++) mask[i * t + j] = float.NegativeInfinity;
        var a = O.Softmax(O.Add(s, Tensor.FromArray(mask, t, t)));
        if (p > 0f)
        {
            var keep = new float[b * heads * t * t];
            var th = DropoutMask.Threshold(p);
            for (var n = 0; n < keep.Length; n++) keep[n] = DropoutMask.Hash(key, (uint)n) >= th ? 1f / (1f - p) : 0f;
            a = O.Mul(a, Tensor.FromArray(keep, b * heads, t, t));
        }
        var o = O.BatchedMatMul(a, Heads(v));                                    // (B·H, T, hs)
        return O.Reshape(O.Permute(O.Reshape(o, b, heads, t, hs), 0, 2, 1, 3), b, t, d);
    }

    public static TheoryData<int, int, float> Shapes()
    {
        var data = new TheoryData<int, int, float>();
        foreach (var t in new[] { 1, 7, 81, 300 })
            foreach (var hs in new[] { 8, 16, 32 })
                foreach (var p in new[] { 0f, 0.1f })
                    data.Add(t, hs, p);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesTheSavedProbabilityKernelAndTheOpByOpReference(int t, int hs, float p)
    {
        const int B = 2, H = 2;
        var d = H * hs;
        var rope = new RotaryCache(t, hs);
        var seed = t * 100 + hs;
        var gout = Randn(seed + 1, 1f, B, t, d).ToArray();

        (Tensor Y, float[] G) Run(Func<Tensor, Tensor> f)
        {
            var qkv = Randn(seed, 1f, B, t, 3 * d);
            qkv.RequiresGrad = true;
            var y = f(qkv);
            y.Backward(gout);
            return (y, qkv.Grad!.AsSpan(0, qkv.Size).ToArray());
        }

        var flash = Run(x => O.CausalSelfAttentionWithBudget(x, H, rope, p, new Generator(5), 0));
        var saved = Run(x => O.CausalSelfAttentionWithBudget(x, H, rope, p, new Generator(5), long.MaxValue));
        var reference = Run(x => Reference(x, H, rope, p, new Generator(5).NextUInt64()));

        Close.Assert(saved.Y, flash.Y, 1e-5, 1e-6, "output vs saved-probability kernel");
        Close.Assert(saved.G, flash.G, 1e-4, 1e-5, "dqkv vs saved-probability kernel");
        Close.Assert(reference.Y, flash.Y, 1e-4, 1e-5, "output vs op-by-op reference");
        Close.Assert(reference.G, flash.G, 1e-4, 1e-4, "dqkv vs op-by-op reference");
        Assert.Contains(flash.G, g => g != 0f);
    }

    [Fact]
    public void KernelPathsAgreeWithoutRopeForAnOddHeadSize()
    {
        const int B = 2, T = 29, H = 3, Hs = 5, D = H * Hs;
        var qkv = Randn(21, 1f, B, T, 3 * D).ToArray();
        var gout = Randn(22, 1f, B, T, D).ToArray();
        var k = new CausalAttention { B = B, T = T, H = H, Hs = Hs, Rope = null, DropoutP = 0.2f, DropoutKey = 0xDEAD_BEEF_0123_4567UL };
        var y0 = new float[B * T * D]; var g0 = new float[B * T * 3 * D];
        var probs = new float[k.ProbsLength];
        k.Forward(qkv, y0, probs);
        k.Backward(qkv, probs, gout, g0);
        var y1 = new float[B * T * D]; var g1 = new float[B * T * 3 * D];
        var lse = new float[k.LseLength];
        k.ForwardFlash(qkv, y1, lse);
        k.BackwardFlash(qkv, lse, gout, g1);
        Close.Assert(y0, y1, 1e-5, 1e-6, "output");
        Close.Assert(g0, g1, 1e-4, 1e-5, "dqkv");

        var y2 = new float[B * T * D];
        k.ForwardFlash(qkv, y2, null); // without saving the log-sum-exp (no-grad forward): same output
        Assert.Equal(y1, y2);
    }

    [Fact]
    public void GradientWithRopeAndDropout() =>
        Check(x => O.CausalSelfAttentionWithBudget(x[0], 2, new RotaryCache(16, 8), 0.3f, new Generator(9), 0), [Randn(31, 1f, 1, 11, 48)]);

    [Fact]
    public void GradientHeadSize16WithoutRope() =>
        Check(x => O.CausalSelfAttentionWithBudget(x[0], 1, null, 0f, null, 0), [Randn(32, 1f, 2, 10, 48)]);

    [Fact]
    public void ThePublicBudgetRejectsNegativeValuesAndDefaultsToSavingDarkroomSizedProbabilities()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => O.AttentionProbabilityBudgetBytes = -1);
        // DICP-AD Darkroom at batch 512 (4 heads, 82 tokens) keeps 64 MB per layer: under the default, so it keeps the
        // bit-exact saved-probability path; Meta-World ML1 AD at batch 512 (8 heads, 1001 tokens) would keep 16.5 GB.
        var darkroom = new CausalAttention { B = 512, T = 82, H = 4, Hs = 8, Rope = null, DropoutP = 0f, DropoutKey = 0 };
        var ml1 = new CausalAttention { B = 512, T = 1001, H = 8, Hs = 8, Rope = null, DropoutP = 0f, DropoutKey = 0 };
        if (Environment.GetEnvironmentVariable("DICP_ATTENTION_BUDGET_MB") is null)
            Assert.Equal(256L << 20, O.AttentionProbabilityBudgetBytes);
        Assert.True(darkroom.SavedProbabilityBytes < 256L << 20);
        Assert.True(ml1.SavedProbabilityBytes > 16_000_000_000L);
    }
}
