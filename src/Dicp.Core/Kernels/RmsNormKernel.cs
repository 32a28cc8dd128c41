using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>
/// RMSNorm over rows of width d with optional fused input dropout, forward and backward, in vector lanes:
/// <c>x̃ = dropout(x)</c>, <c>r = (mean(x̃²) + ε)^(−½)</c>, <c>y = w ⊙ x̃·r</c>. <see cref="Vector512{T}"/> where AVX-512
/// is accelerated (d a multiple of 16), else <see cref="Vector256{T}"/> at numerics level 2 (<see cref="KernelOptions.Avx2Fused"/>,
/// d a multiple of 8).
/// </summary>
/// <remarks>
/// The dropout mask is the counter-based one of <see cref="DropoutMask"/> over flat element indices, exactly as
/// <c>Ops.Dropout</c> followed by <c>Ops.RmsNorm</c>; backward regenerates it. Backward with g = dy ⊙ w:
/// dx̃ = r·(g − x̃·r·mean(g ⊙ x̃·r)), dx = mask·dx̃/(1 − p), dw = Σ_rows dy ⊙ x̃·r. The weight gradient is summed over
/// fixed blocks of <see cref="RowBlock"/> rows and then over blocks in order, so it does not depend on the thread count.
/// One implementation serves both widths (<see cref="ILanes{TV, TU}"/>); its row sums follow the 16-float groups of the
/// 512-bit form (see <see cref="Reduce{TW, TV, TU}"/>), so for d a multiple of 16 the two widths give the same bits.
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

    /// <summary>
    /// Floats per vector: 16 (<see cref="Vector512{T}"/>) or 8 (<see cref="Vector256{T}"/>); 0 (the default) takes 16
    /// where AVX-512 is accelerated, else 8. Tests set 16 on hosts without AVX-512 (it then runs in software) to compare
    /// the widths.
    /// </summary>
    public int Lanes { get; init; }

    /// <summary>Whether this kernel handles width <paramref name="d"/> (else the generic path runs).</summary>
    public static bool Supports(int d) =>
        d > 0 && d <= 1024 && (Vector512.IsHardwareAccelerated ? d % 16 == 0 : KernelOptions.Avx2Fused && d % 8 == 0);

    private bool UsesWide => Lanes == 16 || (Lanes == 0 && Vector512.IsHardwareAccelerated);

    private int Blocks => (Rows + RowBlock - 1) / RowBlock;

    /// <summary>y = w ⊙ x̃·r; rstd[row] = r.</summary>
    public void Forward(float[] x, float[] w, float[] y, float[] rstd)
    {
        CheckWidth();
        Run(Blocks, (long)Rows * D, new BlockBody(this, x, w, y, rstd, null, null, null));
    }

    /// <summary>gx += dx (when given) and gw += dw (when given).</summary>
    public void Backward(float[] x, float[] w, float[] rstd, float[] gy, float[]? gx, float[]? gw)
    {
        CheckWidth();
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

    /// <summary>Throws unless <see cref="D"/> is a whole number of the chosen width's vectors.</summary>
    private void CheckWidth()
    {
        if (D <= 0 || D % (UsesWide ? 16 : 8) != 0 || Lanes is not (0 or 8 or 16))
            throw new ArgumentException($"RmsNormKernel: width {D} is not a whole number of {(UsesWide ? 16 : 8)}-float vectors (lanes {Lanes}).");
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

        public void Run(int blk) => _kernel.RunBlock(blk, x, w, y, rstd, gy, gx, partial);
    }

    /// <summary>Block blk of rows in the kernel's vector width.</summary>
    private void RunBlock(int blk, float[] x, float[] w, float[]? y, float[] rstd, float[]? gy, float[]? gx, float[]? partial)
    {
        if (UsesWide)
        {
            if (gy is null) ForwardBlock<Lanes512, Vector512<float>, Vector512<uint>>(blk, x, w, y!, rstd);
            else BackwardBlock<Lanes512, Vector512<float>, Vector512<uint>>(blk, x, w, rstd, gy, gx, partial);
        }
        else
        {
            if (gy is null) ForwardBlock<Lanes256, Vector256<float>, Vector256<uint>>(blk, x, w, y!, rstd);
            else BackwardBlock<Lanes256, Vector256<float>, Vector256<uint>>(blk, x, w, rstd, gy, gx, partial);
        }
    }

    /// <summary>
    /// The sum of a row's squares (or dot products) accumulated lane-wise over its 16-float groups, in
    /// <see cref="Vector512.Sum{T}(Vector512{T})"/>'s order: in 512 bits the group sums are all in <paramref name="s0"/>; in
    /// 256 bits lanes 0–7 of each group are in <paramref name="s0"/> and lanes 8–15 in <paramref name="s1"/>, and
    /// Vector512.Sum adds its two 256-bit halves' sums, so both widths round alike.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce<TW, TV, TU>(TV s0, TV s1) where TW : struct, ILanes<TV, TU> where TV : unmanaged where TU : unmanaged =>
        TW.Count == 16 ? TW.Sum(s0) : TW.Sum(s0) + TW.Sum(s1);

    /// <summary>Forward of block blk's rows: y and rstd.</summary>
    private void ForwardBlock<TW, TV, TU>(int blk, float[] x, float[] w, float[] y, float[] rstd)
        where TW : struct, ILanes<TV, TU> where TV : unmanaged where TU : unmanaged
    {
        int d = D, r0 = blk * RowBlock, r1 = Math.Min(Rows, r0 + RowBlock), n = d / TW.Count;
        var drop = DropoutP > 0f;
        TU k0 = TW.Splat((uint)DropoutKey), k1 = TW.Splat((uint)(DropoutKey >> 32)), th = TW.Splat(DropoutMask.Threshold(DropoutP)), lanes = TW.Indices;
        var vs = TW.Splat(drop ? 1f / (1f - DropoutP) : 1f);
        Span<TV> xt = stackalloc TV[n];
        ref var px = ref MemoryMarshal.GetArrayDataReference(x);
        ref var pw = ref MemoryMarshal.GetArrayDataReference(w);
        ref var py = ref MemoryMarshal.GetArrayDataReference(y);
        for (var r = r0; r < r1; r++)
        {
            var row = (nuint)((long)r * d);
            TV s0 = TW.Zero, s1 = TW.Zero;
            for (var c = 0; c < n; c++)
            {
                var j = c * TW.Count;
                var v = TW.Load(ref px, row + (nuint)j);
                if (drop) v = TW.And(TW.Multiply(v, vs), TW.Keep((uint)(r * d + j), lanes, k0, k1, th));
                xt[c] = v;
                if (TW.Count == 16 || (c & 1) == 0) s0 = TW.FusedMultiplyAdd(v, v, s0);
                else s1 = TW.FusedMultiplyAdd(v, v, s1);
            }
            var inv = 1f / MathF.Sqrt(Reduce<TW, TV, TU>(s0, s1) / d + Eps);
            rstd[r] = inv;
            var vinv = TW.Splat(inv);
            for (var c = 0; c < n; c++)
            {
                var j = (nuint)(c * TW.Count);
                TW.Store(TW.Multiply(TW.Multiply(xt[c], vinv), TW.Load(ref pw, j)), ref py, row + j);
            }
        }
    }

    /// <summary>Backward of block blk's rows: gx += dx (when given), the block's dw into its slice of partial (when given).</summary>
    private void BackwardBlock<TW, TV, TU>(int blk, float[] x, float[] w, float[] rstd, float[] gy, float[]? gx, float[]? partial)
        where TW : struct, ILanes<TV, TU> where TV : unmanaged where TU : unmanaged
    {
        int d = D, r0 = blk * RowBlock, r1 = Math.Min(Rows, r0 + RowBlock), n = d / TW.Count;
        var drop = DropoutP > 0f;
        TU k0 = TW.Splat((uint)DropoutKey), k1 = TW.Splat((uint)(DropoutKey >> 32)), th = TW.Splat(DropoutMask.Threshold(DropoutP)), lanes = TW.Indices;
        var vs = TW.Splat(drop ? 1f / (1f - DropoutP) : 1f);
        Span<TV> xt = stackalloc TV[n];
        Span<TV> keep = stackalloc TV[n];
        Span<TV> g = stackalloc TV[n];
        Span<TV> dw = stackalloc TV[n];
        dw.Clear();
        ref var px = ref MemoryMarshal.GetArrayDataReference(x);
        ref var pw = ref MemoryMarshal.GetArrayDataReference(w);
        ref var pgy = ref MemoryMarshal.GetArrayDataReference(gy);
        ref var pgx = ref gx is null ? ref Unsafe.NullRef<float>() : ref MemoryMarshal.GetArrayDataReference(gx);
        for (var r = r0; r < r1; r++)
        {
            var row = (nuint)((long)r * d);
            var inv = rstd[r];
            var vinv = TW.Splat(inv);
            TV dot0 = TW.Zero, dot1 = TW.Zero;
            for (var c = 0; c < n; c++)
            {
                var j = c * TW.Count;
                var v = TW.Load(ref px, row + (nuint)j);
                if (drop)
                {
                    keep[c] = TW.Keep((uint)(r * d + j), lanes, k0, k1, th);
                    v = TW.And(TW.Multiply(v, vs), keep[c]);
                }
                xt[c] = v;
                var dy = TW.Load(ref pgy, row + (nuint)j);
                dw[c] = TW.FusedMultiplyAdd(dy, TW.Multiply(v, vinv), dw[c]);   // dw += dy ⊙ x̂
                var gc = TW.Multiply(dy, TW.Load(ref pw, (nuint)j));            // g = dy ⊙ w
                g[c] = gc;
                if (TW.Count == 16 || (c & 1) == 0) dot0 = TW.FusedMultiplyAdd(gc, v, dot0);
                else dot1 = TW.FusedMultiplyAdd(gc, v, dot1);
            }
            if (gx is null) continue;
            var m = TW.Splat(Reduce<TW, TV, TU>(dot0, dot1) * inv * inv / d); // mean(g ⊙ x̂)·r
            for (var c = 0; c < n; c++)
            {
                var j = row + (nuint)(c * TW.Count);
                var dx = TW.Multiply(vinv, TW.Subtract(g[c], TW.Multiply(xt[c], m))); // r·(g − x̂·mean(g ⊙ x̂))
                if (drop) dx = TW.And(TW.Multiply(dx, vs), keep[c]);
                TW.Store(TW.Add(TW.Load(ref pgx, j), dx), ref pgx, j);
            }
        }
        if (partial is not null)
            for (var c = 0; c < n; c++) TW.Store(dw[c], ref partial[blk * d], (nuint)(c * TW.Count));
    }
}
