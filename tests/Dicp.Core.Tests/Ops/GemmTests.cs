using Dicp.Kernels;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Ops;

/// <summary>The GEMM kernel against a double-precision naive product, on shapes that reach every code path
/// (512/256-bit panels, column tails, row tails, row-parallel and K-chunked parallel splits, transposes, accumulation).
/// Tolerance: 1e-5 + 1e-5·Σ|a||b| per element (float32 rounding of a K-term sum).</summary>
public class GemmTests
{
    public static TheoryData<int, int, int, bool, bool, bool> Shapes() => new()
    {
        { 1, 1, 1, false, false, false },
        { 3, 5, 7, false, false, false },
        { 4, 32, 9, false, false, true },
        { 5, 48, 17, true, false, false },
        { 9, 23, 31, false, true, true },
        { 7, 40, 13, true, true, false },
        { 300, 96, 32, false, true, false },   // row-parallel, like a Linear forward
        { 8, 16, 5000, true, false, true },    // few rows, long K: fixed K chunks, like dW
        { 33, 130, 65, false, false, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesNaiveProduct(int m, int n, int k, bool transA, bool transB, bool accumulate)
    {
        var g = new Generator(m * 1000 + n * 10 + k);
        var a = new float[m * k + 3];
        var b = new float[k * n + 5];
        var c = new float[m * n + 2];
        g.FillNormal(a); g.FillNormal(b); g.FillNormal(c);
        var c0 = (float[])c.Clone();
        int aOff = 3, bOff = 5, cOff = 2;
        Array.Resize(ref a, a.Length + 3); Array.Copy(a, 0, a, 3, a.Length - 3);
        Array.Resize(ref b, b.Length + 5); Array.Copy(b, 0, b, 5, b.Length - 5);
        Array.Resize(ref c, c.Length + 2); Array.Copy(c, 0, c, 2, c.Length - 2);
        Array.Resize(ref c0, c0.Length + 2); Array.Copy(c0, 0, c0, 2, c0.Length - 2);
        int lda = transA ? m : k, ldb = transB ? k : n;

        Gemm.Multiply(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, n, accumulate);

        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                double s = accumulate ? c0[cOff + i * n + j] : 0, mag = Math.Abs(s);
                for (var p = 0; p < k; p++)
                {
                    double av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    double bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    s += av * bv;
                    mag += Math.Abs(av * bv);
                }
                var got = c[cOff + i * n + j];
                Assert.True(Math.Abs(got - s) <= 1e-5 + 1e-5 * mag, $"C[{i},{j}] = {got}, expected {s}");
            }
    }

    [Fact]
    public void ResultDoesNotDependOnRepetition()
    {
        // Same inputs twice through the parallel K-chunked path: bit-identical results (no thread-order dependence).
        var g = new Generator(7);
        var a = new float[8 * 6000];
        var b = new float[6000 * 16];
        g.FillNormal(a); g.FillNormal(b);
        var c1 = new float[8 * 16];
        var c2 = new float[8 * 16];
        Gemm.Multiply(false, false, 8, 16, 6000, a, 0, 6000, b, 0, 16, c1, 0, 16, false);
        Gemm.Multiply(false, false, 8, 16, 6000, a, 0, 6000, b, 0, 16, c2, 0, 16, false);
        Assert.Equal(c1, c2);
    }
}
