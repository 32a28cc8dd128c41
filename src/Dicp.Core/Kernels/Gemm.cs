using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>
/// Single-precision matrix multiply <c>C = β·C + op(A)·op(B)</c> (β ∈ {0, 1}) with register-blocked SIMD micro-kernels.
/// </summary>
/// <remarks>
/// op(A) is M×K, op(B) is K×N, all row-major with leading dimensions. A transposed B is packed into row-major scratch
/// first; A is read in place through row and column strides. The micro-kernel streams rows of B and broadcasts elements of A: 8 rows × 32 columns
/// (2 × <see cref="Vector512{T}"/>, 16 accumulators) and 4 × 32 on AVX-512, 6 × 16 (2 × <see cref="Vector256{T}"/>,
/// 12 accumulators) on AVX2, then 4 × 16, 4 × 8 and single-row tails. Every element of C is the same FMA chain over k
/// whichever panel computes it, so the panel choice never changes results (<see cref="KernelOptions.Portable"/>
/// selects the panels of before the 6 × 16 one, as a reference).
/// Work is split over row blocks when M is large and over fixed K chunks (partial sums added in a fixed order) when
/// M is small and K is large, so results do not depend on the number of threads.
/// </remarks>
internal static partial class Gemm
{
    private const int Mr = 4;
    private const int KChunk = 512; // weight gradients at batch 64 (K = 5 184) still split into 11 tasks
    private const long ParallelFlops = 1L << 17;

    /// <summary>C[M×N] (+)= op(A)·op(B). A is M×K (or K×M when <paramref name="transA"/>), B is K×N (or N×K when <paramref name="transB"/>).</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, bool accumulate) =>
        MultiplyWithPanels(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate, KernelOptions.Portable);

    /// <summary><see cref="Multiply"/> with the panels chosen by the caller: <paramref name="portable"/> runs without the
    /// AVX2 6 × 16 panel (the same results bit for bit, slower on an AVX2 host).</summary>
    public static void MultiplyWithPanels(bool transA, bool transB, int m, int n, int k,
        float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, bool accumulate, bool portable)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) for (var i = 0; i < m; i++) c.AsSpan(cOff + i * ldc, n).Clear();
            return;
        }

        // op(A)[i, p] = A[i·sr + p·sk]: a transposed A is read in place (4 consecutive rows are contiguous for a fixed p).
        int sr = transA ? 1 : lda, sk = transA ? lda : 1;
        float[]? packB = null;
        try
        {
            if (transB)
            {
                packB = ArrayPool<float>.Shared.Rent(k * n);
                Transpose(b, bOff, ldb, n, k, packB);   // (N, K) -> (K, N)
                b = packB; bOff = 0; ldb = n;
            }
            MultiplyNN(m, n, k, a, aOff, sr, sk, b, bOff, ldb, c, cOff, ldc, accumulate, UsesWidePanel(portable));
        }
        finally
        {
            if (packB is not null) ArrayPool<float>.Shared.Return(packB);
        }
    }

    /// <summary>
    /// C (M×N) (+)= A (M×K) · B (K×N, stored from <paramref name="bOff"/>), all row-major and dense, on the calling
    /// thread: the same row blocks <see cref="Multiply"/> would run (so the same results), without a parallel split.
    /// </summary>
    public static void MultiplyRows(int m, int n, int k, float[] a, float[] b, int bOff, float[] c, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) c.AsSpan(0, m * n).Clear();
            return;
        }
        Block(0, m, n, 0, k, a, 0, k, 1, b, bOff, n, c, 0, n, accumulate, UsesWidePanel(KernelOptions.Portable));
    }

    /// <summary>dst (cols × rows) = transpose of src (rows × cols, leading dimension ld).</summary>
    public static void Transpose(float[] src, int off, int ld, int rows, int cols, Span<float> dst)
    {
        const int Tile = 32;
        for (var r0 = 0; r0 < rows; r0 += Tile)
        {
            var r1 = Math.Min(rows, r0 + Tile);
            for (var c0 = 0; c0 < cols; c0 += Tile)
            {
                var c1 = Math.Min(cols, c0 + Tile);
                for (var r = r0; r < r1; r++)
                {
                    var s = off + r * ld;
                    for (var cc = c0; cc < c1; cc++) dst[cc * rows + r] = src[s + cc];
                }
            }
        }
    }

    /// <summary>Whether the AVX2 6 × 16 panel runs (a host without AVX-512, unless the portable panels are asked for).</summary>
    private static bool UsesWidePanel(bool portable) => !portable && !Vector512.IsHardwareAccelerated && Vector256.IsHardwareAccelerated;

    private static void MultiplyNN(int m, int n, int k, float[] a, int aOff, int sr, int sk, float[] b, int bOff, int ldb,
        float[] c, int cOff, int ldc, bool accumulate, bool wide)
    {
        var flops = (long)m * n * k;
        if (flops < ParallelFlops)
        {
            Block(0, m, n, 0, k, a, aOff, sr, sk, b, bOff, ldb, c, cOff, ldc, accumulate, wide);
            return;
        }

        // The split depends only on the shapes, never on the thread count, so results are reproducible.
        // Long reductions over few output rows (weight gradients: K = batch·tokens) split K, so each chunk of B is
        // streamed from memory once; everything else splits rows.
        var rowBlocks = (m + Mr - 1) / Mr;
        if (k <= KChunk || (rowBlocks >= 8 && k < 16 * m))
        {
            // Split rows: each output element is computed by exactly one thread, in the same order.
            var chunks = Math.Min(rowBlocks, 64);
            var rows = (rowBlocks + chunks - 1) / chunks * Mr;
            if (wide) rows = (rows + 11) / 12 * 12; // whole 6-row panels per task (the split never changes results)
            ParallelLoop.For(0, (m + rows - 1) / rows, new Tasks(m, n, k, a, aOff, sr, sk, b, bOff, ldb, c, cOff, ldc, accumulate, rows, KSplit: false, wide));
            return;
        }

        // Few rows, long reduction: fixed K chunks (independent of thread count) into partial buffers, summed in order.
        var kChunks = (k + KChunk - 1) / KChunk;
        var partial = ArrayPool<float>.Shared.Rent(kChunks * m * n);
        try
        {
            ParallelLoop.For(0, kChunks, new Tasks(m, n, k, a, aOff, sr, sk, b, bOff, ldb, partial, 0, n, Accumulate: false, RowsPerTask: m, KSplit: true, wide));
            for (var i = 0; i < m; i++)
            {
                var dst = c.AsSpan(cOff + i * ldc, n);
                if (!accumulate) dst.Clear();
                for (var kc = 0; kc < kChunks; kc++)
                    TensorPrimitives.Add(dst, partial.AsSpan(kc * m * n + i * n, n), dst);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(partial);
        }
    }

    /// <summary>
    /// Task i of a parallel product: rows [i·RowsPerTask, …) over all of K, or (<paramref name="KSplit"/>) K chunk i
    /// of all rows into its own (M, N) slice of C.
    /// </summary>
    private readonly record struct Tasks(int M, int N, int K, float[] A, int AOff, int Sr, int Sk, float[] B, int BOff, int Ldb,
        float[] C, int COff, int Ldc, bool Accumulate, int RowsPerTask, bool KSplit, bool Wide) : IParallelBody
    {
        public void Run(int i)
        {
            if (KSplit)
            {
                var k0 = i * KChunk;
                Block(0, M, N, k0, Math.Min(K, k0 + KChunk), A, AOff, Sr, Sk, B, BOff, Ldb, C, COff + i * M * N, Ldc, accumulate: false, Wide);
                return;
            }
            var r0 = i * RowsPerTask;
            var r1 = Math.Min(M, r0 + RowsPerTask);
            if (r0 < r1) Block(r0, r1, N, 0, K, A, AOff, Sr, Sk, B, BOff, Ldb, C, COff, Ldc, Accumulate, Wide);
        }
    }

    /// <summary>C[r0..r1, 0..n] (+)= A[r0..r1, k0..k1] · B[k0..k1, 0..n], K tiled so a slab of B stays in cache.</summary>
    private static unsafe void Block(int r0, int r1, int n, int k0, int k1, float[] a, int aOff, int sr, int sk,
        float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, bool accumulate, bool wide)
    {
        const int KTile = 64; // a 64-row slab of A and B stays in L1 for the long-K weight gradients; the FMA order per element is unchanged
        fixed (float* pa0 = a, pb0 = b, pc0 = c)
        {
            var pc = pc0 + cOff;
            for (var kt = k0; kt < k1; kt += KTile)
            {
                var kk = Math.Min(KTile, k1 - kt);
                var acc = accumulate || kt > k0;
                var pa = pa0 + aOff + (long)kt * sk;
                var pb = pb0 + bOff + (long)kt * ldb;
                var i = r0;
                if (Vector512.IsHardwareAccelerated && n >= 32)
                    for (; i + 2 * Mr <= r1; i += 2 * Mr)
                        RowPanel8(pa + (long)i * sr, sr, sk, pb, ldb, pc + (long)i * ldc, ldc, n, kk, acc);
                else if (wide && n >= 16)
                    i = PackedPanels6(i, r1, n, kk, pa, sr, sk, pb, ldb, pc, ldc, acc);
                for (; i + Mr <= r1; i += Mr)
                    RowPanel4(pa + (long)i * sr, sr, sk, pb, ldb, pc + (long)i * ldc, ldc, n, kk, acc);
                for (; i < r1; i++)
                    RowPanel1(pa + (long)i * sr, sk, pb, ldb, pc + (long)i * ldc, n, kk, acc);
            }
        }
    }
}
