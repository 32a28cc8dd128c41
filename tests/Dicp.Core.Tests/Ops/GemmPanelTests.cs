using Dicp.Kernels;
using Dicp.Tensors;
using Xunit;

namespace Dicp.Tests.Ops;

/// <summary>
/// The AVX2 6 × 16 GEMM panel against the portable panels (<c>DICP_KERNELS=portable</c>), bit for bit: ragged shapes
/// (M, N, K of 1, odd sizes, column and row tails, row-parallel and K-chunked splits), both transposes, strided leading
/// dimensions and accumulation on and off. On a host with AVX-512 (or without AVX2) both calls take the same panels.
/// </summary>
public class GemmPanelTests
{
    [Fact]
    public void WidePanelIsBitIdenticalToPortablePanels()
    {
        var g = new Generator(15);
        int[] sizes = [1, 2, 3, 5, 6, 7, 8, 11, 12, 13, 15, 16, 17, 23, 31, 32, 33, 47, 48, 63, 64, 65, 96, 97, 127, 128, 130];
        for (var trial = 0; trial < 400; trial++)
        {
            var m = trial % 10 == 0 ? 200 + g.NextInt(900) : sizes[g.NextInt(sizes.Length)];
            var n = trial % 7 == 0 ? 96 + g.NextInt(300) : sizes[g.NextInt(sizes.Length)];
            var k = trial % 13 == 0 ? 520 + g.NextInt(1200) : sizes[g.NextInt(sizes.Length)];
            Check(g, m, n, k, transA: g.NextInt(2) == 1, transB: g.NextInt(2) == 1, accumulate: g.NextInt(2) == 1, pad: g.NextInt(3));
        }
    }

    [Theory]
    [InlineData(41472 / 8, 96, 32, false, true, false)]  // qkv forward (a slice of the batch-512 rows)
    [InlineData(41472 / 8, 32, 128, false, false, false)] // w3 forward / w1, w2 dx
    [InlineData(128, 32, 41472 / 4, true, false, true)]   // dW: few rows, long K (K-chunked)
    [InlineData(32, 384, 6000, true, false, false)]
    [InlineData(6000, 10, 32, false, true, true)]         // column tail only
    public void ModelShapesAreBitIdentical(int m, int n, int k, bool transA, bool transB, bool accumulate) =>
        Check(new Generator(m + n + k), m, n, k, transA, transB, accumulate, pad: 1);

    [Theory]
    [InlineData(128, 20)] // w1/w2 dW: 20 six-row panels and 2 four-row ones, not 21 and 2 single rows
    [InlineData(32, 4)]
    [InlineData(96, 16)]
    [InlineData(7, 1)]
    [InlineData(8, 0)]
    [InlineData(5, 0)]
    public void SixRowPanelsLeaveAMultipleOfFourRowsWhenTheyCan(int rows, int panels) => Assert.Equal(panels, Gemm.Panels6(rows));

    private static void Check(Generator g, int m, int n, int k, bool transA, bool transB, bool accumulate, int pad)
    {
        int lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad;
        int aOff = pad, bOff = 2 * pad, cOff = 3 * pad;
        var a = new float[aOff + (transA ? k : m) * lda];
        var b = new float[bOff + (transB ? n : k) * ldb];
        var c = new float[cOff + m * ldc];
        g.FillNormal(a); g.FillNormal(b); g.FillNormal(c);
        var wide = (float[])c.Clone();
        var portable = (float[])c.Clone();

        Gemm.MultiplyWithPanels(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, wide, cOff, ldc, accumulate, portable: false);
        Gemm.MultiplyWithPanels(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, portable, cOff, ldc, accumulate, portable: true);

        for (var i = 0; i < c.Length; i++)
            if (BitConverter.SingleToInt32Bits(wide[i]) != BitConverter.SingleToInt32Bits(portable[i]))
                Assert.Fail($"m {m} n {n} k {k} transA {transA} transB {transB} acc {accumulate} pad {pad}: element {i} is {wide[i]:R}, portable {portable[i]:R}");
    }
}
