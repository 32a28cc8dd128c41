using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Dicp.Tensors;

namespace Dicp.Kernels;

/// <summary>
/// The reference backbone's inference forward, one sample per task: the sample's activations — normed input (T, D),
/// qkv (T, 3D), attention output (T, D), the two SwiGLU halves (T, F) — stay in per-thread scratch (L1/L2) through all
/// blocks, and only the sample's input and output rows touch the tensors.
/// </summary>
/// <remarks>
/// Every step calls the kernel the op-by-op forward uses: <see cref="RmsNormKernel"/>, <see cref="Gemm"/> row blocks
/// over pre-transposed weights (the layout <see cref="Gemm.Multiply"/> packs a transposed B into), the head-size-8
/// <see cref="CausalAttention"/> for one sample, <see cref="SwiGluOperator"/> and element-wise adds. Each output
/// element is computed by the same operations in the same order, so the result is bit-identical to the op-by-op path.
/// </remarks>
internal static class BackboneInference
{
    /// <summary>Head size 8 (the fused attention), D a multiple of 16 (the norm kernel), F a multiple of 16 (whole SIMD lanes).</summary>
    public static bool Supports(int d, int nHead, int f) =>
        nHead > 0 && d == 8 * nHead && RmsNormKernel.Supports(d) && f > 0 && f % 16 == 0
        && Vector512.IsHardwareAccelerated && Avx.IsSupported;

    /// <summary>Floats of one block's transposed weights: qkv (D, 3D), proj (D, D), w1 and w2 (D, F), w3 (F, D).</summary>
    private static int PackedPerBlock(int d, int f) => 4 * d * d + 3 * d * f;

    /// <summary>The blocks' weights transposed to (in, out), rented from the buffer pool (the caller returns it).</summary>
    public static float[] PackWeights(TransformerBlockWeights[] blocks, int d, int f)
    {
        var per = PackedPerBlock(d, f);
        var packed = BufferPool.Rent(blocks.Length * per, clear: false);
        for (var l = 0; l < blocks.Length; l++)
        {
            var w = blocks[l];
            var o = l * per;
            Gemm.Transpose(w.QkvWeight.Data, 0, d, 3 * d, d, packed.AsSpan(o, 3 * d * d)); o += 3 * d * d;
            Gemm.Transpose(w.ProjWeight.Data, 0, d, d, d, packed.AsSpan(o, d * d)); o += d * d;
            Gemm.Transpose(w.W1.Data, 0, d, f, d, packed.AsSpan(o, d * f)); o += d * f;
            Gemm.Transpose(w.W2.Data, 0, d, f, d, packed.AsSpan(o, d * f)); o += d * f;
            Gemm.Transpose(w.W3.Data, 0, f, d, f, packed.AsSpan(o, f * d));
        }
        return packed;
    }

    /// <summary>Sample i of the batch through every block.</summary>
    public readonly struct Samples(float[] x, float[] y, int t, int d, int f, int nHead, float eps, RotaryCache? rope,
        TransformerBlockWeights[] blocks, float[] packed) : IParallelBody
    {
        [ThreadStatic] private static Scratch? _scratch;

        public void Run(int i)
        {
            var s = _scratch;
            if (s is null || s.T < t || s.D < d || s.F < f) _scratch = s = new Scratch(Math.Max(t, s?.T ?? 0), Math.Max(d, s?.D ?? 0), Math.Max(f, s?.F ?? 0));
            int td = t * d, tf = t * f, per = PackedPerBlock(d, f);
            var h = s.H.AsSpan(0, td);
            x.AsSpan(i * td, td).CopyTo(h);
            var norm = new RmsNormKernel { Rows = t, D = d, Eps = eps, DropoutP = 0f, DropoutKey = 0UL };
            var attention = new CausalAttention { B = 1, T = t, H = nHead, Hs = 8, Rope = rope, DropoutP = 0f, DropoutKey = 0UL };
            for (var l = 0; l < blocks.Length; l++)
            {
                var w = blocks[l];
                int oQkv = l * per, oProj = oQkv + 3 * d * d, oW1 = oProj + d * d, oW2 = oW1 + d * f, oW3 = oW2 + d * f;
                // x += proj(attention(qkv(rmsnorm₁(x))))
                norm.Forward(s.H, w.Norm1.Data, s.Normed, s.Rstd);
                Linear(s.Normed, t, d, packed, oQkv, w.QkvBias, 3 * d, s.Qkv);
                attention.Forward8(s.Qkv, s.Attended, null);
                Linear(s.Attended, t, d, packed, oProj, w.ProjBias, d, s.Out);
                TensorPrimitives.Add(h, s.Out.AsSpan(0, td), h);
                // x += w3(silu(w1·n) ⊙ w2·n), n = rmsnorm₂(x)
                norm.Forward(s.H, w.Norm2.Data, s.Normed, s.Rstd);
                Linear(s.Normed, t, d, packed, oW1, null, f, s.Gate);
                Linear(s.Normed, t, d, packed, oW2, null, f, s.Up);
                Elementwise.Map<SwiGluOperator>(s.Gate.AsSpan(0, tf), s.Up.AsSpan(0, tf), s.Gate.AsSpan(0, tf));
                Linear(s.Gate, t, f, packed, oW3, null, d, s.Out);
                TensorPrimitives.Add(h, s.Out.AsSpan(0, td), h);
            }
            h.CopyTo(y.AsSpan(i * td, td));
        }

        /// <summary>out (M, N) = a (M, K) · wᵀ (+ bias), wᵀ stored (K, N) at <paramref name="wOff"/>: Ops.Linear's order.</summary>
        private static void Linear(float[] a, int m, int k, float[] wT, int wOff, Tensor? bias, int n, float[] output)
        {
            if (bias is not null)
                for (var r = 0; r < m; r++) bias.Span.CopyTo(output.AsSpan(r * n, n));
            Gemm.MultiplyRows(m, n, k, a, wT, wOff, output, accumulate: bias is not null);
        }
    }

    /// <summary>One thread's activations of one sample.</summary>
    private sealed class Scratch(int t, int d, int f)
    {
        public readonly int T = t, D = d, F = f;
        public readonly float[] H = new float[t * d], Normed = new float[t * d], Attended = new float[t * d], Out = new float[t * d];
        public readonly float[] Qkv = new float[t * 3 * d], Gate = new float[t * f], Up = new float[t * f], Rstd = new float[t];
    }
}
