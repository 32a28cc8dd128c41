using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>
/// RMSNorm over rows of width d (a multiple of 16) with optional fused input dropout, forward and backward, in
/// <see cref="Vector512{T}"/> lanes: <c>x̃ = dropout(x)</c>, <c>r = (mean(x̃²) + ε)^(−½)</c>, <c>y = w ⊙ x̃·r</c>.
/// </summary>
/// <remarks>
/// The dropout mask is the counter-based one of <see cref="DropoutMask"/> over flat element indices, exactly as
/// <c>Ops.Dropout</c> followed by <c>Ops.RmsNorm</c>; backward regenerates it. Backward with g = dy ⊙ w:
/// dx̃ = r·(g − x̃·r·mean(g ⊙ x̃·r)), dx = mask·dx̃/(1 − p), dw = Σ_rows dy ⊙ x̃·r. The weight gradient is summed over
/// fixed blocks of <see cref="RowBlock"/> rows and then over blocks in order, so it does not depend on the thread count.
/// </remarks>
internal readonly struct RmsNormKernel
{
    /// <summary>Rows per block of the parallel split (and of the weight-gradient partial sums).</summary>
    public const int RowBlock = 256;

    public required int Rows { get; init; }
    public required int D { get; init; }
    public required float Eps { get; init; }
    public required float DropoutP { get; init; }
    public required ulong DropoutKey { get; init; }

    /// <summary>Whether this kernel handles width <paramref name="d"/> (else the generic path runs).</summary>
    public static bool Supports(int d) => d > 0 && d % 16 == 0 && d <= 1024 && Vector512.IsHardwareAccelerated;

    private int Blocks => (Rows + RowBlock - 1) / RowBlock;

    /// <summary>y = w ⊙ x̃·r; rstd[row] = r.</summary>
    public void Forward(float[] x, float[] w, float[] y, float[] rstd)
    {
        Run(Blocks, (long)Rows * D, new BlockBody(this, x, w, y, rstd, null, null, null));
    }

    /// <summary>gx += dx (when given) and gw += dw (when given).</summary>
    public void Backward(float[] x, float[] w, float[] rstd, float[] gy, float[]? gx, float[]? gw)
    {
        var blocks = Blocks;
        var partial = gw is null ? null : BufferPool.Rent(blocks * D, clear: true);
        Run(blocks, (long)Rows * D * 2, new BlockBody(this, x, w, null, rstd, gy, gx, partial));
        if (gw is not null)
        {
            var dst = gw.AsSpan(0, D);
            for (var b = 0; b < blocks; b++) TensorPrimitives.Add(dst, partial.AsSpan(b * D, D), dst);
            BufferPool.Return(partial);
        }
    }

    private static void Run(int blocks, long work, BlockBody body)
    {
        if (blocks == 1 || work < 1 << 15) { for (var b = 0; b < blocks; b++) body.Run(b); return; }
        ParallelLoop.For(0, blocks, body);
    }

    /// <summary>Block blk of rows: forward when <c>gy</c> is null, else backward.</summary>
    private readonly struct BlockBody(RmsNormKernel kernel, float[] x, float[] w, float[]? y, float[] rstd, float[]? gy, float[]? gx, float[]? partial) : IParallelBody
    {
        private readonly RmsNormKernel _kernel = kernel;

        public void Run(int blk)
        {
            if (gy is null) _kernel.ForwardBlock(blk, x, w, y!, rstd);
            else _kernel.BackwardBlock(blk, x, w, rstd, gy, gx, partial);
        }
    }

    private (Vector512<uint> K0, Vector512<uint> K1, Vector512<uint> Th, Vector512<uint> Lane, float Scale) MaskParams() => (
        Vector512.Create((uint)DropoutKey), Vector512.Create((uint)(DropoutKey >> 32)), Vector512.Create(DropoutMask.Threshold(DropoutP)),
        Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), DropoutP > 0f ? 1f / (1f - DropoutP) : 1f);

    private unsafe void ForwardBlock(int blk, float[] x, float[] w, float[] y, float[] rstd)
    {
        int d = D, r0 = blk * RowBlock, r1 = Math.Min(Rows, r0 + RowBlock);
        var drop = DropoutP > 0f;
        var (k0, k1, th, lane, s) = MaskParams();
        var vs = Vector512.Create(s);
        Span<Vector512<float>> xt = stackalloc Vector512<float>[d / 16];
        fixed (float* px = x, pw = w, py = y)
        {
            for (var r = r0; r < r1; r++)
            {
                var ss = Vector512<float>.Zero;
                for (var j = 0; j < d; j += 16)
                {
                    var v = Vector512.Load(px + (long)r * d + j);
                    if (drop) v = (v * vs) & DropoutMask.Keep(Vector512.Create((uint)(r * d + j)) + lane, k0, k1, th);
                    xt[j / 16] = v;
                    ss = Vector512.FusedMultiplyAdd(v, v, ss);
                }
                var inv = 1f / MathF.Sqrt(Vector512.Sum(ss) / d + Eps);
                rstd[r] = inv;
                var vinv = Vector512.Create(inv);
                for (var j = 0; j < d; j += 16) (xt[j / 16] * vinv * Vector512.Load(pw + j)).Store(py + (long)r * d + j);
            }
        }
    }

    private unsafe void BackwardBlock(int blk, float[] x, float[] w, float[] rstd, float[] gy, float[]? gx, float[]? partial)
    {
        int d = D, r0 = blk * RowBlock, r1 = Math.Min(Rows, r0 + RowBlock);
        var drop = DropoutP > 0f;
        var (k0, k1, th, lane, s) = MaskParams();
        var vs = Vector512.Create(s);
        var n = d / 16;
        Span<Vector512<float>> xt = stackalloc Vector512<float>[n];
        Span<Vector512<float>> keep = stackalloc Vector512<float>[n];
        Span<Vector512<float>> g = stackalloc Vector512<float>[n];
        Span<Vector512<float>> dw = stackalloc Vector512<float>[n];
        dw.Clear();
        fixed (float* px = x, pw = w, pgy = gy, pgx = gx)
        {
            for (var r = r0; r < r1; r++)
            {
                var inv = rstd[r];
                var vinv = Vector512.Create(inv);
                var dot = Vector512<float>.Zero;
                for (var c = 0; c < n; c++)
                {
                    var j = c * 16;
                    var v = Vector512.Load(px + (long)r * d + j);
                    if (drop)
                    {
                        keep[c] = DropoutMask.Keep(Vector512.Create((uint)(r * d + j)) + lane, k0, k1, th);
                        v = (v * vs) & keep[c];
                    }
                    xt[c] = v;
                    var dy = Vector512.Load(pgy + (long)r * d + j);
                    dw[c] = Vector512.FusedMultiplyAdd(dy, v * vinv, dw[c]);  // dw += dy ⊙ x̂
                    var gc = dy * Vector512.Load(pw + j);                     // g = dy ⊙ w
                    g[c] = gc;
                    dot = Vector512.FusedMultiplyAdd(gc, v, dot);
                }
                if (pgx is null) continue;
                var m = Vector512.Create(Vector512.Sum(dot) * inv * inv / d); // mean(g ⊙ x̂)·r
                for (var c = 0; c < n; c++)
                {
                    var j = c * 16;
                    var dx = vinv * (g[c] - xt[c] * m);                       // r·(g − x̂·mean(g ⊙ x̂))
                    if (drop) dx = (dx * vs) & keep[c];
                    (Vector512.Load(pgx + (long)r * d + j) + dx).Store(pgx + (long)r * d + j);
                }
            }
        }
        if (partial is not null)
            for (var c = 0; c < n; c++) dw[c].StoreUnsafe(ref partial[blk * d + c * 16]);
    }
}
