using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dicp.Kernels;

/// <summary>
/// Fused causal self-attention for one (batch, head) pair at a time: RoPE on q and k, scores
/// <c>s_ij = q_i·k_j / √hs</c> for j ≤ i, softmax, counter-based dropout on the probabilities, and
/// <c>o_i = Σ_j p̃_ij v_j</c>. The qkv input is laid out per head as [q | k | v] (B, T, H, 3·hs).
/// </summary>
/// <remarks>
/// Keys and values are held transposed (hs × Tp, Tp = T rounded up to 16) so every inner loop runs over positions j in
/// whole <see cref="Vector512{T}"/> lanes: a row i only touches ⌈(i+1)/16⌉ blocks, and lanes past i hold −∞ scores
/// (zero probabilities), so the causal mask costs nothing. The softmax probabilities P (B, H, T, Tp) are saved for
/// backward; q, k, v are recomputed from qkv.
/// </remarks>
internal readonly partial struct CausalAttention
{
    private const int W = 16;

    public required int B { get; init; }
    public required int T { get; init; }
    public required int H { get; init; }
    public required int Hs { get; init; }
    public required Dicp.Tensors.RotaryCache? Rope { get; init; }
    public required float DropoutP { get; init; }
    public required ulong DropoutKey { get; init; }

    /// <summary>Set to run the <see cref="Vector512{T}"/> row helpers even where the 256-bit pairs would (the reference).</summary>
    public bool ForcePortable { get; init; }

    private int D => H * Hs;

    /// <summary>T rounded up to whole vectors: the row stride of the saved probabilities.</summary>
    public int Tp => (T + W - 1) / W * W;

    private float Scale => 1f / MathF.Sqrt(Hs);

    /// <summary>Length of the saved probabilities, B·H·T·Tp.</summary>
    public int ProbsLength => B * H * T * Tp;

    /// <summary>out (B, T, D) = attention(qkv (B, T, 3D)); probs (B, H, T, Tp) receives the softmax (pre-dropout).</summary>
    public void Forward(float[] qkv, float[] output, float[] probs)
    {
        ParallelLoop.For(0, B * H, new ForwardBody(this, qkv, output, probs));
    }

    private readonly struct ForwardBody(CausalAttention kernel, float[] qkv, float[] output, float[] probs) : IParallelBody
    {
        public void Run(int bh) => kernel.ForwardHead(bh, kernel.ThreadScratch(), qkv, output, probs);
    }

    private readonly struct BackwardBody(CausalAttention kernel, float[] qkv, float[] probs, float[] gout, float[] gqkv) : IParallelBody
    {
        public void Run(int bh) => kernel.BackwardHead(bh, kernel.ThreadScratch(), qkv, probs, gout, gqkv);
    }

    [ThreadStatic] private static Scratch? _scratch;

    /// <summary>This thread's scratch for heads of this shape (kept between calls: no allocation per step; the padding
    /// columns of Kᵀ and Vᵀ stay zero, since only the first T are ever written).</summary>
    private Scratch ThreadScratch()
    {
        var s = _scratch;
        if (s is null || s.T != T || s.Tp != Tp || s.Hs != Hs) _scratch = s = new Scratch(T, Tp, Hs);
        return s;
    }

    /// <summary>Forward of one (batch, head) pair.</summary>
    private void ForwardHead(int bh, Scratch s, float[] qkv, float[] output, float[] probs)
    {
        {
            int b = bh / H, h = bh % H, tp = Tp;
            LoadHead(qkv, b, h, s);
            var dropScale = 1f / (1f - DropoutP);
            var pairs = Pairs;
            for (var i = 0; i < T; i++)
            {
                var n = (i + 1 + W - 1) / W * W; // lanes covering j = 0..i
                var row = probs.AsSpan((bh * T + i) * tp, tp);
                if (pairs) ScoresPairs(s.Q.AsSpan(i * Hs, Hs), s.Kt, tp, n, row, Scale);
                else Scores(s.Q.AsSpan(i * Hs, Hs), s.Kt, tp, n, row);
                for (var j = i + 1; j < n; j++) row[j] = float.NegativeInfinity;
                if (pairs) SoftmaxPairs(row[..n]);
                else SoftmaxInPlace(row[..n]);
                row[n..].Clear();

                var pd = s.Row.AsSpan(0, n);
                if (DropoutP > 0f) DropoutMask.Apply(DropoutKey, (uint)((bh * T + i) * T), DropoutP, dropScale, row[..n], pd, false);
                else row[..n].CopyTo(pd);
                var oi = output.AsSpan((b * T + i) * D + h * Hs, Hs);
                if (pairs) DotsPairs(pd, s.Vt, tp, n, Hs, oi);
                else for (var d = 0; d < Hs; d++) oi[d] = Dot(pd, s.Vt.AsSpan(d * tp, n), pairs); // o_i[d] = Σ_j p̃_j v_j[d]
            }
        }
    }

    /// <summary>gqkv (B, T, 3D) += ∂/∂qkv given gout (B, T, D) and the saved probabilities.</summary>
    public void Backward(float[] qkv, float[] probs, float[] gout, float[] gqkv)
    {
        ParallelLoop.For(0, B * H, new BackwardBody(this, qkv, probs, gout, gqkv));
    }

    /// <summary>Backward of one (batch, head) pair.</summary>
    private void BackwardHead(int bh, Scratch s, float[] qkv, float[] probs, float[] gout, float[] gqkv)
    {
        {
            int b = bh / H, h = bh % H, tp = Tp;
            LoadHead(qkv, b, h, s);
            Array.Clear(s.Dq); Array.Clear(s.Dkt); Array.Clear(s.Dvt);
            var dropScale = 1f / (1f - DropoutP);
            var scale = Scale;
            var pairs = Pairs;
            Span<float> dqAdd = stackalloc float[Hs];
            for (var i = 0; i < T; i++)
            {
                var n = (i + 1 + W - 1) / W * W;
                var go = gout.AsSpan((b * T + i) * D + h * Hs, Hs);
                var p = probs.AsSpan((bh * T + i) * tp, n);
                var pd = s.Row.AsSpan(0, n);
                var dp = s.Row2.AsSpan(0, n);
                if (DropoutP > 0f) DropoutMask.Apply(DropoutKey, (uint)((bh * T + i) * T), DropoutP, dropScale, p, pd, false);
                else p.CopyTo(pd);
                if (pairs) ValueGradPairs(go, pd, s.Vt, s.Dvt, tp, dp); // the loop below, fused over d
                else
                {
                    dp.Clear();
                    for (var d = 0; d < Hs; d++)
                    {
                        Axpy(go[d], pd, s.Dvt.AsSpan(d * tp, n), pairs);  // dv_j[d] += p̃_ij·do_i[d]
                        Axpy(go[d], s.Vt.AsSpan(d * tp, n), dp, pairs);  // dp̃_ij = do_i·v_j
                    }
                }
                if (DropoutP > 0f) DropoutMask.Apply(DropoutKey, (uint)((bh * T + i) * T), DropoutP, dropScale, dp, dp, false); // dp = dp̃·mask/(1−p)
                var dot = Dot(p, dp, pairs);
                if (pairs) SoftmaxBackwardPairs(p, dp, dot, scale);  // dp ← ds_ij = p_ij (dp_ij − Σ p dp) / √hs
                else SoftmaxBackward(p, dp, dot, scale);
                var dqi = s.Dq.AsSpan(i * Hs, Hs);
                var qi = s.Q.AsSpan(i * Hs, Hs);
                if (pairs)
                {
                    DotsPairs(dp, s.Kt, tp, n, Hs, dqAdd);
                    for (var d = 0; d < Hs; d++) dqi[d] += dqAdd[d];
                    KeyGradPairs(qi, dp, s.Dkt, tp);
                }
                else for (var d = 0; d < Hs; d++)
                {
                    dqi[d] += Dot(dp, s.Kt.AsSpan(d * tp, n), pairs); // dq_i[d] = Σ_j ds_ij k_j[d]
                    Axpy(qi[d], dp, s.Dkt.AsSpan(d * tp, n), pairs);  // dk_j[d] += ds_ij q_i[d]
                }
            }
            Span<float> tmp = stackalloc float[Hs];
            for (var t = 0; t < T; t++)
            {
                var baseOff = (b * T + t) * 3 * D + h * 3 * Hs;
                var gq = gqkv.AsSpan(baseOff, Hs);
                var gk = gqkv.AsSpan(baseOff + Hs, Hs);
                var gv = gqkv.AsSpan(baseOff + 2 * Hs, Hs);
                for (var d = 0; d < Hs; d++) tmp[d] = s.Dkt[d * tp + t];
                if (Rope is null)
                {
                    TensorPrimitives.Add(gq, s.Dq.AsSpan(t * Hs, Hs), gq);
                    TensorPrimitives.Add(gk, tmp, gk);
                }
                else
                {
                    Rope.RotateBackAccumulate(s.Dq.AsSpan(t * Hs, Hs), gq, t);
                    Rope.RotateBackAccumulate(tmp, gk, t);
                }
                for (var d = 0; d < Hs; d++) gv[d] += s.Dvt[d * tp + t];
            }
        }
    }

    /// <summary>Fills the scratch with head h of sample b: Q (T, hs) and Kᵀ, Vᵀ (hs, Tp), q and k rotated, padding zero.</summary>
    private void LoadHead(float[] qkv, int b, int h, Scratch s)
    {
        var tp = Tp;
        Span<float> k = stackalloc float[Hs];
        for (var t = 0; t < T; t++)
        {
            var src = qkv.AsSpan((b * T + t) * 3 * D + h * 3 * Hs, 3 * Hs);
            if (Rope is null)
            {
                src[..Hs].CopyTo(s.Q.AsSpan(t * Hs, Hs));
                src.Slice(Hs, Hs).CopyTo(k);
            }
            else
            {
                Rope.Rotate(src[..Hs], s.Q.AsSpan(t * Hs, Hs), t);
                Rope.Rotate(src.Slice(Hs, Hs), k, t);
            }
            for (var d = 0; d < Hs; d++)
            {
                s.Kt[d * tp + t] = k[d];
                s.Vt[d * tp + t] = src[2 * Hs + d];
            }
        }
    }

    /// <summary>row[j] = (q · k_j)/√hs for j &lt; n (n a multiple of 16).</summary>
    private void Scores(ReadOnlySpan<float> q, float[] kt, int tp, int n, Span<float> row)
    {
        var scale = Scale;
        ref var r0 = ref row[0];
        for (var j = 0; j < n; j += W)
        {
            var acc = Vector512<float>.Zero;
            for (var d = 0; d < q.Length; d++)
                acc = Vector512.FusedMultiplyAdd(Vector512.Create(q[d]), Vector512.LoadUnsafe(ref kt[d * tp + j]), acc);
            (acc * scale).StoreUnsafe(ref r0, (nuint)j);
        }
    }

    /// <summary>Softmax over a row whose length is a multiple of 16 (masked lanes hold −∞).</summary>
    private static void SoftmaxInPlace(Span<float> row)
    {
        ref var r = ref row[0];
        var vmax = Vector512.Create(float.NegativeInfinity);
        for (var j = 0; j < row.Length; j += W) vmax = Vector512.Max(vmax, Vector512.LoadUnsafe(ref r, (nuint)j));
        var max = Vector512.Create(HorizontalMax(vmax));
        var vsum = Vector512<float>.Zero;
        for (var j = 0; j < row.Length; j += W)
        {
            var e = FastMath.Exp(Vector512.LoadUnsafe(ref r, (nuint)j) - max);
            e.StoreUnsafe(ref r, (nuint)j);
            vsum += e;
        }
        var inv = Vector512.Create(1f / Vector512.Sum(vsum));
        for (var j = 0; j < row.Length; j += W) (Vector512.LoadUnsafe(ref r, (nuint)j) * inv).StoreUnsafe(ref r, (nuint)j);
    }

    internal static float HorizontalMax(Vector512<float> v) => HorizontalMax(v.GetLower(), v.GetUpper());

    /// <summary>dp ← p ⊙ (dp − dot) · scale.</summary>
    private static void SoftmaxBackward(ReadOnlySpan<float> p, Span<float> dp, float dot, float scale)
    {
        ref var rp = ref Unsafe.AsRef(in p[0]);
        ref var rd = ref dp[0];
        var vdot = Vector512.Create(dot);
        for (var j = 0; j < dp.Length; j += W)
            (Vector512.LoadUnsafe(ref rp, (nuint)j) * (Vector512.LoadUnsafe(ref rd, (nuint)j) - vdot) * scale).StoreUnsafe(ref rd, (nuint)j);
    }

    /// <summary>Σ a ⊙ b over a length that is a multiple of 16 (<paramref name="pairs"/>: as 256-bit halves, same result).</summary>
    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, bool pairs)
    {
        if (pairs) return DotPairs(a, b);
        ref var ra = ref Unsafe.AsRef(in a[0]);
        ref var rb = ref Unsafe.AsRef(in b[0]);
        var acc = Vector512<float>.Zero;
        for (var j = 0; j < a.Length; j += W)
            acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)j), Vector512.LoadUnsafe(ref rb, (nuint)j), acc);
        return Vector512.Sum(acc);
    }

    /// <summary>y += α·x over a length that is a multiple of 16 (<paramref name="pairs"/>: as 256-bit halves, same result).</summary>
    private static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y, bool pairs)
    {
        if (pairs)
        {
            AxpyPairs(alpha, x, y);
            return;
        }
        ref var rx = ref Unsafe.AsRef(in x[0]);
        ref var ry = ref y[0];
        var va = Vector512.Create(alpha);
        for (var j = 0; j < y.Length; j += W)
            Vector512.FusedMultiplyAdd(va, Vector512.LoadUnsafe(ref rx, (nuint)j), Vector512.LoadUnsafe(ref ry, (nuint)j)).StoreUnsafe(ref ry, (nuint)j);
    }

    private sealed class Scratch(int t, int tp, int hs)
    {
        public readonly int T = t, Tp = tp, Hs = hs;
        public readonly float[] Q = new float[t * hs], Dq = new float[t * hs];
        public readonly float[] Kt = new float[hs * tp], Vt = new float[hs * tp], Dkt = new float[hs * tp], Dvt = new float[hs * tp];
        public readonly float[] Row = new float[tp], Row2 = new float[tp];
    }
}
