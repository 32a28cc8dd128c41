using System.Runtime.Intrinsics;
using Dicp.Autograd;
using Dicp.Nn;
using Dicp.Tensors;
using Xunit;

namespace Dicp.Tests.Nn;

/// <summary>
/// The fused inference forward of the backbone (evaluation mode, no gradients) gives bit-identical outputs to running
/// its blocks op by op, and the training-mode and recording paths still run op by op.
/// </summary>
public class TransformerInferenceTests
{
    private static (Transformer Backbone, Tensor X) Setup(TransformerConfig config, int batch, int t, int seed)
    {
        var g = new Generator(seed);
        var backbone = new Transformer(config, g);
        var x = new Tensor(new float[batch * t * config.DModel], [batch, t, config.DModel]);
        g.FillNormal(x.Span);
        return (backbone, x);
    }

    private static float[] OpByOp(Transformer backbone, Tensor x)
    {
        for (var i = 0; i < backbone.Blocks.Count; i++) x = backbone.Blocks[i].Forward(x);
        return x.ToArray();
    }

    [Theory]
    [InlineData(32, 4, 128, 4, 20, 81)]   // the DICP-AD backbone, a 20-task evaluation step
    [InlineData(16, 2, 48, 2, 3, 37)]     // odd T (a partial 16-key block), F not a multiple of 32
    public void EvalForwardWithoutGradientsIsBitIdenticalToTheBlocksOpByOp(int d, int heads, int f, int layers, int batch, int t)
    {
        var config = new TransformerConfig(DModel: d, NLayer: layers, NHead: heads, NInner: f, Dropout: 0.1f, MaxSeqLen: 96);
        var (backbone, x) = Setup(config, batch, t, seed: 11);
        backbone.Eval();
        float[] fused, reference;
        using (GradMode.NoGrad())
        {
            fused = backbone.Forward(x).ToArray();
            reference = OpByOp(backbone, x);
        }
        Assert.Equal(reference, fused);
        Assert.Contains(fused, v => MathF.Abs(v) > 0.5f); // a real output, not zeros
        if (Vector512.IsHardwareAccelerated) Assert.True(Dicp.Tensors.Ops.SupportsTransformerInference(d, heads, f)); // the fused path ran
    }

    /// <summary>
    /// The one forward with a KV cache: a prefix of 9 tokens per row (two prefixes, rows [1, 0, 1]) encoded with
    /// <see cref="KvContext.Fill"/>, then 4 new tokens per row over it, equal the evaluation forward of prefix ++ new
    /// (within 1e-5), in training mode too (a cache context never applies dropout); the filled last hidden states are the
    /// prefixes' last outputs.
    /// </summary>
    [Fact]
    public void CachedForwardEqualsTheFullForwardAndAppliesNoDropout()
    {
        var config = new TransformerConfig(DModel: 32, NLayer: 2, NHead: 4, NInner: 64, Dropout: 0.1f, MaxSeqLen: 32);
        var (backbone, prefix) = Setup(config, 2, 9, seed: 8);
        var (_, fresh) = Setup(config, 3, 4, seed: 9);
        int[] prefixOf = [1, 0, 1];
        backbone.Train(); // dropout would change the outputs if the cached forward applied it
        var segment = new KvSegment(config.NLayer, 2, 9, config.DModel);
        float[] encoded, cached;
        using (GradMode.NoGrad())
        {
            encoded = backbone.Forward(prefix, new KvContext(Fill: segment)).ToArray();
            cached = backbone.Forward(fresh, new KvContext(segment, prefixOf)).ToArray();
        }
        backbone.Eval();
        for (var r = 0; r < 3; r++)
        {
            var full = prefix.Span.Slice(prefixOf[r] * 9 * 32, 9 * 32).ToArray().Concat(fresh.Span.Slice(r * 4 * 32, 4 * 32).ToArray()).ToArray();
            float[] expected;
            using (GradMode.NoGrad()) expected = backbone.Forward(new Tensor(full, [1, 13, 32])).ToArray();
            Dicp.Tests.TestUtil.Close.Assert(expected.AsSpan(9 * 32, 4 * 32), cached.AsSpan(r * 4 * 32, 4 * 32), 1e-5, 1e-5, $"row {r}");
            Dicp.Tests.TestUtil.Close.Assert(expected.AsSpan(8 * 32, 32), segment.LastHidden.AsSpan(prefixOf[r] * 32, 32), 1e-5, 1e-5, $"last hidden {r}");
            Dicp.Tests.TestUtil.Close.Assert(expected.AsSpan(0, 9 * 32), encoded.AsSpan(prefixOf[r] * 9 * 32, 9 * 32), 1e-5, 1e-5, $"prefix {r}");
        }
    }

    [Fact]
    public void TrainingModeAndRecordedForwardsStillRunOpByOp()
    {
        var config = new TransformerConfig(DModel: 32, NLayer: 2, NHead: 4, NInner: 64, Dropout: 0.1f, MaxSeqLen: 32);
        var (backbone, x) = Setup(config, 2, 17, seed: 3);
        backbone.SetGenerator(new Generator(5));
        float[] dropped, again;
        using (GradMode.NoGrad()) dropped = backbone.Forward(x).ToArray();     // dropout active: not the fused path
        backbone.SetGenerator(new Generator(5));
        using (GradMode.NoGrad()) again = OpByOp(backbone, x);
        Assert.Equal(again, dropped);

        backbone.Eval();
        var recorded = backbone.Forward(x);                                    // gradients recorded: op by op
        Assert.True(recorded.RequiresGrad);
        float[] fused;
        using (GradMode.NoGrad()) fused = backbone.Forward(x).ToArray();
        Assert.Equal(recorded.ToArray(), fused);
    }
}
