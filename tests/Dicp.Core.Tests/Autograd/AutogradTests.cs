using Dicp.Autograd;
using Dicp.Nn;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;
using O = Dicp.Tensors.Ops;

namespace Dicp.Tests.Autograd;

/// <summary>
/// Semantics of the reverse-mode engine: accumulation into leaves, fan-out (a tensor used on several paths), the
/// no-grad mode and its scoping, and which tensors keep gradients after <see cref="Tensor.Backward()"/>.
/// All expected gradients here are exact in float32.
/// </summary>
public class AutogradTests
{
    private static Tensor Leaf(params float[] values) => new(values, [values.Length], requiresGrad: true);

    [Fact]
    public void GradientsAccumulateIntoLeavesAcrossBackwardCalls()
    {
        var x = Leaf(1f, 2f, 3f);
        O.Sum(O.Mul(x, x)).Backward();                     // d/dx Σx² = 2x
        Assert.Equal([2f, 4f, 6f], x.Grad!);
        O.Sum(O.Scale(x, 3f)).Backward();                  // + 3
        Assert.Equal([5f, 7f, 9f], x.Grad!);
        O.Sum(O.Mul(x, x)).Backward();                     // + 2x again
        Assert.Equal([7f, 11f, 15f], x.Grad!);

        x.ZeroGrad();
        Assert.Null(x.Grad);
        O.Sum(O.Scale(x, -1f)).Backward();
        Assert.Equal([-1f, -1f, -1f], x.Grad!);
    }

    [Fact]
    public void ParameterGradientsAccumulateAcrossBatchesUntilZeroGrad()
    {
        var layer = new Linear(2, 1, bias: true, new Generator(1));
        var x1 = Tensor.FromArray([1f, 2f], 1, 2);
        var x2 = Tensor.FromArray([-3f, 0.5f], 1, 2);
        O.Sum(layer.Forward(x1)).Backward();
        Assert.Equal([1f, 2f], layer.Weight.Grad!);
        Assert.Equal([1f], layer.Bias!.Grad!);
        O.Sum(layer.Forward(x2)).Backward();
        Assert.Equal([-2f, 2.5f], layer.Weight.Grad!);
        Assert.Equal([2f], layer.Bias.Grad!);
        Assert.Null(x1.Grad);                               // inputs that do not require grad never get one
        layer.ZeroGrad();
        Assert.Null(layer.Weight.Grad);
        Assert.Null(layer.Bias.Grad);
    }

    [Fact]
    public void ATensorUsedTwiceGetsTheSumOfBothPaths()
    {
        // y = x·x + x → dy/dx = 2x + 1.
        var x = Leaf(-1.5f, 0f, 2f, 3.25f);
        var y = O.Add(O.Mul(x, x), x);
        Assert.Equal([0.75f, 0f, 6f, 13.8125f], y.ToArray());
        y.Backward([1f, 1f, 1f, 1f]);
        Assert.Equal([-2f, 1f, 5f, 7.5f], x.Grad!);
    }

    [Fact]
    public void AnIntermediateUsedOnSeveralPathsOfDifferentDepthGetsAllContributionsBeforePropagating()
    {
        // h = 2x;  y = Σ (h·h + h + 8h) with 8h built through three Scale ops → dy/dh = 2h + 9, dy/dx = 2(4x + 9) = 8x + 18.
        var x = Leaf(0.5f, -1f, 4f);
        var h = O.Scale(x, 2f);
        var deep = O.Scale(O.Scale(O.Scale(h, 2f), 2f), 2f);
        var y = O.Sum(O.Add(O.Add(O.Mul(h, h), h), deep));
        y.Backward();
        Assert.Equal([22f, 10f, 50f], x.Grad!);
        Assert.Null(h.Grad);
    }

    [Fact]
    public void FanOutThroughConcatSliceAndReshapeAddsUp()
    {
        // cat = [x, 2x]; s = cat[2:6] = (x₂, x₃, 2x₀, 2x₁); loss = Σs + Σ reshape(x, 2, 2) → grad = (3, 3, 2, 2).
        var x = Leaf(1f, 2f, 3f, 4f);
        var cat = O.Concat([x, O.Scale(x, 2f)], 0);
        var s = O.Slice(cat, 0, 2, 4);
        Assert.Equal([3f, 4f, 2f, 4f], s.ToArray());
        var loss = O.Add(O.Sum(s), O.Sum(O.Reshape(x, 2, 2)));
        Assert.Equal(23f, loss.Item());
        loss.Backward();
        Assert.Equal([3f, 3f, 2f, 2f], x.Grad!);
    }

    [Fact]
    public void ASharedWeightUsedByTwoLayersGetsBothGradients()
    {
        var w = new Tensor([1f, 2f, 3f, 4f], [2, 2], requiresGrad: true);
        var x = Tensor.FromArray([1f, -1f], 1, 2);
        // z = W(Wx): dz/dW summed over both uses. Wx = (−1, −1); W(Wx) = (−3, −7); loss = Σ z.
        var z = O.Linear(O.Linear(x, w), w);
        Assert.Equal([-3f, -7f], z.ToArray());
        O.Sum(z).Backward();
        // Outer use: dW += 1ᵀ·(Wx) per row = [[−1, −1], [−1, −1]]; inner use: dh = Wᵀ1 = (4, 6), dW += dh·xᵀ = [[4, −4], [6, −6]].
        Assert.Equal([3f, -5f, 5f, -7f], w.Grad!);
    }

    [Fact]
    public void NothingIsRecordedUnderNoGradAndTheModeIsRestored()
    {
        var x = Leaf(1f, 2f);
        Assert.True(GradMode.IsEnabled);
        Tensor inside;
        using (GradMode.NoGrad())
        {
            Assert.False(GradMode.IsEnabled);
            inside = O.Sum(O.Mul(x, x));
            Assert.Equal(5f, inside.Item());                 // values are still computed
        }
        Assert.False(inside.RequiresGrad);
        Assert.True(inside.IsLeaf);
        Assert.True(x.RequiresGrad);                         // the leaf itself is untouched
        Assert.Throws<InvalidOperationException>(() => inside.Backward());
        Assert.Null(x.Grad);

        Assert.True(GradMode.IsEnabled);
        var after = O.Sum(O.Mul(x, x));
        Assert.True(after.RequiresGrad);
        Assert.False(after.IsLeaf);
        after.Backward();
        Assert.Equal([2f, 4f], x.Grad!);
    }

    [Fact]
    public void NestedNoGradScopesRestoreTheModeOnlyWhenTheOutermostEnds()
    {
        var x = Leaf(3f);
        using (GradMode.NoGrad())
        {
            using (GradMode.NoGrad())
            {
                Assert.False(GradMode.IsEnabled);
            }
            Assert.False(GradMode.IsEnabled);                // the inner scope does not re-enable
            Assert.False(O.Scale(x, 2f).RequiresGrad);
        }
        Assert.True(GradMode.IsEnabled);
        Assert.True(O.Scale(x, 2f).RequiresGrad);

        // An exception inside the scope still restores the mode.
        static void Boom()
        {
            using var _ = GradMode.NoGrad();
            throw new InvalidOperationException("boom");
        }
        Assert.Throws<InvalidOperationException>(Boom);
        Assert.True(GradMode.IsEnabled);
    }

    [Fact]
    public void NoGradIsPerThread()
    {
        using var _ = GradMode.NoGrad();
        var other = true;
        var t = new Thread(() => other = GradMode.IsEnabled);
        t.Start();
        t.Join();
        Assert.True(other);
        Assert.False(GradMode.IsEnabled);
    }

    [Fact]
    public void ModelForwardUnderNoGradRecordsNothing()
    {
        var model = new Transformer(new TransformerConfig(DModel: 8, NLayer: 1, NHead: 2, NInner: 16, Dropout: 0f, MaxSeqLen: 4), new Generator(1));
        var x = GradCheck.Randn(2, 1f, 1, 4, 8);
        Tensor y;
        using (GradMode.NoGrad()) y = model.Forward(x);
        Assert.False(y.RequiresGrad);
        Assert.True(y.IsLeaf);
        var yGrad = model.Forward(x);
        Assert.True(yGrad.RequiresGrad);
        Assert.Equal(y.ToArray(), yGrad.ToArray());         // same values either way
    }

    [Fact]
    public void IntermediatesDoNotKeepGradientsAfterBackward()
    {
        var x = Leaf(1f, -2f, 0.5f);
        var c = Tensor.FromArray([2f, 2f, 2f], 3);           // a constant leaf
        var h1 = O.Mul(x, c);
        var h2 = O.Mul(h1, h1);
        var loss = O.Sum(h2);
        loss.Backward();
        Assert.Equal([8f, -16f, 4f], x.Grad!);               // d/dx Σ(2x)² = 8x
        Assert.Null(h1.Grad);
        Assert.Null(h2.Grad);
        Assert.Null(c.Grad);
        Assert.False(h1.IsLeaf || h2.IsLeaf);                // still results of ops, as in PyTorch (their graph is freed)

        // The same holds through a whole model: only parameters (and inputs that asked for it) keep gradients.
        var layer = new Linear(3, 2, bias: true, new Generator(4));
        var inp = new Tensor([1f, 2f, 3f], [1, 3], requiresGrad: true);
        var hidden = layer.Forward(inp);
        var act = O.Tanh(hidden);
        O.Sum(act).Backward();
        Assert.Null(hidden.Grad);
        Assert.Null(act.Grad);
        Assert.NotNull(inp.Grad);
        Assert.NotNull(layer.Weight.Grad);
    }

    [Fact]
    public void BatchedMatMulBackwardIntoFreshGradientsIsComplete()
    {
        // The per-batch backward runs in parallel and every batch writes into the same gradient buffers, which do not
        // exist yet when it starts. Large operands with little work per batch make concurrent first use likely.
        const int B = 64, M = 128, K = 128, N = 1;
        for (var rep = 0; rep < 6; rep++)
        {
            var a = GradCheck.Randn(100 + rep, 1f, B, M, K);
            var b = GradCheck.Randn(200 + rep, 1f, B, K, N);
            a.RequiresGrad = b.RequiresGrad = true;
            O.Sum(O.BatchedMatMul(a, b)).Backward();
            // d/da Σ(a·b) [i, m, k] = Σ_n b[i, k, n];  d/db [i, k, n] = Σ_m a[i, m, k].
            var (worstA, worstB) = (0.0, 0.0);
            for (var i = 0; i < B; i++)
                for (var k = 0; k < K; k++)
                {
                    double rowB = 0, colA = 0;
                    for (var n = 0; n < N; n++) rowB += b[(i * K + k) * N + n];
                    for (var m = 0; m < M; m++) colA += a[(i * M + m) * K + k];
                    for (var m = 0; m < M; m++) worstA = Math.Max(worstA, Math.Abs(a.Grad![(i * M + m) * K + k] - rowB) / (1 + Math.Abs(rowB)));
                    for (var n = 0; n < N; n++) worstB = Math.Max(worstB, Math.Abs(b.Grad![(i * K + k) * N + n] - colA) / (1 + Math.Abs(colA)));
                }
            Assert.True(worstA <= 1e-5, $"rep {rep}: worst relative error of da {worstA}");
            Assert.True(worstB <= 1e-5, $"rep {rep}: worst relative error of db {worstB}");
        }
    }

    [Fact]
    public void BatchedMatMulBackwardThroughAChainOfFreshIntermediatesIsComplete()
    {
        // y = x·I·I·…·I (30 batched products with identities): every backward step writes, from parallel batches, into
        // a gradient buffer that does not exist yet. dΣy/dx = 1 exactly; a lost write shows up as a 0.
        const int B = 64, M = 256, K = 8, L = 30;
        var eye = Tensor.Zeros(B, K, K);
        for (var i = 0; i < B; i++)
            for (var k = 0; k < K; k++) eye[(i * K + k) * K + k] = 1f;
        for (var rep = 0; rep < 20; rep++)
        {
            var x = GradCheck.Randn(300 + rep, 1f, B, M, K);
            x.RequiresGrad = true;
            var y = x;
            for (var l = 0; l < L; l++) y = O.BatchedMatMul(y, eye);
            Assert.Equal(x.ToArray(), y.ToArray());
            O.Sum(y).Backward();
            var wrong = x.Grad!.Count(g => g != 1f);
            Assert.True(wrong == 0, $"rep {rep}: {wrong} of {x.Size} gradient entries are not 1");
        }
    }

    [Fact]
    public void ASecondBackwardThroughAFreedGraphThrowsInsteadOfSilentlyLosingGradients()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 3);
        x.RequiresGrad = true;
        var h = O.Mul(x, x);
        var y1 = O.Sum(h);
        var y2 = O.Sum(O.Scale(h, 3f));
        y1.Backward();
        Assert.Equal([2f, 4f, 6f], x.Grad!);
        var e = Assert.Throws<InvalidOperationException>(() => y2.Backward());   // reaches h, already freed
        Assert.Contains("already freed", e.Message);
        Assert.Throws<InvalidOperationException>(() => y1.Backward());           // the root itself was freed
        Assert.Equal([2f, 4f, 6f], x.Grad!);                                      // nothing half-applied

        // The supported way: sum the losses, one backward.
        x.ZeroGrad();
        h = O.Mul(x, x);
        O.Add(O.Sum(h), O.Sum(O.Scale(h, 3f))).Backward();
        Assert.Equal([8f, 16f, 24f], x.Grad!);
    }
}
