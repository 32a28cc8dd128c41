using System.Buffers;

namespace Dicp.Kernels;

/// <summary>
/// Fused causal self-attention for one (batch, head) pair at a time: RoPE on q and k, scores
/// <c>s_ij = q_i·k_j / √hs</c> for j ≤ i only (masked positions are never computed), softmax, counter-based dropout on
/// the probabilities, and <c>o_i = Σ_j p̃_ij v_j</c>. The probabilities P (B, H, T, T) are saved for backward; q, k, v are
/// re-read from qkv. The qkv input is laid out per head as [q | k | v] (B, T, H, 3·hs).
/// </summary>
internal sealed class CausalAttention
{
    public required int B { get; init; }
    public required int T { get; init; }
    public required int H { get; init; }
    public required int Hs { get; init; }
    public required Dicp.Tensors.RotaryCache? Rope { get; init; }
    public required float DropoutP { get; init; }
    public required ulong DropoutKey { get; init; }

    private int D => H * Hs;
    private float Scale => 1f / MathF.Sqrt(Hs);

    /// <summary>out (B, T, D) = attention(qkv (B, T, 3D)); probs (B, H, T, T) receives the softmax (pre-dropout).</summary>
    public void Forward(float[] qkv, float[] output, float[] probs)
    {
        Parallel.For(0, B * H, () => new Scratch(T, Hs), (bh, _, s) =>
        {
            int b = bh / H, h = bh % H;
            LoadHead(qkv, b, h, s.Q, s.K, s.V);
            var p = probs.AsSpan(bh * T * T, T * T);
            var dropScale = 1f / (1f - DropoutP);
            for (var i = 0; i < T; i++)
            {
                var qi = s.Q.AsSpan(i * Hs, Hs);
                var row = p.Slice(i * T, i + 1);
                var max = float.NegativeInfinity;
                for (var j = 0; j <= i; j++)
                {
                    var dot = Dot(qi, s.K.AsSpan(j * Hs, Hs)) * Scale;
                    row[j] = dot;
                    if (dot > max) max = dot;
                }
                TensorPrimitives.Subtract(row, max, row);
                TensorPrimitives.Exp(row, row);
                TensorPrimitives.Multiply(row, 1f / TensorPrimitives.Sum(row), row);

                var pd = s.Row.AsSpan(0, i + 1);
                if (DropoutP > 0f) DropoutMask.Apply(DropoutKey, (uint)((bh * T + i) * T), DropoutP, dropScale, row, pd, false);
                else row.CopyTo(pd);
                var oi = output.AsSpan((b * T + i) * D + h * Hs, Hs);
                oi.Clear();
                for (var j = 0; j <= i; j++) TensorPrimitives.MultiplyAdd(s.V.AsSpan(j * Hs, Hs), pd[j], oi, oi);
            }
            return s;
        }, static _ => { });
    }

    /// <summary>gqkv (B, T, 3D) += ∂/∂qkv given gout (B, T, D) and the saved probabilities.</summary>
    public void Backward(float[] qkv, float[] probs, float[] gout, float[] gqkv)
    {
        Parallel.For(0, B * H, () => new Scratch(T, Hs), (bh, _, s) =>
        {
            int b = bh / H, h = bh % H;
            LoadHead(qkv, b, h, s.Q, s.K, s.V);
            Array.Clear(s.Dq); Array.Clear(s.Dk); Array.Clear(s.Dv);
            var p = probs.AsSpan(bh * T * T, T * T);
            var dropScale = 1f / (1f - DropoutP);
            for (var i = 0; i < T; i++)
            {
                var go = gout.AsSpan((b * T + i) * D + h * Hs, Hs);
                var prow = p.Slice(i * T, i + 1);
                var pd = s.Row.AsSpan(0, i + 1);
                var dp = s.Row2.AsSpan(0, i + 1);
                if (DropoutP > 0f) DropoutMask.Apply(DropoutKey, (uint)((bh * T + i) * T), DropoutP, dropScale, prow, pd, false);
                else prow.CopyTo(pd);
                for (var j = 0; j <= i; j++)
                {
                    TensorPrimitives.MultiplyAdd(go, pd[j], s.Dv.AsSpan(j * Hs, Hs), s.Dv.AsSpan(j * Hs, Hs)); // dv_j += p̃_ij·do_i
                    dp[j] = Dot(go, s.V.AsSpan(j * Hs, Hs));                                                   // dp̃_ij = do_i·v_j
                }
                if (DropoutP > 0f) DropoutMask.Apply(DropoutKey, (uint)((bh * T + i) * T), DropoutP, dropScale, dp, dp, false); // dp = dp̃·mask/(1−p)
                var dot = TensorPrimitives.Dot(prow, dp);
                var dqi = s.Dq.AsSpan(i * Hs, Hs);
                var qi = s.Q.AsSpan(i * Hs, Hs);
                for (var j = 0; j <= i; j++)
                {
                    var ds = prow[j] * (dp[j] - dot) * Scale;                 // softmax backward, times the score scale
                    TensorPrimitives.MultiplyAdd(s.K.AsSpan(j * Hs, Hs), ds, dqi, dqi);
                    TensorPrimitives.MultiplyAdd(qi, ds, s.Dk.AsSpan(j * Hs, Hs), s.Dk.AsSpan(j * Hs, Hs));
                }
            }
            for (var t = 0; t < T; t++)
            {
                var baseOff = (b * T + t) * 3 * D + h * 3 * Hs;
                var gq = gqkv.AsSpan(baseOff, Hs);
                var gk = gqkv.AsSpan(baseOff + Hs, Hs);
                var gv = gqkv.AsSpan(baseOff + 2 * Hs, Hs);
                if (Rope is null)
                {
                    TensorPrimitives.Add(gq, s.Dq.AsSpan(t * Hs, Hs), gq);
                    TensorPrimitives.Add(gk, s.Dk.AsSpan(t * Hs, Hs), gk);
                }
                else
                {
                    Rope.RotateBackAccumulate(s.Dq.AsSpan(t * Hs, Hs), gq, t);
                    Rope.RotateBackAccumulate(s.Dk.AsSpan(t * Hs, Hs), gk, t);
                }
                TensorPrimitives.Add(gv, s.Dv.AsSpan(t * Hs, Hs), gv);
            }
            return s;
        }, static _ => { });
    }

    /// <summary>Copies head h of sample b out of qkv into (T, hs) q, k, v, rotating q and k.</summary>
    private void LoadHead(float[] qkv, int b, int h, float[] q, float[] k, float[] v)
    {
        for (var t = 0; t < T; t++)
        {
            var baseOff = (b * T + t) * 3 * D + h * 3 * Hs;
            var src = qkv.AsSpan(baseOff, 3 * Hs);
            if (Rope is null)
            {
                src[..Hs].CopyTo(q.AsSpan(t * Hs, Hs));
                src.Slice(Hs, Hs).CopyTo(k.AsSpan(t * Hs, Hs));
            }
            else
            {
                Rope.Rotate(src[..Hs], q.AsSpan(t * Hs, Hs), t);
                Rope.Rotate(src.Slice(Hs, Hs), k.AsSpan(t * Hs, Hs), t);
            }
            src.Slice(2 * Hs, Hs).CopyTo(v.AsSpan(t * Hs, Hs));
        }
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var s = 0f;
        for (var i = 0; i < a.Length; i++) s = MathF.FusedMultiplyAdd(a[i], b[i], s);
        return s;
    }

    private sealed class Scratch(int t, int hs)
    {
        public readonly float[] Q = new float[t * hs], K = new float[t * hs], V = new float[t * hs];
        public readonly float[] Dq = new float[t * hs], Dk = new float[t * hs], Dv = new float[t * hs];
        public readonly float[] Row = new float[t], Row2 = new float[t];
    }
}
