using Dicp.Nn;
using Dicp.Tensors;
using Xunit;
using O = Dicp.Tensors.Ops;

namespace Dicp.Tests.Ops;

/// <summary>
/// Misuse fails early with the documented exception type and a message that names the problem (shapes, index,
/// key), instead of an <see cref="IndexOutOfRangeException"/> deep inside a kernel or a silently wrong result.
/// </summary>
public class ShapeErrorTests
{
    private static Tensor Z(params int[] shape) => Tensor.Zeros(shape);

    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.True(e.Message.Contains(p, StringComparison.Ordinal), $"message \"{e.Message}\" lacks \"{p}\"");
    }

    [Fact]
    public void LinearWithTheWrongInputLastDimension()
    {
        var layer = new Linear(4, 3, bias: true, new Generator(1));
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Z(2, 5)));
        Mentions(e, "Linear", "[2, 5]", "last dimension 5", "[3, 4]", "expects 4");
        Mentions(Assert.Throws<ArgumentException>(() => O.Linear(Z(2, 4), Z(3, 4), Z(4))), "bias", "[3]", "[4]");
        Mentions(Assert.Throws<ArgumentException>(() => O.Linear(Z(2, 4), Z(3, 4, 1))), "weight", "[3, 4, 1]");
    }

    [Fact]
    public void MatMulInnerMismatch()
    {
        var e = Assert.Throws<ArgumentException>(() => O.MatMul(Z(2, 3), Z(4, 5)));
        Mentions(e, "MatMul", "inner dimensions differ", "[2, 3]", "[4, 5]");
        Mentions(Assert.Throws<ArgumentException>(() => O.MatMul(Z(2, 3), Z(5, 4), transposeB: true)), "[2, 3]", "[4, 5]");
        Mentions(Assert.Throws<ArgumentException>(() => O.MatMul(Z(2, 3, 4), Z(4, 5))), "rank-2", "[2, 3, 4]");
    }

    [Fact]
    public void BatchedMatMulBatchMismatch()
    {
        var e = Assert.Throws<ArgumentException>(() => O.BatchedMatMul(Z(2, 3, 4), Z(3, 4, 5)));
        Mentions(e, "BatchedMatMul", "batch sizes differ", "[2, 3, 4]", "[3, 4, 5]");
        Mentions(Assert.Throws<ArgumentException>(() => O.BatchedMatMul(Z(2, 3, 4), Z(2, 5, 6))), "inner dimensions differ");
        Mentions(Assert.Throws<ArgumentException>(() => O.BatchedMatMul(Z(3, 4), Z(2, 4, 5))), "rank-3");
    }

    [Fact]
    public void AddAndMulWithNonBroadcastableShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => O.Add(Z(2, 3), Z(3, 2)));
        Mentions(e, "Add", "[2, 3]", "[3, 2]", "do not broadcast");
        Mentions(Assert.Throws<ArgumentException>(() => O.Add(Z(2, 3, 4), Z(3, 1))), "[2, 3, 4]", "[3, 1]");
        Mentions(Assert.Throws<ArgumentException>(() => O.Mul(Z(4), Z(2, 3))), "Mul", "do not broadcast");
        Mentions(Assert.Throws<ArgumentException>(() => O.Sub(Z(2, 3), Z(3))), "Sub", "[2, 3]", "[3]");
    }

    [Fact]
    public void ReshapeToAnIncompatibleShape()
    {
        var e = Assert.Throws<ArgumentException>(() => O.Reshape(Z(2, 3), 4, 2));
        Mentions(e, "Reshape", "[2, 3]", "6 elements", "[4, 2]");
        Mentions(Assert.Throws<ArgumentException>(() => O.Reshape(Z(2, 3), 4, -1)), "Reshape", "−1", "[4, -1]");
        Mentions(Assert.Throws<ArgumentException>(() => O.Reshape(Z(2, 3), -2, -3)), "negative");
    }

    [Fact]
    public void PermuteWithARepeatedAxis()
    {
        var e = Assert.Throws<ArgumentException>(() => O.Permute(Z(2, 3, 4), 0, 2, 0));
        Mentions(e, "Permute", "axis 0 appears twice");
        Mentions(Assert.Throws<ArgumentException>(() => O.Permute(Z(2, 3, 4), 1, -1, 2)), "axis 2 appears twice");
        Mentions(Assert.Throws<ArgumentException>(() => O.Permute(Z(2, 3, 4), 1, 0)), "2 axes", "rank 3");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => O.Permute(Z(2, 3), 0, 2)), "Axis 2 is out of range", "rank 2");
    }

    [Fact]
    public void SliceOutOfRange()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => O.Slice(Z(2, 5, 3), 1, 3, 3));
        Mentions(e, "Slice", "[3, 6)", "axis 1 of size 5", "[2, 5, 3]");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => O.Slice(Z(4), 0, -1, 2)), "[-1, 1)");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => O.Slice(Z(4), 3, 0, 1)), "Axis 3", "rank 1");
    }

    [Fact]
    public void ConcatMismatch()
    {
        var e = Assert.Throws<ArgumentException>(() => O.Concat([Z(2, 3), Z(2, 4), Z(3, 3)], 1));
        Mentions(e, "Concat", "[3, 3]", "[2, 3]", "outside axis 1");
        Mentions(Assert.Throws<ArgumentException>(() => O.Concat([Z(2, 3), Z(2, 3, 1)], 0)), "[2, 3, 1]");
        Mentions(Assert.Throws<ArgumentException>(() => O.Concat([], 0)), "no tensors");
    }

    [Fact]
    public void IndexSelectGatherAndEmbeddingIndexOutOfRange()
    {
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => O.IndexSelect(Z(2, 3, 4), 1, [0, 3]));
        Mentions(e1, "IndexSelect", "index 3", "axis 1 of size 3");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => O.IndexSelect(Z(2, 3), 0, [-1])), "index -1");

        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => O.Gather(Z(3, 4), [0, 1, 2, 3, 4, 0], [3, 2]));
        Mentions(e2, "Gather", "index 4", "size 4");
        Mentions(Assert.Throws<ArgumentException>(() => O.Gather(Z(3, 4), [0, 1], [2, 1])), "Gather", "[2, 1]", "[3, 4]");

        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => O.Embedding(Z(5, 2), [1, 5], [2]));
        Mentions(e3, "Embedding", "id 5", "5 rows");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => O.Embedding(Z(5, 2), [-2], [1])), "id -2");
        Mentions(Assert.Throws<ArgumentException>(() => O.Embedding(Z(5, 2), [1, 2, 3], [2, 2])), "3 ids", "[2, 2]");

        var table = new Embedding(7, 4, new Generator(1));
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => table.Forward([0, 7], [2])), "id 7", "7 rows");
        var model = new CausalTokenModel(9, new TransformerConfig(DModel: 8, NLayer: 1, NHead: 2, NInner: 16, MaxSeqLen: 8), seed: 1);
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([1, 2, 9, 3], 1, 4)), "id 9", "9 rows");
        Mentions(Assert.Throws<ArgumentException>(() => model.Forward([1, 2, 3], 2, 2)), "3 tokens", "(2, 2)");
    }

    [Fact]
    public void CrossEntropyTargetOutOfRangeAndWrongTargetCount()
    {
        var logits = Z(3, 4);
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => O.CrossEntropy(logits, [0, 4, 1]));
        Mentions(e1, "CrossEntropy", "target 4", "4 classes");
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => O.CrossEntropy(logits, [0, -1, 1])), "target -1");
        var e2 = Assert.Throws<ArgumentException>(() => O.CrossEntropy(logits, [0, 1]));
        Mentions(e2, "CrossEntropy", "2 targets", "3 rows", "[3, 4]");
        Mentions(Assert.Throws<ArgumentException>(() => O.CrossEntropy(Z(2, 3, 4), [0, 1, 2])), "3 targets", "6 rows");
        // The ignore index is not "out of range".
        Assert.False(float.IsNaN(O.CrossEntropy(logits, [0, -100, 1]).Item()));
    }

    [Fact]
    public void RmsNormWrongWeightShape()
    {
        var e = Assert.Throws<ArgumentException>(() => O.RmsNorm(Z(2, 4), Z(3)));
        Mentions(e, "RmsNorm", "[4]", "[2, 4]", "got [3]");
        Mentions(Assert.Throws<ArgumentException>(() => O.RmsNorm(Z(2, 4), Z(1, 4))), "got [1, 4]");
        var norm = new RmsNorm(6);
        Mentions(Assert.Throws<ArgumentException>(() => norm.Forward(Z(2, 4))), "[6]", "[2, 4]");
    }

    [Fact]
    public void CausalSelfAttentionBadQkvShape()
    {
        var e = Assert.Throws<ArgumentException>(() => O.CausalSelfAttention(Z(2, 5, 10), nHead: 2, rope: null));
        Mentions(e, "CausalSelfAttention", "(B, T, 3·D)", "2 heads", "[2, 5, 10]");
        Mentions(Assert.Throws<ArgumentException>(() => O.CausalSelfAttention(Z(5, 12), nHead: 2, rope: null)), "[5, 12]");
        // Rotary tables for another head size, or too few positions.
        Mentions(Assert.Throws<ArgumentException>(() => O.CausalSelfAttention(Z(1, 4, 24), 2, new RotaryCache(8, 6))), "head size 6", "needs 4");
        Mentions(Assert.Throws<ArgumentException>(() => O.CausalSelfAttention(Z(1, 9, 24), 2, new RotaryCache(8, 4))), "≤ 8 positions", "9");
    }

    [Fact]
    public void CausalSelfAttentionDropoutWithoutGenerator()
    {
        var e = Assert.Throws<ArgumentNullException>(() => O.CausalSelfAttention(Z(1, 3, 12), 2, rope: null, dropout: 0.1f));
        Mentions(e, "dropout needs a generator");
        Assert.Equal("generator", e.ParamName);
        Mentions(Assert.Throws<ArgumentOutOfRangeException>(() => O.CausalSelfAttention(Z(1, 3, 12), 2, null, 1f, new Generator(1))), "[0, 1)");

        // The module with dropout, used without a generator, says how to fix it; in eval mode no generator is needed.
        var layer = new CausalSelfAttention(8, 2, 0.1f, new RotaryCache(16, 4), new Generator(1));
        Mentions(Assert.Throws<InvalidOperationException>(() => layer.Forward(Z(1, 3, 8))), "CausalSelfAttention", "SetGenerator");
        layer.Eval();
        Assert.Equal([1, 3, 8], layer.Forward(Z(1, 3, 8)).Shape.ToArray());
        var norm = new RmsNorm(8, inputDropout: 0.2f);
        Mentions(Assert.Throws<InvalidOperationException>(() => norm.Forward(Z(1, 8))), "RmsNorm", "SetGenerator");
    }

    [Fact]
    public void TransformerInputWithTheWrongDModel()
    {
        var model = new Transformer(new TransformerConfig(DModel: 16, NLayer: 1, NHead: 2, NInner: 32, MaxSeqLen: 8), new Generator(1));
        var e = Assert.Throws<ArgumentException>(() => model.Forward(Z(2, 4, 12)));
        Mentions(e, "Transformer", "16", "[2, 4, 12]");
        Mentions(Assert.Throws<ArgumentException>(() => model.Forward(Z(2, 9, 16))), "T ≤ 8", "[2, 9, 16]");
        Mentions(Assert.Throws<ArgumentException>(() => model.Forward(Z(4, 16))), "[4, 16]");
    }

    [Fact]
    public void BackwardOnANonScalarWithoutASeed()
    {
        var x = new Tensor(new float[6], [2, 3], requiresGrad: true);
        var y = O.Scale(x, 2f);
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Mentions(e, "one-element", "[2, 3]");
        Assert.Null(x.Grad);
        var e2 = Assert.Throws<ArgumentException>(() => y.Backward(new float[5]));
        Mentions(e2, "5 elements", "[2, 3]", "6");
    }

    [Fact]
    public void BackwardOnATensorThatDoesNotRequireGrad()
    {
        var x = Tensor.FromArray([1f, 2f], 2);
        var loss = O.Sum(O.Mul(x, x));
        Assert.False(loss.RequiresGrad);
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Mentions(e, "does not require gradients");
    }

    [Fact]
    public void TensorConstructorWithTooShortStorage()
    {
        var e = Assert.Throws<ArgumentException>(() => new Tensor(new float[5], [2, 3]));
        Mentions(e, "Storage holds 5", "[2, 3]", "needs 6");
        Assert.Equal("data", e.ParamName);
        Mentions(Assert.Throws<ArgumentException>(() => new Tensor(new float[5], [2, -3])), "negative");
        Mentions(Assert.Throws<ArgumentException>(() => Tensor.FromArray([1f, 2f, 3f], 2, 2)), "3 values", "[2, 2]", "4 elements");
        Mentions(Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(2).Item()), "one-element", "[2]");
        // Longer storage is allowed; only the first prod(shape) elements count.
        Assert.Equal(4, new Tensor(new float[10], [2, 2]).Span.Length);
    }

    [Fact]
    public void TransformerConfigWithAnOddHeadSize()
    {
        var config = new TransformerConfig(DModel: 12, NHead: 4); // head size 3
        var e = Assert.Throws<ArgumentException>(config.Validate);
        Mentions(e, "head size 3", "even");
        Mentions(Assert.Throws<ArgumentException>(() => new Transformer(config, new Generator(1))), "head size 3");
        Mentions(Assert.Throws<ArgumentException>(new TransformerConfig(DModel: 30, NHead: 4).Validate), "NHead (4)", "DModel (30)");
        Mentions(Assert.Throws<ArgumentException>(new TransformerConfig(Dropout: 1f).Validate), "Dropout", "[0, 1)");
        Mentions(Assert.Throws<ArgumentException>(new TransformerConfig(NInner: 0).Validate), "NInner");
        new TransformerConfig().Validate(); // the reference config is valid
    }

    [Fact]
    public void CopyFromWithADifferentShape()
    {
        var e = Assert.Throws<ArgumentException>(() => Z(2, 3).CopyFrom(Z(3, 2)));
        Mentions(e, "CopyFrom", "[2, 3]", "[3, 2]");
    }
}
