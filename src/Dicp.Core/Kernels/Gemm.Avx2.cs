using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>The AVX2 register panel: 6 rows × 16 columns of C per step.</summary>
internal static partial class Gemm
{
    /// <summary>Rows of a transposed A packed per K tile at most (6-row panels × 64 k × 4 bytes: 128 KB).</summary>
    private const int PackRowsMax = 512;

    /// <summary>Floats of B packed per K tile at most (256 KB).</summary>
    private const int PackBMax = 64 * 1024;

    [ThreadStatic] private static float[]? _packA;
    [ThreadStatic] private static float[]? _packB;

    /// <summary>
    /// How many 6-row panels to run over <paramref name="rows"/> rows: as many as fit, less one when that leaves a
    /// multiple of 4 instead of 2 or 3 rows (e.g. 128 = 20·6 + 2·4 rather than 21·6 + 2 single rows, whose one-accumulator
    /// chains wait on the FMA latency). Which panel computes a row never changes its value.
    /// </summary>
    internal static int Panels6(int rows)
    {
        var p = rows / 6;
        return p > 0 && (rows - 6 * p) % 4 >= 2 ? p - 1 : p;
    }

    /// <summary>
    /// Rows <paramref name="i"/> … of C by 6 × 16 panels over one K tile (<see cref="Panels6"/> of them); returns the first
    /// row left for the narrower panels. Operands whose rows lie 256 bytes or more apart alias in a few L1 sets
    /// when a panel walks 64 of them, so they are copied for the tile first: a transposed A (a weight gradient's dyᵀ) into
    /// 6-row panels laid out [panel][p][6], and B (rows ≥ 64 floats, 64-row tiles) into 16-column panels [panel][p][16], both read
    /// contiguously from their rows. The values and the FMA order of every element are unchanged.
    /// </summary>
    private static unsafe int PackedPanels6(int i, int r1, int n, int kk, float* pa, int sr, int sk, float* pb, int ldb, float* pc, int ldc, bool acc)
    {
        var rows = 6 * Panels6(r1 - i);
        if (rows == 0) return i;
        var packA = sr == 1 && sk > 6 && rows <= PackRowsMax;
        var n16 = n / 16 * 16;
        // B only on full 64-row tiles (the long-K products: a 32-row tile aliases in 4 lines per set, which L1 holds) and
        // when two row panels at least reuse the copy.
        var packB = ldb >= 64 && kk >= 64 && rows >= 12 && n16 > 0 && n16 * kk <= PackBMax;
        float* a = pa + (long)i * sr;
        int asr = sr, ask = sk;
        long astep = 6L * sr;
        fixed (float* ppa = packA ? Scratch(ref _packA, rows / 6 * PanelStride(kk) + 8) : null, ppb = packB ? Scratch(ref _packB, n16 * kk) : null)
        {
            if (packA)
            {
                PackPanels6(a, sk, rows, kk, ppa);
                a = ppa;
                (asr, ask, astep) = (1, 6, PanelStride(kk));
            }
            if (packB) PackColumns16(pb, ldb, kk, n16, ppb);
            var segments = packB ? n16 / 16 + (n16 < n ? 1 : 0) : 1; // packed 16-column panels, then B's own tail columns
            for (var blk = 0; blk < rows / 6; blk++, a += astep)
            {
                var c = pc + (long)(i + 6 * blk) * ldc;
                for (var sg = 0; sg < segments; sg++)
                {
                    var packed = packB && sg * 16 < n16;
                    var j0 = packB ? sg * 16 : 0;
                    RowPanel6(a, asr, ask, packed ? ppb + (long)j0 * kk : pb + j0, packed ? 16 : ldb, c + j0, ldc, packed ? 16 : n - j0, kk, acc);
                }
            }
        }
        return i + rows;
    }

    /// <summary>Floats from one packed 6-row panel to the next: 6·k and 2 of padding, which the 8-float copies may overrun into.</summary>
    private static int PanelStride(int k) => 6 * k + 2;

    private static float[] Scratch(ref float[]? buffer, int need)
    {
        if (buffer is null || buffer.Length < need) buffer = new float[Math.Max(need, 16 * 1024)];
        return buffer;
    }

    /// <summary>
    /// dst[(r / 6)·(6k + 2) + p·6 + r % 6] = A[p, r] for r &lt; rows (a multiple of 6), p &lt; k; A's row p starts at a + p·sk.
    /// Each 6 floats are copied as 8 (the 2 extra land on the next p's slots, written after, or on the panel's padding)
    /// while 8 floats remain in A's row.
    /// </summary>
    private static unsafe void PackPanels6(float* a, int sk, int rows, int k, float* dst)
    {
        var panel = PanelStride(k);
        for (var p = 0; p < k; p++)
        {
            var src = a + (long)p * sk;
            var d = dst + p * 6;
            var r = 0;
            for (; r + 8 <= rows; r += 6, d += panel) Vector256.Load(src + r).Store(d);
            for (; r < rows; r += 6, d += panel)
            {
                d[0] = src[r]; d[1] = src[r + 1]; d[2] = src[r + 2];
                d[3] = src[r + 3]; d[4] = src[r + 4]; d[5] = src[r + 5];
            }
        }
    }

    /// <summary>dst[(j / 16)·16k + p·16 + j % 16] = B[p, j] for j &lt; n16 (a multiple of 16), p &lt; k; B's row p starts at b + p·ldb.</summary>
    private static unsafe void PackColumns16(float* b, int ldb, int k, int n16, float* dst)
    {
        var panel = 16 * k;
        for (var p = 0; p < k; p++)
        {
            var src = b + (long)p * ldb;
            var d = dst + p * 16;
            for (var j = 0; j < n16; j += 16, d += panel)
            {
                Vector256.Load(src + j).Store(d);
                Vector256.Load(src + j + 8).Store(d + 8);
            }
        }
    }

    /// <summary>
    /// 6 rows × 16 columns of C per step (12 <see cref="Vector256{T}"/> accumulators, 2 loads of B and 6 broadcasts of A
    /// per 12 FMAs: 15 of the 16 ymm registers); columns past the last multiple of 16 go to <see cref="RowPanel4"/> and
    /// <see cref="RowPanel1"/>. Each element is the FMA chain c = fma(a_ip, b_pj, c) over p from its initial value, as in
    /// the portable panels, so the results are the same bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RowPanel6(float* a, int sr, int sk, float* b, int ldb, float* c, int ldc, int n, int k, bool acc)
    {
        var j = 0;
        nint s1 = sr, s2 = 2 * s1, s3 = 3 * s1, s4 = 4 * s1, s5 = 5 * s1, stepA = sk, stepB = ldb; // row offsets kept in registers
        for (; j + 16 <= n; j += 16)
        {
            Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
            if (acc)
            {
                c00 = Vector256.Load(c + 0 * ldc + j); c01 = Vector256.Load(c + 0 * ldc + j + 8);
                c10 = Vector256.Load(c + 1 * ldc + j); c11 = Vector256.Load(c + 1 * ldc + j + 8);
                c20 = Vector256.Load(c + 2 * ldc + j); c21 = Vector256.Load(c + 2 * ldc + j + 8);
                c30 = Vector256.Load(c + 3 * ldc + j); c31 = Vector256.Load(c + 3 * ldc + j + 8);
                c40 = Vector256.Load(c + 4 * ldc + j); c41 = Vector256.Load(c + 4 * ldc + j + 8);
                c50 = Vector256.Load(c + 5 * ldc + j); c51 = Vector256.Load(c + 5 * ldc + j + 8);
            }
            else
            {
                c00 = c01 = Vector256<float>.Zero;
                c10 = c11 = Vector256<float>.Zero;
                c20 = c21 = Vector256<float>.Zero;
                c30 = c31 = Vector256<float>.Zero;
                c40 = c41 = Vector256<float>.Zero;
                c50 = c51 = Vector256<float>.Zero;
            }
            var pa = a;
            var pb = b + j;
            for (var p = 0; p < k; p++, pa += stepA, pb += stepB)
            {
                var b0 = Vector256.Load(pb);
                var b1 = Vector256.Load(pb + 8);
                Vector256<float> av;
                av = Vector256.Create(pa[0]); c00 = Vector256.FusedMultiplyAdd(av, b0, c00); c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
                av = Vector256.Create(pa[s1]); c10 = Vector256.FusedMultiplyAdd(av, b0, c10); c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
                av = Vector256.Create(pa[s2]); c20 = Vector256.FusedMultiplyAdd(av, b0, c20); c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
                av = Vector256.Create(pa[s3]); c30 = Vector256.FusedMultiplyAdd(av, b0, c30); c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
                av = Vector256.Create(pa[s4]); c40 = Vector256.FusedMultiplyAdd(av, b0, c40); c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
                av = Vector256.Create(pa[s5]); c50 = Vector256.FusedMultiplyAdd(av, b0, c50); c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
            }
            c00.Store(c + 0 * ldc + j); c01.Store(c + 0 * ldc + j + 8);
            c10.Store(c + 1 * ldc + j); c11.Store(c + 1 * ldc + j + 8);
            c20.Store(c + 2 * ldc + j); c21.Store(c + 2 * ldc + j + 8);
            c30.Store(c + 3 * ldc + j); c31.Store(c + 3 * ldc + j + 8);
            c40.Store(c + 4 * ldc + j); c41.Store(c + 4 * ldc + j + 8);
            c50.Store(c + 5 * ldc + j); c51.Store(c + 5 * ldc + j + 8);
        }
        if (j < n)
        {
            RowPanel4(a, sr, sk, b + j, ldb, c + j, ldc, n - j, k, acc);
            RowPanel1(a + 4 * sr, sk, b + j, ldb, c + 4 * ldc + j, n - j, k, acc);
            RowPanel1(a + 5 * sr, sk, b + j, ldb, c + 5 * ldc + j, n - j, k, acc);
        }
    }
}
