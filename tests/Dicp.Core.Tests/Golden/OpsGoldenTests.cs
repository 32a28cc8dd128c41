using Dicp.IO;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;
using O = Dicp.Tensors.Ops;

namespace Dicp.Tests.Golden;

/// <summary>
/// Each op against PyTorch 1.13 (float64 reference rounded to float32; see tools/make_fixtures.py): the output and the
/// gradient of Σ out ⊙ gout with respect to every float input.
/// Tolerance: |dicp − torch| ≤ 1e-4·|torch| + 1e-6 element-wise (1e-4 relative with a tiny floor for values near 0).
/// </summary>
public class OpsGoldenTests
{
    private const double Rtol = 1e-4, Atol = 1e-6;
    private static readonly SafeTensorsFile F = Fixtures.Load("ops.safetensors");

    private static void Run(string c, Func<Tensor[], Tensor> op, params string[] inputs)
    {
        var xs = inputs.Select(n => { var t = F.GetTensor($"{c}.{n}"); t.RequiresGrad = true; return t; }).ToArray();
        var y = op(xs);
        Close.Assert(F.GetTensor($"{c}.out"), y, Rtol, Atol, $"{c}.out");
        y.Backward(F.GetTensor($"{c}.gout").Span);
        for (var i = 0; i < xs.Length; i++)
        {
            var key = $"{c}.grad.{inputs[i]}";
            if (!F.Contains(key)) continue; // e.g. the variance input of a case stores no gradient
            Assert.NotNull(xs[i].Grad);
            Close.Assert(F.GetTensor(key), new Tensor(xs[i].Grad!, xs[i].Shape), Rtol, Atol, key);
        }
    }

    [Fact] public void Linear() => Run("linear", x => O.Linear(x[0], x[1], x[2]), "x", "w", "b");
    [Fact] public void LinearNoBias() => Run("linear_nobias", x => O.Linear(x[0], x[1]), "x", "w");
    [Fact] public void MatMul() => Run("matmul", x => O.MatMul(x[0], x[1]), "a", "b");
    [Fact] public void MatMulBt() => Run("matmul_bt", x => O.MatMul(x[0], x[1], transposeB: true), "a", "b");
    [Fact] public void MatMulAt() => Run("matmul_at", x => O.MatMul(x[0], x[1], transposeA: true), "a", "b");
    [Fact] public void Bmm() => Run("bmm", x => O.BatchedMatMul(x[0], x[1]), "a", "b");
    [Fact] public void Add() => Run("add", x => O.Add(x[0], x[1]), "a", "b");
    [Fact] public void AddBroadcast() => Run("add_bcast", x => O.Add(x[0], x[1]), "a", "b");
    [Fact] public void Mul() => Run("mul", x => O.Mul(x[0], x[1]), "a", "b");
    [Fact] public void MulBroadcast() => Run("mul_bcast", x => O.Mul(x[0], x[1]), "a", "b");
    [Fact] public void Scale() => Run("scale", x => O.Scale(x[0], (float)F.Number("scale.s")), "x");
    [Fact] public void Transpose() => Run("transpose", x => O.Transpose(x[0], F.Ints("transpose.dims")[0], F.Ints("transpose.dims")[1]), "x");
    [Fact] public void Permute() => Run("permute", x => O.Permute(x[0], F.Ints("permute.dims")), "x");
    [Fact] public void Slice() => Run("slice", x => O.Slice(x[0], (int)F.Number("slice.axis"), (int)F.Number("slice.start"), (int)F.Number("slice.length")), "x");
    [Fact] public void Concat() => Run("concat", x => O.Concat(x, (int)F.Number("concat.axis")), "a", "b");
    [Fact] public void Concat0() => Run("concat0", x => O.Concat(x, (int)F.Number("concat0.axis")), "a", "b");
    [Fact] public void IndexSelect() => Run("index_select", x => O.IndexSelect(x[0], (int)F.Number("index_select.axis"), F.GetInt32("index_select.idx")), "x");
    [Fact] public void Gather() => Run("gather", x => O.Gather(x[0], F.GetInt32("gather.idx"), F.GetInfo("gather.idx").Shape), "x");
    [Fact] public void Embedding() => Run("embedding", x => O.Embedding(x[0], F.GetInt32("embedding.ids"), F.GetInfo("embedding.ids").Shape), "weight");
    [Fact] public void SumAxis() => Run("sum_axis", x => O.Sum(x[0], (int)F.Number("sum_axis.axis")), "x");
    [Fact] public void MeanAxis() => Run("mean_axis", x => O.Mean(x[0], (int)F.Number("mean_axis.axis")), "x");
    [Fact] public void SumAll() => Run("sum_all", x => O.Sum(x[0]), "x");
    [Fact] public void MeanAll() => Run("mean_all", x => O.Mean(x[0]), "x");
    [Fact] public void Softmax() => Run("softmax", x => O.Softmax(x[0]), "x");
    [Fact] public void LogSoftmax() => Run("log_softmax", x => O.LogSoftmax(x[0]), "x");
    [Fact] public void Silu() => Run("silu", x => O.Silu(x[0]), "x");
    [Fact] public void Gelu() => Run("gelu", x => O.Gelu(x[0]), "x");
    [Fact] public void Tanh() => Run("tanh", x => O.Tanh(x[0]), "x");
    [Fact] public void Relu() => Run("relu", x => O.Relu(x[0]), "x");
    [Fact] public void Exp() => Run("exp", x => O.Exp(x[0]), "x");
    [Fact] public void SwiGlu() => Run("swiglu", x => O.SwiGlu(x[0], x[1]), "a", "b");
    [Fact] public void RmsNorm() => Run("rmsnorm", x => O.RmsNorm(x[0], x[1], (float)F.Number("rmsnorm.eps")), "x", "weight");

    [Fact]
    public void Rope()
    {
        var shape = F.GetInfo("rope.x").Shape; // (B, T, H, hs)
        Run("rope", x => O.Rope(x[0], new RotaryCache(shape[1], shape[3], F.Number("rope.base"))), "x");
    }

    [Fact]
    public void FusedCausalSelfAttention()
    {
        var shape = F.GetInfo("attention.qkv").Shape; // (B, T, 3D)
        var heads = (int)F.Number("attention.n_head");
        var hs = shape[2] / 3 / heads;
        Run("attention", x => O.CausalSelfAttention(x[0], heads, new RotaryCache(shape[1], hs, F.Number("attention.base"))), "qkv");
    }

    [Fact] public void CrossEntropy() => Run("cross_entropy", x => O.CrossEntropy(x[0], F.GetInt32("cross_entropy.targets")), "logits");

    [Fact]
    public void CrossEntropyLabelSmoothing() =>
        Run("cross_entropy_ls", x => O.CrossEntropy(x[0], F.GetInt32("cross_entropy_ls.targets"), (float)F.Number("cross_entropy_ls.label_smoothing")), "logits");

    [Fact] public void Mse() => Run("mse", x => O.MseLoss(x[0], x[1]), "pred", "target");

    [Fact]
    public void GaussianNll() =>
        Run("gaussian_nll", x => O.GaussianNllLoss(x[0], x[1], x[2], full: true, eps: (float)F.Number("gaussian_nll.eps")), "mean", "var", "target");
}
