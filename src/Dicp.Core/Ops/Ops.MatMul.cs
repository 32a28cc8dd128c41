
using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

/// <summary>
/// The differentiable operations of Dicp's engine. Every op computes its forward pass and, when gradients are being
/// recorded, registers the backward pass that accumulates into its inputs' gradients; both live side by side.
/// </summary>
public static partial class Ops
{
    /// <summary>Fully connected layer with a fused bias: <c>y = x·Wᵀ + b</c>.</summary>
    /// <remarks>Shapes: x (…, K), weight (N, K) as PyTorch's <c>nn.Linear</c>, bias (N) or null → y (…, N).
    /// Backward: dx = dy·W, dW = dyᵀ·x, db = Σ dy over rows.</remarks>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ShapeUtil.CheckRankAtLeast(x, 1, nameof(Linear), "input");
        if (weight.Rank != 2) throw new ArgumentException($"Linear: weight must be (out, in), got {ShapeUtil.Format(weight.Shape)}.");
        int n = weight.Shape[0], k = weight.Shape[1];
        if (x.Shape[^1] != k) throw new ArgumentException($"Linear: input {ShapeUtil.Format(x.Shape)} has last dimension {x.Shape[^1]} but weight {ShapeUtil.Format(weight.Shape)} expects {k}.");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != n))
            throw new ArgumentException($"Linear: bias must have shape [{n}], got {ShapeUtil.Format(bias.Shape)}.");
        var m = ShapeUtil.Prod(x.Shape, 0, x.Rank - 1); // rows of the flattened (M, K) input

        Span<int> shape = stackalloc int[x.Rank];
        x.Shape.CopyTo(shape);
        shape[^1] = n;
        var y = Tensor.Uninitialized(shape); // (…, N)
        if (bias is not null)
            for (var i = 0; i < m; i++) bias.Span.CopyTo(y.Data.AsSpan(i * n, n));
        Gemm.Multiply(false, true, m, n, k, x.Data, 0, k, weight.Data, 0, k, y.Data, 0, n, accumulate: bias is not null);

        if (GradMode.ShouldRecord(x, weight, bias))
        {
            y.Record("linear", bias is null ? [x, weight] : [x, weight, bias], (x, weight, bias, m, n, k), static (y, _, s) =>
            {
                var (x, weight, bias, m, n, k) = s;
                var gy = y.Grad!;
                if (x.RequiresGrad)
                {
                    var gx = x.GradForWrite(out var acc); // a fresh gradient is written, not cleared then accumulated
                    Gemm.Multiply(false, false, m, k, n, gy, 0, n, weight.Data, 0, k, gx, 0, k, acc);                        // dx (M,K) (+)= dy (M,N) · W (N,K)
                }
                if (weight.RequiresGrad) Gemm.Multiply(true, false, n, k, m, gy, 0, n, x.Data, 0, k, weight.EnsureGrad(), 0, k, true); // dW (N,K) += dyᵀ (N,M) · x (M,K)
                if (bias is not null && bias.RequiresGrad) ColumnSumAccumulate(gy, m, n, bias.EnsureGrad());
            });
        }
        return y;
    }

    /// <summary>Matrix product <c>op(a)·op(b)</c> of two rank-2 tensors.</summary>
    /// <remarks>a (M, K) or (K, M) when <paramref name="transposeA"/>; b (K, N) or (N, K) when <paramref name="transposeB"/> → (M, N).
    /// Backward: da = dy·op(b)ᵀ, db = op(a)ᵀ·dy (transposed back as needed).</remarks>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rank != 2 || b.Rank != 2) throw new ArgumentException($"MatMul: needs rank-2 operands, got {ShapeUtil.Format(a.Shape)} and {ShapeUtil.Format(b.Shape)}; use BatchedMatMul for batches.");
        int m = transposeA ? a.Shape[1] : a.Shape[0], k = transposeA ? a.Shape[0] : a.Shape[1];
        int kb = transposeB ? b.Shape[1] : b.Shape[0], n = transposeB ? b.Shape[0] : b.Shape[1];
        if (k != kb) throw new ArgumentException($"MatMul: inner dimensions differ: op(a) is [{m}, {k}], op(b) is [{kb}, {n}].");
        var y = Tensor.Uninitialized([m, n]);
        Gemm.Multiply(transposeA, transposeB, m, n, k, a.Data, 0, a.Shape[1], b.Data, 0, b.Shape[1], y.Data, 0, n, false);
        if (GradMode.ShouldRecord(a, b))
        {
            y.Record("matmul", [a, b], (a, b, m, n, k, transposeA, transposeB), static (y, _, s) =>
                MatMulBackward(s.a, s.b, y.Grad!, 0, 0, 0, s.m, s.n, s.k, s.transposeA, s.transposeB));
        }
        return y;
    }

    /// <summary>Batched matrix product: a (B, M, K) · b (B, K, N) → (B, M, N), with optional per-matrix transposes.</summary>
    /// <remarks>With <paramref name="transposeA"/> a is (B, K, M); with <paramref name="transposeB"/> b is (B, N, K).</remarks>
    public static Tensor BatchedMatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rank != 3 || b.Rank != 3) throw new ArgumentException($"BatchedMatMul: needs rank-3 operands, got {ShapeUtil.Format(a.Shape)} and {ShapeUtil.Format(b.Shape)}.");
        if (a.Shape[0] != b.Shape[0]) throw new ArgumentException($"BatchedMatMul: batch sizes differ: {ShapeUtil.Format(a.Shape)} and {ShapeUtil.Format(b.Shape)}.");
        int batch = a.Shape[0];
        int m = transposeA ? a.Shape[2] : a.Shape[1], k = transposeA ? a.Shape[1] : a.Shape[2];
        int kb = transposeB ? b.Shape[2] : b.Shape[1], n = transposeB ? b.Shape[1] : b.Shape[2];
        if (k != kb) throw new ArgumentException($"BatchedMatMul: inner dimensions differ: op(a) is [{m}, {k}], op(b) is [{kb}, {n}].");
        var y = Tensor.Uninitialized([batch, m, n]);
        var product = new BatchedProduct(a, b, y, m, n, k, transposeA, transposeB, Backward: false);
        ParallelLoop.For(0, batch, product);
        if (GradMode.ShouldRecord(a, b))
        {
            y.Record("bmm", [a, b], product with { Backward = true }, static (y, _, product) =>
            {
                // Allocate the gradient buffers once, before the batches write into them in parallel (a lazy
                // EnsureGrad inside the loop races: two threads each allocate, and one buffer's writes are lost).
                if (product.A.RequiresGrad) product.A.EnsureGrad();
                if (product.B.RequiresGrad) product.B.EnsureGrad();
                ParallelLoop.For(0, y.Shape[0], product);
            });
        }
        return y;
    }

    /// <summary>Matrix i of <see cref="BatchedMatMul"/>: its forward product, or its backward into a and b.</summary>
    private readonly record struct BatchedProduct(Tensor A, Tensor B, Tensor Y, int M, int N, int K, bool TransposeA, bool TransposeB, bool Backward) : IParallelBody
    {
        public void Run(int i)
        {
            int sa = M * K, sb = K * N, sy = M * N;
            if (Backward) MatMulBackward(A, B, Y.Grad!, i * sa, i * sb, i * sy, M, N, K, TransposeA, TransposeB);
            else Gemm.Multiply(TransposeA, TransposeB, M, N, K, A.Data, i * sa, A.Shape[2], B.Data, i * sb, B.Shape[2], Y.Data, i * sy, N, false);
        }
    }

    /// <summary>Backward of one product y = op(a)·op(b) at the given offsets.</summary>
    private static void MatMulBackward(Tensor a, Tensor b, float[] gy, int offA, int offB, int offY, int m, int n, int k, bool ta, bool tb)
    {
        var lda = ta ? m : k;
        var ldb = tb ? k : n;
        if (a.RequiresGrad)
        {
            var ga = a.EnsureGrad();
            if (!ta) Gemm.Multiply(false, !tb, m, k, n, gy, offY, n, b.Data, offB, ldb, ga, offA, k, true);  // da (M,K) += dy · op(b)ᵀ
            else Gemm.Multiply(tb, true, k, m, n, b.Data, offB, ldb, gy, offY, n, ga, offA, m, true);        // daᵀ (K,M) += op(b) · dyᵀ
        }
        if (b.RequiresGrad)
        {
            var gb = b.EnsureGrad();
            if (!tb) Gemm.Multiply(!ta, false, k, n, m, a.Data, offA, lda, gy, offY, n, gb, offB, n, true);  // db (K,N) += op(a)ᵀ · dy
            else Gemm.Multiply(true, ta, n, k, m, gy, offY, n, a.Data, offA, lda, gb, offB, k, true);        // dbᵀ (N,K) += dyᵀ · op(a)
        }
    }

    /// <summary>acc[j] += Σ_i g[i, j] for a row-major (rows, cols) matrix.</summary>
    internal static void ColumnSumAccumulate(float[] g, int rows, int cols, float[] acc)
    {
        var dst = acc.AsSpan(0, cols);
        for (var i = 0; i < rows; i++) TensorPrimitives.Add(dst, g.AsSpan(i * cols, cols), dst);
    }
}
