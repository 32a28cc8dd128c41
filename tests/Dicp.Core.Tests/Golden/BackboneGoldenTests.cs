using Dicp.IO;
using Dicp.Nn;
using Dicp.Optim;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Golden;

/// <summary>
/// The whole reference backbone (d 32, 4 layers, 4 heads, SwiGLU 128, 81 tokens, dropout off) against PyTorch:
/// weights loaded strictly by the reference's state-dict keys, forward output, the gradient of every parameter and of the
/// input, then three AdamW steps (lr 1e-3, betas (0.9, 0.99), wd 0.01, clip 1) on an MSE loss.
/// </summary>
public class BackboneGoldenTests
{
    private static readonly SafeTensorsFile F = Fixtures.Load("backbone.safetensors");

    /// <summary>A model holding the backbone under the key <c>transformer</c>, as the reference's models do.</summary>
    private sealed class Host : Module
    {
        public Host(TransformerConfig c) => Transformer = RegisterModule("transformer", new Transformer(c, new Generator(1)));
        public Transformer Transformer { get; }
    }

    private static Host Build()
    {
        var c = new TransformerConfig(
            DModel: (int)F.Number("d_model"), NLayer: (int)F.Number("n_layer"), NHead: (int)F.Number("n_head"),
            NInner: (int)F.Number("n_inner"), Dropout: 0f, MaxSeqLen: (int)F.Number("seq_len"),
            RopeBase: F.Number("rope_base"), NormEps: (float)F.Number("norm_eps"));
        var host = new Host(c);
        var state = host.NamedParameters().ToDictionary(kv => kv.Key, kv => F.GetTensor(kv.Key));
        host.LoadStateDict(state, strict: true);
        return host;
    }

    [Fact]
    public void StateDictKeysAreTheReferenceKeys()
    {
        var host = Build();
        var expected = F.Names.Where(n => n.StartsWith("transformer.", StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(expected, host.StateDict().Keys.OrderBy(n => n, StringComparer.Ordinal));
    }

    /// <summary>Tolerance: output 1e-4 relative + 1e-5; gradients 1e-4 relative + 1e-5 (float32 through 4 layers vs a float64 reference).</summary>
    [Fact]
    public void ForwardAndBackwardMatchPyTorch()
    {
        var host = Build();
        var x = F.GetTensor("x");
        x.RequiresGrad = true;
        var y = host.Transformer.Forward(x);
        Close.Assert(F.GetTensor("out"), y, 1e-4, 1e-5, "out");
        y.Backward(F.GetTensor("gout").Span);
        Close.Assert(F.GetTensor("grad.x"), new Tensor(x.Grad!, x.Shape), 1e-4, 1e-5, "grad.x");
        foreach (var (name, p) in host.NamedParameters())
            Close.Assert(F.GetTensor("grad." + name), new Tensor(p.Grad!, p.Shape), 1e-4, 1e-5, "grad." + name);
    }

    /// <summary>Tolerance: losses and gradient norms 1e-5 relative; parameters after each step 1e-4 relative + 2e-6
    /// (both sides are float32 runs; Adam's normalised update amplifies rounding on near-zero gradients).</summary>
    [Fact]
    public void ThreeAdamWStepsMatchPyTorch()
    {
        var host = Build();
        var x = F.GetTensor("x");
        var target = F.GetTensor("target");
        var opt = new AdamW(host.Parameters(), new AdamOptions(
            LearningRate: (float)F.Number("lr"), Beta1: (float)F.Number("beta1"), Beta2: (float)F.Number("beta2"),
            Eps: (float)F.Number("eps"), WeightDecay: (float)F.Number("weight_decay")));
        for (var k = 1; k <= 3; k++)
        {
            host.ZeroGrad();
            var loss = Dicp.Tensors.Ops.MseLoss(host.Transformer.Forward(x), target);
            Close.Assert(F.GetTensor($"step{k}.loss").Span, [loss.Item()], 1e-5, 0, $"step{k}.loss");
            loss.Backward();
            var norm = GradClip.ClipGradNorm(host.Parameters(), (float)F.Number("max_grad_norm"));
            Close.Assert(F.GetTensor($"step{k}.grad_norm").Span, [norm], 1e-5, 0, $"step{k}.grad_norm");
            opt.Step();
            foreach (var (name, p) in host.NamedParameters())
                Close.Assert(F.GetTensor($"step{k}.{name}"), p, 1e-4, 2e-6, $"step{k}.{name}");
        }
    }
}
