using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>The portable register panels: 8 × 32 (<see cref="Vector512{T}"/>), 4 × 32 / 4 × 16 / 4 × 8 and single rows.</summary>
internal static partial class Gemm
{
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
