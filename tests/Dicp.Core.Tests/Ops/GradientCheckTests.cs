using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;

namespace Dicp.Tests.Ops;

/// <summary>
/// Every differentiable op against central finite differences (h = 1e-2 on float32 forward passes, loss in double).
/// Tolerance: |autodiff − numeric| ≤ 1e-3 + 1e-2·|numeric| unless stated.
/// </summary>
public class GradientCheckTests
{
    private static Tensor R(int seed, params int[] shape) => Randn(seed, 1f, shape);

    [Fact] public void Linear() => Check(x => Dicp.Tensors.Ops.Linear(x[0], x[1], x[2]), [R(1, 2, 3, 5), R(2, 4, 5), R(3, 4)]);
    [Fact] public void LinearNoBias() => Check(x => Dicp.Tensors.Ops.Linear(x[0], x[1]), [R(1, 7, 5), R(2, 9, 5)]);
    [Fact] public void LinearLargeParallel() => Check(x => Dicp.Tensors.Ops.Linear(x[0], x[1], x[2]), [R(1, 300, 3), R(2, 40, 3), R(3, 40)], h: 1e-2f, rtol: 2e-2, atol: 3e-3);
    [Fact] public void MatMul() => Check(x => Dicp.Tensors.Ops.MatMul(x[0], x[1]), [R(1, 3, 5), R(2, 5, 4)]);
    [Fact] public void MatMulTransposed() => Check(x => Dicp.Tensors.Ops.MatMul(x[0], x[1], true, true), [R(1, 5, 3), R(2, 4, 5)]);
    [Fact] public void BatchedMatMul() => Check(x => Dicp.Tensors.Ops.BatchedMatMul(x[0], x[1]), [R(1, 2, 3, 5), R(2, 2, 5, 4)]);
    [Fact] public void BatchedMatMulTransposedB() => Check(x => Dicp.Tensors.Ops.BatchedMatMul(x[0], x[1], false, true), [R(1, 2, 3, 5), R(2, 2, 4, 5)]);
    [Fact] public void BatchedMatMulTransposedA() => Check(x => Dicp.Tensors.Ops.BatchedMatMul(x[0], x[1], true, false), [R(1, 2, 5, 3), R(2, 2, 5, 4)]);
    [Fact] public void Add() => Check(x => Dicp.Tensors.Ops.Add(x[0], x[1]), [R(1, 2, 3), R(2, 2, 3)]);
    [Fact] public void AddBroadcast() => Check(x => Dicp.Tensors.Ops.Add(x[0], x[1]), [R(1, 2, 3, 4), R(2, 4)]);
    [Fact] public void AddBroadcastReversed() => Check(x => Dicp.Tensors.Ops.Add(x[1], x[0]), [R(1, 2, 3, 4), R(2, 3, 4)]);
    [Fact] public void Sub() => Check(x => Dicp.Tensors.Ops.Sub(x[0], x[1]), [R(1, 2, 3), R(2, 2, 3)]);
    [Fact] public void Mul() => Check(x => Dicp.Tensors.Ops.Mul(x[0], x[1]), [R(1, 2, 3), R(2, 2, 3)]);
    [Fact] public void MulBroadcast() => Check(x => Dicp.Tensors.Ops.Mul(x[0], x[1]), [R(1, 5, 3, 4), R(2, 4)]);
    [Fact] public void Scale() => Check(x => Dicp.Tensors.Ops.Scale(x[0], -0.7f), [R(1, 2, 3)]);
    [Fact] public void AddScalar() => Check(x => Dicp.Tensors.Ops.AddScalar(x[0], 2.5f), [R(1, 2, 3)]);
    [Fact] public void Reshape() => Check(x => Dicp.Tensors.Ops.Reshape(x[0], 3, -1), [R(1, 2, 3, 2)]);
    [Fact] public void Transpose() => Check(x => Dicp.Tensors.Ops.Transpose(x[0], 0, 2), [R(1, 2, 3, 4)]);
    [Fact] public void Permute() => Check(x => Dicp.Tensors.Ops.Permute(x[0], 2, 0, 3, 1), [R(1, 2, 3, 4, 2)]);
    [Fact] public void Slice() => Check(x => Dicp.Tensors.Ops.Slice(x[0], 1, 1, 2), [R(1, 2, 4, 3)]);
    [Fact] public void Concat() => Check(x => Dicp.Tensors.Ops.Concat([x[0], x[1], x[0]], 1), [R(1, 2, 3, 2), R(2, 2, 1, 2)]);
    [Fact] public void IndexSelect() => Check(x => Dicp.Tensors.Ops.IndexSelect(x[0], 1, [2, 0, 2]), [R(1, 2, 3, 2)]);
    [Fact] public void Gather() => Check(x => Dicp.Tensors.Ops.Gather(x[0], [1, 1, 0, 3, 2, 2], [3, 2]), [R(1, 3, 4)]);
    [Fact] public void Embedding() => Check(x => Dicp.Tensors.Ops.Embedding(x[0], [4, 1, 1, 0], [2, 2]), [R(1, 5, 3)]);
    [Fact] public void SumAxis() => Check(x => Dicp.Tensors.Ops.Sum(x[0], 1), [R(1, 2, 3, 4)]);
    [Fact] public void MeanAxisKeepDim() => Check(x => Dicp.Tensors.Ops.Mean(x[0], -1, keepDim: true), [R(1, 2, 3, 4)]);
    [Fact] public void SumAll() => Check(x => Dicp.Tensors.Ops.Sum(x[0]), [R(1, 2, 3)]);
    [Fact] public void MeanAll() => Check(x => Dicp.Tensors.Ops.Mean(x[0]), [R(1, 2, 3)]);
    [Fact] public void Softmax() => Check(x => Dicp.Tensors.Ops.Softmax(x[0]), [R(1, 3, 6)]);
    [Fact] public void LogSoftmax() => Check(x => Dicp.Tensors.Ops.LogSoftmax(x[0]), [R(1, 3, 6)]);
    [Fact] public void Exp() => Check(x => Dicp.Tensors.Ops.Exp(x[0]), [Randn(1, 0.5f, 3, 4)]);
    [Fact] public void Log() => Check(x => Dicp.Tensors.Ops.Log(x[0]), [Tensor.FromArray([0.5f, 1f, 2f, 3f, 1.5f, 0.8f], 2, 3)], h: 1e-3f);
    [Fact] public void Tanh() => Check(x => Dicp.Tensors.Ops.Tanh(x[0]), [R(1, 3, 4)]);
    [Fact] public void Silu() => Check(x => Dicp.Tensors.Ops.Silu(x[0]), [R(1, 3, 7)]);
    [Fact] public void Gelu() => Check(x => Dicp.Tensors.Ops.Gelu(x[0]), [R(1, 3, 7)]);
    [Fact] public void SwiGlu() => Check(x => Dicp.Tensors.Ops.SwiGlu(x[0], x[1]), [R(1, 3, 7), R(2, 3, 7)]);

    [Fact]
    public void Relu()
    {
        // Keep inputs away from the kink at 0 so the central difference is exact.
        var x = Tensor.FromArray([-1.5f, 0.3f, 2f, -0.2f, 0.7f, -3f], 2, 3);
        Check(t => Dicp.Tensors.Ops.Relu(t[0]), [x]);
    }

    // Min and Max: entries 0-3 differ by more than h (one operand picked), entries 4-5 tie exactly; at a tie the central
    // difference of max(a + h, b) − max(a − h, b) over 2h is ½ for each operand, the split of the backward pass.
    private static Tensor[] MinMaxInputs() =>
        [Tensor.FromArray([0.5f, -1f, 2f, 0.3f, 0.7f, -0.4f], 2, 3), Tensor.FromArray([-0.5f, 1f, 2.5f, 0.1f, 0.7f, -0.4f], 2, 3)];

    [Fact] public void Max() => Check(x => Dicp.Tensors.Ops.Max(x[0], x[1]), MinMaxInputs());

    [Fact] public void Min() => Check(x => Dicp.Tensors.Ops.Min(x[0], x[1]), MinMaxInputs());

    [Fact]
    public void MinMaxOfATensorWithItselfPassTheWholeGradient()
    {
        // Every entry ties: ½ + ½ = the gradient of the identity.
        Check(x => Dicp.Tensors.Ops.Max(x[0], x[0]), [R(1, 2, 3)]);
        Check(x => Dicp.Tensors.Ops.Min(x[0], x[0]), [R(2, 2, 3)]);
    }

    [Fact]
    public void MinMaxForwardPicksAndPropagatesNaN()
    {
        var a = Tensor.FromArray([1f, -2f, float.NaN, 3f], 4);
        var b = Tensor.FromArray([0f, 5f, 1f, 3f], 4);
        Assert.Equal([1f, 5f, float.NaN, 3f], Dicp.Tensors.Ops.Max(a, b).ToArray());
        Assert.Equal([0f, -2f, float.NaN, 3f], Dicp.Tensors.Ops.Min(a, b).ToArray());
        Assert.Throws<ArgumentException>(() => Dicp.Tensors.Ops.Max(a, Tensor.FromArray([1f, 2f], 2)));
    }

    [Fact]
    public void ClippedSurrogate()
    {
        // PPO's objective as cleanrl writes it, max(−A·r, −A·clamp(r, 0.8, 1.2)), with ratios inside the clip range (the
        // two terms tie), outside it on either side, and advantages of both signs (h small enough not to cross a bound).
        var ratio = Tensor.FromArray([1.05f, 0.9f, 1.5f, 0.5f, 1.5f, 0.5f], 6);
        var advantage = Tensor.FromArray([1f, -2f, 1f, 1f, -1f, -0.5f], 6);
        Check(x =>
        {
            var negAdv = Dicp.Tensors.Ops.Scale(x[1], -1f);
            return Dicp.Tensors.Ops.Max(Dicp.Tensors.Ops.Mul(negAdv, x[0]), Dicp.Tensors.Ops.Mul(negAdv, Dicp.Tensors.Ops.Clamp(x[0], 0.8f, 1.2f)));
        }, [ratio, advantage], h: 1e-3f);
    }

    [Fact] public void RmsNorm() => Check(x => Dicp.Tensors.Ops.RmsNorm(x[0], x[1]), [R(1, 3, 4, 8), R(2, 8)]);

    [Fact] public void Rope() => Check(x => Dicp.Tensors.Ops.Rope(x[0], new RotaryCache(16, 8)), [R(1, 2, 5, 2, 8)]);

    [Fact]
    public void CausalSelfAttentionWithRope() =>
        Check(x => Dicp.Tensors.Ops.CausalSelfAttention(x[0], 2, new RotaryCache(16, 4)), [R(1, 2, 5, 24)]);

    [Fact]
    public void CausalSelfAttentionWithDropout()
    {
        // The mask is a function of the key drawn from the generator, so re-seeding per call gives the same mask every time.
        Check(x => Dicp.Tensors.Ops.CausalSelfAttention(x[0], 2, new RotaryCache(16, 4), 0.3f, new Generator(9)), [R(1, 2, 6, 24)]);
    }

    [Fact]
    public void Dropout() => Check(x => Dicp.Tensors.Ops.Dropout(x[0], 0.4f, new Generator(5)), [R(1, 4, 37)]);

    [Fact] public void CrossEntropy() => Check(x => Dicp.Tensors.Ops.CrossEntropy(x[0], [1, 0, 4, 2]), [R(1, 4, 5)]);
    [Fact] public void CrossEntropyLabelSmoothingIgnoreIndex() => Check(x => Dicp.Tensors.Ops.CrossEntropy(x[0], [1, -100, 4, 2], 0.2f), [R(1, 4, 5)]);
    [Fact] public void Mse() => Check(x => Dicp.Tensors.Ops.MseLoss(x[0], x[1]), [R(1, 3, 4), R(2, 3, 4)]);

    [Fact]
    public void GaussianNll()
    {
        var variance = Dicp.Tensors.Ops.Exp(Randn(3, 0.5f, 3, 4));
        variance.RequiresGrad = false;
        var v = variance.Detach();
        Check(x => Dicp.Tensors.Ops.GaussianNllLoss(x[0], x[1], x[2]), [R(1, 3, 4), v, R(2, 3, 4)], h: 1e-3f);
    }
}
