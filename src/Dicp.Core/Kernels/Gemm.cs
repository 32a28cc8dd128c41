using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>
/// Single-precision matrix multiply <c>C = β·C + op(A)·op(B)</c> (β ∈ {0, 1}) with register-blocked SIMD micro-kernels.
/// </summary>
/// <remarks>
/// op(A) is M×K, op(B) is K×N, all row-major with leading dimensions. A transposed B is packed into row-major scratch
/// first; A is read in place through row and column strides. The micro-kernel streams rows of B and broadcasts elements of A: 4 rows × 32 columns
/// (2 × <see cref="Vector512{T}"/>, 8 accumulators) or 4 × 16 with <see cref="Vector256{T}"/>, then narrower tails.
/// Work is split over row blocks when M is large and over fixed K chunks (partial sums added in a fixed order) when
/// M is small and K is large, so results do not depend on the number of threads.
/// </remarks>
internal static class Gemm
{
    private const int Mr = 4;
    private const int KChunk = 512; // weight gradients at batch 64 (K = 5 184) still split into 11 tasks
    private const long ParallelFlops = 1L << 17;

    /// <summary>C[M×N] (+)= op(A)·op(B). A is M×K (or K×M when <paramref name="transA"/>), B is K×N (or N×K when <paramref name="transB"/>).</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, bool accumulate)
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
            MultiplyNN(m, n, k, a, aOff, sr, sk, b, bOff, ldb, c, cOff, ldc, accumulate);
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
        Block(0, m, n, 0, k, a, 0, k, 1, b, bOff, n, c, 0, n, accumulate);
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

    private static void MultiplyNN(int m, int n, int k, float[] a, int aOff, int sr, int sk, float[] b, int bOff, int ldb,
        float[] c, int cOff, int ldc, bool accumulate)
    {
        var flops = (long)m * n * k;
        if (flops < ParallelFlops)
        {
            Block(0, m, n, 0, k, a, aOff, sr, sk, b, bOff, ldb, c, cOff, ldc, accumulate);
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
            var per = (rowBlocks + chunks - 1) / chunks;
            ParallelLoop.For(0, chunks, new Tasks(m, n, k, a, aOff, sr, sk, b, bOff, ldb, c, cOff, ldc, accumulate, RowsPerTask: per * Mr, KSplit: false));
            return;
        }

        // Few rows, long reduction: fixed K chunks (independent of thread count) into partial buffers, summed in order.
        var kChunks = (k + KChunk - 1) / KChunk;
        var partial = ArrayPool<float>.Shared.Rent(kChunks * m * n);
        try
        {
            ParallelLoop.For(0, kChunks, new Tasks(m, n, k, a, aOff, sr, sk, b, bOff, ldb, partial, 0, n, Accumulate: false, RowsPerTask: m, KSplit: true));
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
        float[] C, int COff, int Ldc, bool Accumulate, int RowsPerTask, bool KSplit) : IParallelBody
    {
        public void Run(int i)
        {
            if (KSplit)
            {
                var k0 = i * KChunk;
                Block(0, M, N, k0, Math.Min(K, k0 + KChunk), A, AOff, Sr, Sk, B, BOff, Ldb, C, COff + i * M * N, Ldc, accumulate: false);
                return;
            }
            var r0 = i * RowsPerTask;
            var r1 = Math.Min(M, r0 + RowsPerTask);
            if (r0 < r1) Block(r0, r1, N, 0, K, A, AOff, Sr, Sk, B, BOff, Ldb, C, COff, Ldc, Accumulate);
        }
    }

    /// <summary>C[r0..r1, 0..n] (+)= A[r0..r1, k0..k1] · B[k0..k1, 0..n], K tiled so a slab of B stays in cache.</summary>
    private static unsafe void Block(int r0, int r1, int n, int k0, int k1, float[] a, int aOff, int sr, int sk,
        float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, bool accumulate)
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
                for (; i + Mr <= r1; i += Mr)
                    RowPanel4(pa + (long)i * sr, sr, sk, pb, ldb, pc + (long)i * ldc, ldc, n, kk, acc);
                for (; i < r1; i++)
                    RowPanel1(pa + (long)i * sr, sk, pb, ldb, pc + (long)i * ldc, n, kk, acc);
            }
        }
    }

    /// <summary>
    /// 8 rows × 32 columns of C per step (16 <see cref="Vector512{T}"/> accumulators: 2 loads of B and 8 broadcasts of A
    /// per 16 FMAs); columns past the last multiple of 32 go to <see cref="RowPanel4"/>. Every element is the same FMA chain
    /// over p as in the narrower panels, so results do not depend on which panel computed them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RowPanel8(float* a, int sr, int sk, float* b, int ldb, float* c, int ldc, int n, int k, bool acc)
    {
        var j = 0;
        for (; j + 32 <= n; j += 32)
        {
            Vector512<float> c00, c01;
            Vector512<float> c10, c11;
            Vector512<float> c20, c21;
            Vector512<float> c30, c31;
            Vector512<float> c40, c41;
            Vector512<float> c50, c51;
            Vector512<float> c60, c61;
            Vector512<float> c70, c71;
            if (acc)
            {
                c00 = Vector512.Load(c + 0 * ldc + j); c01 = Vector512.Load(c + 0 * ldc + j + 16);
                c10 = Vector512.Load(c + 1 * ldc + j); c11 = Vector512.Load(c + 1 * ldc + j + 16);
                c20 = Vector512.Load(c + 2 * ldc + j); c21 = Vector512.Load(c + 2 * ldc + j + 16);
                c30 = Vector512.Load(c + 3 * ldc + j); c31 = Vector512.Load(c + 3 * ldc + j + 16);
                c40 = Vector512.Load(c + 4 * ldc + j); c41 = Vector512.Load(c + 4 * ldc + j + 16);
                c50 = Vector512.Load(c + 5 * ldc + j); c51 = Vector512.Load(c + 5 * ldc + j + 16);
                c60 = Vector512.Load(c + 6 * ldc + j); c61 = Vector512.Load(c + 6 * ldc + j + 16);
                c70 = Vector512.Load(c + 7 * ldc + j); c71 = Vector512.Load(c + 7 * ldc + j + 16);
            }
            else
            {
                c00 = c01 = Vector512<float>.Zero;
                c10 = c11 = Vector512<float>.Zero;
                c20 = c21 = Vector512<float>.Zero;
                c30 = c31 = Vector512<float>.Zero;
                c40 = c41 = Vector512<float>.Zero;
                c50 = c51 = Vector512<float>.Zero;
                c60 = c61 = Vector512<float>.Zero;
                c70 = c71 = Vector512<float>.Zero;
            }
            var pb = b + j;
            for (var p = 0; p < k; p++, pb += ldb)
            {
                var b0 = Vector512.Load(pb);
                var b1 = Vector512.Load(pb + 16);
                Vector512<float> av;
                av = Vector512.Create(a[0 * sr + p * sk]); c00 = Vector512.FusedMultiplyAdd(av, b0, c00); c01 = Vector512.FusedMultiplyAdd(av, b1, c01);
                av = Vector512.Create(a[1 * sr + p * sk]); c10 = Vector512.FusedMultiplyAdd(av, b0, c10); c11 = Vector512.FusedMultiplyAdd(av, b1, c11);
                av = Vector512.Create(a[2 * sr + p * sk]); c20 = Vector512.FusedMultiplyAdd(av, b0, c20); c21 = Vector512.FusedMultiplyAdd(av, b1, c21);
                av = Vector512.Create(a[3 * sr + p * sk]); c30 = Vector512.FusedMultiplyAdd(av, b0, c30); c31 = Vector512.FusedMultiplyAdd(av, b1, c31);
                av = Vector512.Create(a[4 * sr + p * sk]); c40 = Vector512.FusedMultiplyAdd(av, b0, c40); c41 = Vector512.FusedMultiplyAdd(av, b1, c41);
                av = Vector512.Create(a[5 * sr + p * sk]); c50 = Vector512.FusedMultiplyAdd(av, b0, c50); c51 = Vector512.FusedMultiplyAdd(av, b1, c51);
                av = Vector512.Create(a[6 * sr + p * sk]); c60 = Vector512.FusedMultiplyAdd(av, b0, c60); c61 = Vector512.FusedMultiplyAdd(av, b1, c61);
                av = Vector512.Create(a[7 * sr + p * sk]); c70 = Vector512.FusedMultiplyAdd(av, b0, c70); c71 = Vector512.FusedMultiplyAdd(av, b1, c71);
            }
            c00.Store(c + 0 * ldc + j); c01.Store(c + 0 * ldc + j + 16);
            c10.Store(c + 1 * ldc + j); c11.Store(c + 1 * ldc + j + 16);
            c20.Store(c + 2 * ldc + j); c21.Store(c + 2 * ldc + j + 16);
            c30.Store(c + 3 * ldc + j); c31.Store(c + 3 * ldc + j + 16);
            c40.Store(c + 4 * ldc + j); c41.Store(c + 4 * ldc + j + 16);
            c50.Store(c + 5 * ldc + j); c51.Store(c + 5 * ldc + j + 16);
            c60.Store(c + 6 * ldc + j); c61.Store(c + 6 * ldc + j + 16);
            c70.Store(c + 7 * ldc + j); c71.Store(c + 7 * ldc + j + 16);
        }
        if (j < n)
        {
            RowPanel4(a, sr, sk, b + j, ldb, c + j, ldc, n - j, k, acc);
            RowPanel4(a + 4 * sr, sr, sk, b + j, ldb, c + 4 * ldc + j, ldc, n - j, k, acc);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RowPanel4(float* a, int sr, int sk, float* b, int ldb, float* c, int ldc, int n, int k, bool acc)
    {
        var j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 32 <= n; j += 32)
            {
                Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31;
                if (acc)
                {
                    c00 = Vector512.Load(c + j); c01 = Vector512.Load(c + j + 16);
                    c10 = Vector512.Load(c + ldc + j); c11 = Vector512.Load(c + ldc + j + 16);
                    c20 = Vector512.Load(c + 2 * ldc + j); c21 = Vector512.Load(c + 2 * ldc + j + 16);
                    c30 = Vector512.Load(c + 3 * ldc + j); c31 = Vector512.Load(c + 3 * ldc + j + 16);
                }
                else
                {
                    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector512<float>.Zero;
                }
                var pb = b + j;
                for (var p = 0; p < k; p++, pb += ldb)
                {
                    var b0 = Vector512.Load(pb);
                    var b1 = Vector512.Load(pb + 16);
                    var a0 = Vector512.Create(a[p * sk]);
                    c00 = Vector512.FusedMultiplyAdd(a0, b0, c00); c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                    var a1 = Vector512.Create(a[sr + p * sk]);
                    c10 = Vector512.FusedMultiplyAdd(a1, b0, c10); c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                    var a2 = Vector512.Create(a[2 * sr + p * sk]);
                    c20 = Vector512.FusedMultiplyAdd(a2, b0, c20); c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                    var a3 = Vector512.Create(a[3 * sr + p * sk]);
                    c30 = Vector512.FusedMultiplyAdd(a3, b0, c30); c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                }
                c00.Store(c + j); c01.Store(c + j + 16);
                c10.Store(c + ldc + j); c11.Store(c + ldc + j + 16);
                c20.Store(c + 2 * ldc + j); c21.Store(c + 2 * ldc + j + 16);
                c30.Store(c + 3 * ldc + j); c31.Store(c + 3 * ldc + j + 16);
            }
            for (; j + 16 <= n; j += 16)
            {
                Vector512<float> c0, c1, c2, c3;
                if (acc)
                {
                    c0 = Vector512.Load(c + j); c1 = Vector512.Load(c + ldc + j);
                    c2 = Vector512.Load(c + 2 * ldc + j); c3 = Vector512.Load(c + 3 * ldc + j);
                }
                else c0 = c1 = c2 = c3 = Vector512<float>.Zero;
                var pb = b + j;
                for (var p = 0; p < k; p++, pb += ldb)
                {
                    var b0 = Vector512.Load(pb);
                    c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[p * sk]), b0, c0);
                    c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[sr + p * sk]), b0, c1);
                    c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2 * sr + p * sk]), b0, c2);
                    c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3 * sr + p * sk]), b0, c3);
                }
                c0.Store(c + j); c1.Store(c + ldc + j); c2.Store(c + 2 * ldc + j); c3.Store(c + 3 * ldc + j);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 16 <= n; j += 16)
            {
                Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31;
                if (acc)
                {
                    c00 = Vector256.Load(c + j); c01 = Vector256.Load(c + j + 8);
                    c10 = Vector256.Load(c + ldc + j); c11 = Vector256.Load(c + ldc + j + 8);
                    c20 = Vector256.Load(c + 2 * ldc + j); c21 = Vector256.Load(c + 2 * ldc + j + 8);
                    c30 = Vector256.Load(c + 3 * ldc + j); c31 = Vector256.Load(c + 3 * ldc + j + 8);
                }
                else c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector256<float>.Zero;
                var pb = b + j;
                for (var p = 0; p < k; p++, pb += ldb)
                {
                    var b0 = Vector256.Load(pb);
                    var b1 = Vector256.Load(pb + 8);
                    var a0 = Vector256.Create(a[p * sk]);
                    c00 = Vector256.FusedMultiplyAdd(a0, b0, c00); c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                    var a1 = Vector256.Create(a[sr + p * sk]);
                    c10 = Vector256.FusedMultiplyAdd(a1, b0, c10); c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                    var a2 = Vector256.Create(a[2 * sr + p * sk]);
                    c20 = Vector256.FusedMultiplyAdd(a2, b0, c20); c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                    var a3 = Vector256.Create(a[3 * sr + p * sk]);
                    c30 = Vector256.FusedMultiplyAdd(a3, b0, c30); c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                }
                c00.Store(c + j); c01.Store(c + j + 8);
                c10.Store(c + ldc + j); c11.Store(c + ldc + j + 8);
                c20.Store(c + 2 * ldc + j); c21.Store(c + 2 * ldc + j + 8);
                c30.Store(c + 3 * ldc + j); c31.Store(c + 3 * ldc + j + 8);
            }
            for (; j + 8 <= n; j += 8)
            {
                Vector256<float> c0, c1, c2, c3;
                if (acc)
                {
                    c0 = Vector256.Load(c + j); c1 = Vector256.Load(c + ldc + j);
                    c2 = Vector256.Load(c + 2 * ldc + j); c3 = Vector256.Load(c + 3 * ldc + j);
                }
                else c0 = c1 = c2 = c3 = Vector256<float>.Zero;
                var pb = b + j;
                for (var p = 0; p < k; p++, pb += ldb)
                {
                    var b0 = Vector256.Load(pb);
                    c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[p * sk]), b0, c0);
                    c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a[sr + p * sk]), b0, c1);
                    c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a[2 * sr + p * sk]), b0, c2);
                    c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a[3 * sr + p * sk]), b0, c3);
                }
                c0.Store(c + j); c1.Store(c + ldc + j); c2.Store(c + 2 * ldc + j); c3.Store(c + 3 * ldc + j);
            }
        }
        for (; j < n; j++)
        {
            for (var r = 0; r < Mr; r++)
            {
                var s = acc ? c[r * ldc + j] : 0f;
                var ar = a + r * sr;
                var pb = b + j;
                for (var p = 0; p < k; p++, pb += ldb) s = MathF.FusedMultiplyAdd(ar[p * sk], *pb, s);
                c[r * ldc + j] = s;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RowPanel1(float* a, int sk, float* b, int ldb, float* c, int n, int k, bool acc)
    {
        var j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 16 <= n; j += 16)
            {
                var c0 = acc ? Vector512.Load(c + j) : Vector512<float>.Zero;
                var pb = b + j;
                for (var p = 0; p < k; p++, pb += ldb) c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[p * sk]), Vector512.Load(pb), c0);
                c0.Store(c + j);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= n; j += 8)
            {
                var c0 = acc ? Vector256.Load(c + j) : Vector256<float>.Zero;
                var pb = b + j;
                for (var p = 0; p < k; p++, pb += ldb) c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[p * sk]), Vector256.Load(pb), c0);
                c0.Store(c + j);
            }
        }
        for (; j < n; j++)
        {
            var s = acc ? c[j] : 0f;
            var pb = b + j;
            for (var p = 0; p < k; p++, pb += ldb) s = MathF.FusedMultiplyAdd(a[p * sk], *pb, s);
            c[j] = s;
        }
    }
}
