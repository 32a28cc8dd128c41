using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dicp.Kernels;

/// <summary>
/// The head-size-8 training path of <see cref="CausalAttention"/> for hosts with AVX2 and FMA but no AVX-512: the
/// <see cref="Forward8"/>/<see cref="Backward8"/> algorithm with each 16-key block split into two
/// <see cref="Vector256{T}"/> halves, two query rows per pass.
/// </summary>
/// <remarks>
/// Forward saves the row log-sum-exp (B, H, T) and, when asked, the dropout mask as bits (B, H, T, Tp/8 bytes);
/// backward recomputes the scores and reads the mask bits instead of hashing the counters again. Every lane runs the
/// operations of <see cref="Forward8"/>/<see cref="Backward8"/> in their order (the score chains, the exponential, the
/// dropout counters, the per-lane sums over blocks, the <see cref="Reduce8"/> reduction), so for finite inputs the
/// results equal theirs bit for bit (tested against them run through the software <see cref="Vector512{T}"/>). What
/// differs is only work that adds exact zeros: a half block past both rows' last key is skipped (its lanes have zero
/// probability), a row paired with the next one also visits that row's extra block with all lanes masked, and an odd
/// last row is paired with itself (backward: with a zero-gradient copy). Two rows share every key and value load, and
/// in backward one read-modify-write of dKᵀ and dVᵀ per block serves both (row a's update first, as in the row-by-row
/// order). The split over (batch, head) is fixed, so results do not depend on the thread count.
/// </remarks>
internal readonly partial struct CausalAttention
{
    /// <summary>Whether <see cref="Forward8Avx2"/>/<see cref="Backward8Avx2"/> apply: hs = 8 and <see cref="KernelOptions.Avx2Fused"/> with FMA.</summary>
    public bool UsesHead8Avx2 => Hs == 8 && KernelOptions.Avx2Fused && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// Bytes of the dropout mask as bits (B, H, T, Tp/8) that <see cref="Forward8Avx2"/> can save for
    /// <see cref="Backward8Avx2"/>, sparing it the hash; 0 without dropout.
    /// </summary>
    public long KeepBitsBytes => DropoutP > 0f ? (long)B * H * T * (Tp / 8) : 0;

    /// <summary>The same in floats (the length of the array that holds them); needs <see cref="KeepBitsBytes"/> ≤ 4·<see cref="Array.MaxLength"/>.</summary>
    public int KeepBitsLength => checked((int)((KeepBitsBytes + 3) / 4));

    /// <summary>
    /// out (B, T, D) = attention(qkv (B, T, 3D)); lse (B, H, T), when given, receives each row's log-sum-exp, and keep
    /// (<see cref="KeepBitsLength"/>), when given, the dropout mask as bits.
    /// </summary>
    public void Forward8Avx2(float[] qkv, float[] output, float[]? lse, float[]? keep = null)
    {
        var bh = B * H;
        var chunks = Math.Min(bh, Environment.ProcessorCount * 8);
        if (bh * T < 4096 || chunks <= 1) { ForwardRange256(0, bh, qkv, output, lse, keep); return; }
        ParallelLoop.For(0, chunks, new Head8Avx2Chunks(this, (bh + chunks - 1) / chunks, qkv, output, lse, keep, null, null));
    }

    /// <summary>
    /// gqkv (B, T, 3D) += ∂/∂qkv given the forward output, the saved lse, the mask bits the forward saved (or null: the
    /// mask is hashed again) and gout (B, T, D).
    /// </summary>
    public void Backward8Avx2(float[] qkv, float[] output, float[] lse, float[]? keep, float[] gout, float[] gqkv)
    {
        var bh = B * H;
        var chunks = Math.Min(bh, Environment.ProcessorCount * 8);
        if (bh * T < 4096 || chunks <= 1) { BackwardRange256(0, bh, qkv, output, lse, keep, gout, gqkv); return; }
        ParallelLoop.For(0, chunks, new Head8Avx2Chunks(this, (bh + chunks - 1) / chunks, qkv, output, lse, keep, gout, gqkv));
    }

    /// <summary>Chunk c of the (batch, head) pairs: forward, or backward when the gradients are given.</summary>
    private readonly struct Head8Avx2Chunks(CausalAttention kernel, int per, float[] qkv, float[] output, float[]? lse, float[]? keep, float[]? gout, float[]? gqkv) : IParallelBody
    {
        private readonly CausalAttention _kernel = kernel;

        public void Run(int c)
        {
            int bh0 = c * per, bh1 = Math.Min(_kernel.B * _kernel.H, bh0 + per);
            if (gout is null) _kernel.ForwardRange256(bh0, bh1, qkv, output, lse, keep);
            else _kernel.BackwardRange256(bh0, bh1, qkv, output, lse!, keep, gout, gqkv!);
        }
    }

    /// <summary>Forward of the (batch, head) pairs bh0 … bh1 − 1 on this thread, rows two at a time (an odd last row paired with itself). Tests call it as the one-thread reference.</summary>
    internal unsafe void ForwardRange256(int bh0, int bh1, float[] qkv, float[] output, float[]? lse, float[]? keep)
    {
        if (bh0 >= bh1) return;
        var s = Scratch8();
        int t = T;
        CheckKeepBits(keep);
        fixed (float* pq = s.Q, pk = s.Kt, pv = s.Vt, prow = s.Row, pout = output, pkeep = keep)
        {
            var rows = new RowPass256(this, pq, pk, pv, prow, pout, pkeep);
            for (var bh = bh0; bh < bh1; bh++)
            {
                LoadHead8(qkv, bh / H, bh % H, s);
                for (var i = 0; i < t; i += 2) rows.Forward(bh, i, Math.Min(i + 1, t - 1), lse);
            }
        }
    }

    /// <summary>Backward of the (batch, head) pairs bh0 … bh1 − 1 on this thread, rows two at a time (an odd last row paired with a zero-gradient copy of itself).</summary>
    internal unsafe void BackwardRange256(int bh0, int bh1, float[] qkv, float[] output, float[] lse, float[]? keep, float[] gout, float[] gqkv)
    {
        if (bh0 >= bh1) return;
        var s = Scratch8();
        int t = T, tp = Tp;
        CheckKeepBits(keep);
        fixed (float* pq = s.Q, pk = s.Kt, pv = s.Vt, prow = s.Row, pdq = s.Dq, pdk = s.Dkt, pdv = s.Dvt, pout = output, pgo = gout, pl = lse, pg = gqkv, pkeep = keep)
        {
            var rows = new RowPass256(this, pq, pk, pv, prow, pout, pkeep);
            for (var bh = bh0; bh < bh1; bh++)
            {
                int b = bh / H, h = bh % H;
                LoadHead8(qkv, b, h, s);
                new Span<float>(pdk, 8 * tp).Clear();
                new Span<float>(pdv, 8 * tp).Clear();
                for (var i = 0; i < t; i += 2) rows.Backward(bh, i, i + 1 < t, pl, pgo, pdq, pdk, pdv);
                ScatterHead8(pg, pdq, pdk, pdv, b, h);
            }
        }
    }

    private void CheckKeepBits(float[]? keep)
    {
        if (keep is not null && keep.Length < KeepBitsLength)
            throw new ArgumentException($"The dropout mask bits need {KeepBitsLength} floats, got {keep.Length}.", nameof(keep));
    }

    /// <summary>
    /// The first stage of <see cref="Reduce8"/> for four accumulators given as s_e = lower + upper half of each
    /// (the sums <see cref="Half4(Vector512{float}, Vector512{float}, Vector512{float}, Vector512{float})"/> forms first).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Half4Sums(Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3) =>
        Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
}
