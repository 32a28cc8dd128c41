using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;

namespace Dicp.Tests.Ops;

/// <summary>The KV-cache attention kernel against the fused causal attention on the concatenated sequence.</summary>
public class CachedAttentionTests
{
    /// <summary>
    /// Prefix (5 tokens, shared) → middle segments (2 groups × 3 tokens) → new tokens (3 rows × 2 tokens, groups [0, 1, 1]):
    /// every level's outputs equal the rows of <see cref="Dicp.Tensors.Ops.CausalSelfAttention"/> on prefix ++ middle ++ new,
    /// with rotary positions, within 1e-5.
    /// </summary>
    [Fact]
    public void PrefixMiddleAndNewTokensEqualFullCausalAttention()
    {
        const int h = 2, hs = 4, d = h * hs, p = 5, m = 3, g = 2, s = 2, n = 3;
        int[] groupOf = [0, 1, 1];
        var rope = new RotaryCache(16, hs);
        var gen = new Generator(4);
        float[] Random(int count) => Enumerable.Range(0, count).Select(_ => (float)gen.NextNormal()).ToArray();
        float[] prefix = Random(p * 3 * d), middle = Random(g * m * 3 * d), fresh = Random(n * s * 3 * d);

        float[] pk = new float[d * p], pv = new float[d * p], mk = new float[g * d * m], mv = new float[g * d * m];
        var prefixOut = Dicp.Tensors.Ops.CachedAttention(new Tensor(prefix, [1, p, 3 * d]), h, rope, null, null, 0, keysOut: pk, valuesOut: pv);
        var middleOut = Dicp.Tensors.Ops.CachedAttention(new Tensor(middle, [g, m, 3 * d]), h, rope, pk, pv, p, keysOut: mk, valuesOut: mv);
        var newOut = Dicp.Tensors.Ops.CachedAttention(new Tensor(fresh, [n, s, 3 * d]), h, rope, pk, pv, p, mk, mv, m, groupOf);

        for (var r = 0; r < n; r++)
        {
            var full = prefix.Concat(middle.AsSpan(groupOf[r] * m * 3 * d, m * 3 * d).ToArray()).Concat(fresh.AsSpan(r * s * 3 * d, s * 3 * d).ToArray()).ToArray();
            var expected = Dicp.Tensors.Ops.CausalSelfAttention(new Tensor(full, [1, p + m + s, 3 * d]), h, rope).ToArray();
            Close.Assert(expected.AsSpan(0, p * d), prefixOut.Span, 1e-5, 1e-5, "prefix");
            Close.Assert(expected.AsSpan(p * d, m * d), middleOut.Span.Slice(groupOf[r] * m * d, m * d), 1e-5, 1e-5, $"middle {groupOf[r]}");
            Close.Assert(expected.AsSpan((p + m) * d, s * d), newOut.Span.Slice(r * s * d, s * d), 1e-5, 1e-5, $"row {r}");
        }
    }

    /// <summary>
    /// The head-size-8 path (16-key blocks, fast exp) against the generic path on the same inputs (hs 8, 4 heads, with
    /// and without rotary positions), outputs within 1e-5 and the written keys/values (fill) equal:
    /// prefix only (P 21, padded copy; P 32, used in place; 48 rows, so the parallel split runs), prefix + middle with
    /// groups (P 21, M 5 of 3 groups), empty prefix (P 0, S 19: own rows past the first 16-key block), middle only.
    /// </summary>
    /// <summary>
    /// One prefix per row group (an environment's real context each): rows [1, 0, 1] over two 4-token prefixes equal the
    /// rows of <see cref="Dicp.Tensors.Ops.CausalSelfAttention"/> on their own prefix ++ new tokens, within 1e-5; the
    /// head-size-8 path (where it runs) agrees with the generic path on the same per-row prefixes.
    /// </summary>
    [Fact]
    public void PerRowPrefixesEqualFullCausalAttention()
    {
        const int h = 2, hs = 4, d = h * hs, p = 4, rows = 2, s = 3, n = 3;
        int[] prefixOf = [1, 0, 1];
        var rope = new RotaryCache(16, hs);
        var gen = new Generator(11);
        float[] Random(int count) => Enumerable.Range(0, count).Select(_ => (float)gen.NextNormal()).ToArray();
        float[] prefix = Random(rows * p * 3 * d), fresh = Random(n * s * 3 * d);
        float[] pk = new float[rows * d * p], pv = new float[rows * d * p];
        Dicp.Tensors.Ops.CachedAttention(new Tensor(prefix, [rows, p, 3 * d]), h, rope, null, null, 0, keysOut: pk, valuesOut: pv);
        var newOut = Dicp.Tensors.Ops.CachedAttention(new Tensor(fresh, [n, s, 3 * d]), h, rope, pk, pv, p, prefixOf: prefixOf);
        for (var r = 0; r < n; r++)
        {
            var full = prefix.AsSpan(prefixOf[r] * p * 3 * d, p * 3 * d).ToArray().Concat(fresh.AsSpan(r * s * 3 * d, s * 3 * d).ToArray()).ToArray();
            var expected = Dicp.Tensors.Ops.CausalSelfAttention(new Tensor(full, [1, p + s, 3 * d]), h, rope).ToArray();
            Close.Assert(expected.AsSpan(p * d, s * d), newOut.Span.Slice(r * s * d, s * d), 1e-5, 1e-5, $"row {r}");
        }
        Assert.Throws<ArgumentException>(() => Dicp.Tensors.Ops.CachedAttention(new Tensor(fresh, [n, s, 3 * d]), h, rope, pk, pv, p, prefixOf: [0, 2, 1])); // prefix 2 missing

        if (!Kernels.CachedAttention.UsesHead8(8)) return;
        const int h8 = 4, d8 = 32, p8 = 21, n8 = 6;
        int[] of8 = [2, 0, 1, 2, 1, 0];
        float[] qkv = Random(n8 * s * 3 * d8), k8 = Random(3 * d8 * p8), v8 = Random(3 * d8 * p8);
        var rope8 = new RotaryCache(64, 8);
        float[] y0 = new float[n8 * s * d8], y1 = new float[n8 * s * d8];
        Kernels.CachedAttention.ForwardGeneric(qkv, n8, s, h8, 8, k8, v8, p8, of8, null, null, 0, null, rope8, y0, null, null);
        Kernels.CachedAttention.Forward8(qkv, n8, s, h8, k8, v8, p8, of8, null, null, 0, null, rope8, y1, null, null);
        Close.Assert(y0, y1, 1e-5, 1e-5, "head-8 per-row prefixes");
    }

    [Theory]
    [InlineData(48, 3, 21, 0, 0, true)]
    [InlineData(5, 2, 32, 0, 0, true)]
    [InlineData(7, 3, 21, 5, 3, true)]
    [InlineData(7, 2, 21, 5, 3, false)]
    [InlineData(3, 19, 0, 0, 0, true)]
    [InlineData(4, 2, 0, 17, 2, true)]
    public void Head8PathMatchesTheGenericPath(int n, int s, int p, int m, int g, bool withRope)
    {
        const int h = 4, hs = 8, d = h * hs;
        if (!Kernels.CachedAttention.UsesHead8(hs))
        {
            Assert.False(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx.IsSupported);
            return;
        }
        var rope = withRope ? new RotaryCache(64, hs) : null;
        var gen = new Generator(7 + n + p + m);
        float[] Random(int count) => Enumerable.Range(0, count).Select(_ => (float)gen.NextNormal()).ToArray();
        float[] qkv = Random(n * s * 3 * d), pk = Random(d * p), pv = Random(d * p), mk = Random(g * d * m), mv = Random(g * d * m);
        var groupOf = m > 0 ? Enumerable.Range(0, n).Select(r => (r * 2 + 1) % g).ToArray() : null;

        float[] y0 = new float[n * s * d], k0 = new float[n * d * s], v0 = new float[n * d * s];
        float[] y1 = new float[n * s * d], k1 = new float[n * d * s], v1 = new float[n * d * s];
        Kernels.CachedAttention.ForwardGeneric(qkv, n, s, h, hs, p > 0 ? pk : null, p > 0 ? pv : null, p, null,
            m > 0 ? mk : null, m > 0 ? mv : null, m, groupOf, rope, y0, k0, v0);
        Kernels.CachedAttention.Forward8(qkv, n, s, h, p > 0 ? pk : null, p > 0 ? pv : null, p, null,
            m > 0 ? mk : null, m > 0 ? mv : null, m, groupOf, rope, y1, k1, v1);

        Close.Assert(y0, y1, 1e-5, 1e-5, "output");
        Assert.Equal(k0, k1);
        Assert.Equal(v0, v1);
        Assert.Contains(y1, v => Math.Abs(v) > 0.1f);
        // Through Ops (which takes the head-8 path here), without fill, the same outputs.
        var viaOps = Dicp.Tensors.Ops.CachedAttention(new Tensor(qkv, [n, s, 3 * d]), h, rope, p > 0 ? pk : null, p > 0 ? pv : null, p,
            m > 0 ? mk : null, m > 0 ? mv : null, m, groupOf);
        Assert.Equal(y1, viaOps.ToArray());
    }

    /// <summary>
    /// The 256-bit head-size-8 path (AVX2 hosts without AVX-512) against the generic path, as
    /// <see cref="Head8PathMatchesTheGenericPath"/>, with per-row prefixes where <paramref name="prefixRows"/> &gt; 1:
    /// outputs within 1e-5, written keys and values equal.
    /// </summary>
    [Theory]
    [InlineData(48, 3, 21, 0, 0, 1, true)]
    [InlineData(5, 2, 32, 0, 0, 1, true)]
    [InlineData(7, 3, 21, 5, 3, 1, true)]
    [InlineData(7, 2, 21, 5, 3, 3, false)]
    [InlineData(3, 19, 0, 0, 0, 1, true)]
    [InlineData(4, 2, 0, 17, 2, 1, true)]
    [InlineData(60, 1, 75, 9, 7, 20, true)]
    public void Head8Avx2PathMatchesTheGenericPath(int n, int s, int p, int m, int g, int prefixRows, bool withRope)
    {
        const int h = 4, hs = 8, d = h * hs;
        if (!Kernels.CachedAttention.UsesHead8Avx2(hs))
        {
            Assert.True(Kernels.CachedAttention.UsesHead8(hs) || !System.Runtime.Intrinsics.X86.Avx2.IsSupported || !System.Runtime.Intrinsics.X86.Fma.IsSupported);
            return;
        }
        var rope = withRope ? new RotaryCache(128, hs) : null;
        var gen = new Generator(17 + n + p + m);
        float[] Random(int count) => Enumerable.Range(0, count).Select(_ => (float)gen.NextNormal()).ToArray();
        float[] qkv = Random(n * s * 3 * d), pk = Random(prefixRows * d * p), pv = Random(prefixRows * d * p), mk = Random(g * d * m), mv = Random(g * d * m);
        var groupOf = m > 0 ? Enumerable.Range(0, n).Select(r => (r * 2 + 1) % g).ToArray() : null;
        var prefixOf = prefixRows > 1 ? Enumerable.Range(0, n).Select(r => (r * 5 + 2) % prefixRows).ToArray() : null;
        float[] y0 = new float[n * s * d], k0 = new float[n * d * s], v0 = new float[n * d * s];
        float[] y1 = new float[n * s * d], k1 = new float[n * d * s], v1 = new float[n * d * s];
        Kernels.CachedAttention.ForwardGeneric(qkv, n, s, h, hs, p > 0 ? pk : null, p > 0 ? pv : null, p, prefixOf,
            m > 0 ? mk : null, m > 0 ? mv : null, m, groupOf, rope, y0, k0, v0);
        Kernels.CachedAttention.Forward8Avx2(qkv, n, s, h, p > 0 ? pk : null, p > 0 ? pv : null, p, prefixOf,
            m > 0 ? mk : null, m > 0 ? mv : null, m, groupOf, rope, y1, k1, v1);
        Close.Assert(y0, y1, 1e-5, 1e-5, "output");
        Assert.Equal(k0, k1);
        Assert.Equal(v0, v1);
        Assert.Contains(y1, v => Math.Abs(v) > 0.1f);
    }

    [Fact]
    public void BadCachesAreRejected()
    {
        var qkv = new Tensor(new float[2 * 3 * 24], [2, 3, 24]);
        var rope = new RotaryCache(8, 4);
        Assert.Throws<ArgumentException>(() => Dicp.Tensors.Ops.CachedAttention(qkv, 2, rope, new float[8], new float[8], 2)); // cache too short for P 2
        Assert.Throws<ArgumentException>(() => Dicp.Tensors.Ops.CachedAttention(qkv, 2, rope, null, null, 0, new float[16], new float[16], 2, [0, 1])); // group 1 missing
        Assert.Throws<ArgumentException>(() => Dicp.Tensors.Ops.CachedAttention(qkv, 2, rope, new float[48], new float[48], 6)); // positions past the rotary table
    }
}
