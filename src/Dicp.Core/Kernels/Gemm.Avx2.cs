using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>The AVX2 register panel: 6 rows × 16 columns of C per step.</summary>
internal static partial class Gemm
{
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
