using Dicp.Nn;
using Dicp.Tensors;
using Xunit;
using O = Dicp.Tensors.Ops;

namespace Dicp.Tests.Tensors;

/// <summary>Pooled op results: released at scope end, reused by the next iteration, results identical to unscoped runs.</summary>
public class TensorScopeTests
{
    [Fact]
    public void OpResultsAreReleasedAtScopeEndButParametersAndClonesSurvive()
    {
        var w = new Parameter(4, 300);
        new Generator(1).FillNormal(w.Span);
        Tensor y, view, kept;
        using (TensorScope.Begin())
        {
            y = O.Tanh(w);
            view = O.Reshape(y, 1200);
            kept = y.Clone();
            Assert.Equal(MathF.Tanh(w.Data[7]), y.Data[7]);
        }
        var e = Assert.Throws<ObjectDisposedException>(() => y.Data);
        Assert.Contains("TensorScope", e.Message);
        Assert.Throws<ObjectDisposedException>(() => view.Data);       // views are released too
        Assert.Equal(MathF.Tanh(w.Data[7]), kept.Data[7]);              // a clone is ordinary memory
        Assert.Equal(1200, w.Data.Length);                              // parameters untouched
    }

    [Fact]
    public void ReleasedOpResultsAreRecycledButLeafGradientsAreNot()
    {
        var w = new Parameter(4, 300);
        new Generator(1).FillNormal(w.Span);
        Tensor first, second;
        using (TensorScope.Begin())
        {
            first = O.Tanh(w);
            O.Sum(first).Backward();
        }
        var grad = w.Grad!;
        var expected = 1f - MathF.Tanh(w.Data[7]) * MathF.Tanh(w.Data[7]);
        using (TensorScope.Begin())
        {
            second = O.Exp(w);                                           // the next op of the same rank reuses the object
            Assert.Same(first, second);
            Assert.Equal(MathF.Exp(w.Data[7]), second.Data[7], 5);
            Assert.Equal([4, 300], second.Shape.ToArray());
        }
        Assert.Same(grad, w.Grad);                                       // a leaf keeps its gradient across scopes
        Assert.Equal(expected, w.Grad![7], 6);
    }

    [Fact]
    public void ScopedTrainingStepsGiveBitIdenticalResultsToUnscopedOnes()
    {
        static float[] Train(bool scoped)
        {
            var model = new CausalTokenModel(7, new TransformerConfig(DModel: 16, NLayer: 2, NHead: 2, NInner: 32, Dropout: 0.1f, MaxSeqLen: 24), seed: 5);
            var opt = new Dicp.Optim.AdamW(model.Parameters());
            var g = new Generator(2);
            var losses = new List<float>();
            for (var step = 0; step < 4; step++)
            {
                var x = new int[4 * 24];
                for (var i = 0; i < x.Length; i++) x[i] = g.NextInt(7);
                var scope = scoped ? TensorScope.Begin() : default;
                try
                {
                    opt.ZeroGrad();
                    var loss = O.CrossEntropy(O.Reshape(model.Forward(x, 4, 24), -1, 7), x);
                    loss.Backward();
                    opt.Step();
                    losses.Add(loss.Item());
                }
                finally
                {
                    if (scoped) scope.Dispose();
                }
            }
            return [.. losses, .. model.Parameters().SelectMany(p => p.ToArray())];
        }
        Assert.Equal(Train(scoped: false), Train(scoped: true));
    }

    [Fact]
    public void NestedScopesReleaseOnlyTheirOwnResults()
    {
        var x = Tensor.FromArray(Enumerable.Range(0, 512).Select(i => i * 0.01f).ToArray(), 512);
        using (TensorScope.Begin())
        {
            var outer = O.Exp(x);
            Tensor inner;
            using (TensorScope.Begin()) inner = O.Tanh(outer);
            Assert.Throws<ObjectDisposedException>(() => inner.Data);
            Assert.Equal(MathF.Exp(0.05f), outer.Data[5], 6);            // the outer result is still alive
        }
    }
}
