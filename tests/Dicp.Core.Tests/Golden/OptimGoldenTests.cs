using Dicp.IO;
using Dicp.Optim;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Golden;

/// <summary>Optimizer and clipping semantics against torch.optim with given gradients (float32 on both sides).
/// Tolerance: 1e-6 relative + 1e-7.</summary>
public class OptimGoldenTests
{
    private static readonly SafeTensorsFile F = Fixtures.Load("optim.safetensors");

    private AdamOptions Options(float? weightDecay = null) => new(
        LearningRate: (float)F.Number("lr"), Beta1: (float)F.Number("beta1"), Beta2: (float)F.Number("beta2"),
        Eps: (float)F.Number("eps"), WeightDecay: weightDecay ?? (float)F.Number("weight_decay"));

    [Theory]
    [InlineData("adamw")]
    [InlineData("adam")]
    public void ThreeStepsWithGivenGradients(string which)
    {
        var p = F.GetTensor("p0");
        p.RequiresGrad = true;
        Optimizer opt = which == "adamw" ? new AdamW([p], Options()) : new Adam([p], Options());
        for (var k = 1; k <= 3; k++)
        {
            p.ZeroGrad();
            F.GetTensor($"g{k}").Span.CopyTo(p.EnsureGradForTest());
            opt.Step();
            Close.Assert(F.GetTensor($"{which}.p{k}"), p, 1e-6, 1e-7, $"{which}.p{k}");
        }
    }

    [Theory]
    [InlineData("clip", true)]
    [InlineData("clip_small", false)]
    public void ClipGradNorm(string c, bool twoParams)
    {
        var a = Tensor.Zeros(F.GetInfo($"{c}.ga").Shape);
        F.GetTensor($"{c}.ga").Span.CopyTo(a.EnsureGradForTest());
        var ps = new List<Tensor> { a };
        Tensor? b = null;
        if (twoParams)
        {
            b = Tensor.Zeros(F.GetInfo($"{c}.gb").Shape);
            F.GetTensor($"{c}.gb").Span.CopyTo(b.EnsureGradForTest());
            ps.Add(b);
        }
        var total = GradClip.ClipGradNorm(ps, (float)F.Number("max_norm"));
        Close.Assert(F.GetTensor($"{c}.total_norm").Span, [total], 1e-6, 0, $"{c}.total_norm");
        Close.Assert(F.GetTensor($"{c}.ga_out"), new Tensor(a.Grad!, a.Shape), 1e-6, 1e-7, $"{c}.ga_out");
        if (b is not null) Close.Assert(F.GetTensor($"{c}.gb_out"), new Tensor(b.Grad!, b.Shape), 1e-6, 1e-7, $"{c}.gb_out");
    }
}

internal static class GradTestExtensions
{
    public static Span<float> EnsureGradForTest(this Tensor t) => t.EnsureGrad().AsSpan(0, t.Size);
}
