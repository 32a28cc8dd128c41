using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>e^x element-wise.</summary>
    /// <remarks>Backward: dx = dy ⊙ y.</remarks>
    public static Tensor Exp(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Exp(x.Span, y.Span);
        if (GradMode.ShouldRecord(x))
            y.Record("exp", [x], x, static (y, _, x) => Elementwise.MapAccumulate<MultiplyOperator>(y.Span, y.Grad!.AsSpan(0, y.Size), x.GradSpan));
        return y;
    }

    /// <summary>Natural logarithm element-wise.</summary>
    /// <remarks>Backward: dx = dy / x.</remarks>
    public static Tensor Log(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Log(x.Span, y.Span);
        if (GradMode.ShouldRecord(x))
            y.Record("log", [x], x, static (y, _, x) =>
            {
                var gx = x.GradSpan;
                var gy = y.Grad!;
                for (var i = 0; i < gx.Length; i++) gx[i] += gy[i] / x.Data[i];
            });
        return y;
    }

    /// <summary>tanh element-wise.</summary>
    /// <remarks>Backward: dx = dy ⊙ (1 − y²).</remarks>
    public static Tensor Tanh(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Tanh(x.Span, y.Span);
        if (GradMode.ShouldRecord(x))
            y.Record("tanh", [x], x, static (y, _, x) => Elementwise.MapAccumulate<TanhGradOperator>(y.Span, y.Grad!.AsSpan(0, y.Size), x.GradSpan));
        return y;
    }

    /// <summary>max(x, 0) element-wise.</summary>
    /// <remarks>Backward: dx = dy ⊙ [x &gt; 0].</remarks>
    public static Tensor Relu(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Max(x.Span, 0f, y.Span);
        if (GradMode.ShouldRecord(x))
            y.Record("relu", [x], x, static (y, _, x) => Elementwise.MapAccumulate<ReluGradOperator>(x.Span, y.Grad!.AsSpan(0, y.Size), x.GradSpan));
        return y;
    }

    /// <summary>Clamp to <c>[lo, hi]</c> (PyTorch's <c>torch.clamp</c>).</summary>
    /// <remarks>Backward: dx = dy where lo ≤ x ≤ hi, else 0 (PyTorch passes the gradient at the bounds).</remarks>
    public static Tensor Clamp(Tensor x, float lo, float hi)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!(lo <= hi)) throw new ArgumentException($"Clamp needs lo ≤ hi, got [{lo}, {hi}].", nameof(lo));
        var y = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Clamp(x.Span, lo, hi, y.Span);
        if (GradMode.ShouldRecord(x))
            y.Record("clamp", [x], (x, lo, hi), static (y, _, s) =>
            {
                var (x, lo, hi) = s;
                ReadOnlySpan<float> xs = x.Span, dy = y.Grad!.AsSpan(0, y.Size);
                var dx = x.GradSpan;
                for (var i = 0; i < xs.Length; i++)
                    if (xs[i] >= lo && xs[i] <= hi) dx[i] += dy[i];
            });
        return y;
    }

    /// <summary>SiLU (swish): <c>x·σ(x)</c>.</summary>
    /// <remarks>Backward: dx = dy ⊙ σ(x)(1 + x(1 − σ(x))).</remarks>
    public static Tensor Silu(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        Elementwise.Map<SiluOperator>(x.Span, y.Span);
        if (GradMode.ShouldRecord(x))
            y.Record("silu", [x], x, static (y, _, x) => Elementwise.MapAccumulate<SiluGradOperator>(x.Span, y.Grad!.AsSpan(0, y.Size), x.GradSpan));
        return y;
    }

    /// <summary>GELU, exact form <c>x·Φ(x) = ½x(1 + erf(x/√2))</c> (PyTorch's default).</summary>
    /// <remarks>Backward: dx = dy ⊙ (Φ(x) + x·φ(x)), φ the standard normal density.</remarks>
    public static Tensor Gelu(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        var xs = x.Span;
        var ys = y.Span;
        for (var i = 0; i < xs.Length; i++) ys[i] = (float)(0.5 * xs[i] * (1.0 + SpecialFunctions.Erf(xs[i] / Math.Sqrt(2.0))));
        if (GradMode.ShouldRecord(x))
            y.Record("gelu", [x], x, static (y, _, x) =>
            {
                var gx = x.GradSpan;
                var gy = y.Grad!;
                for (var i = 0; i < gx.Length; i++)
                {
                    double v = x.Data[i];
                    var cdf = 0.5 * (1.0 + SpecialFunctions.Erf(v / Math.Sqrt(2.0)));
                    var pdf = Math.Exp(-0.5 * v * v) / Math.Sqrt(2.0 * Math.PI);
                    gx[i] += (float)(gy[i] * (cdf + v * pdf));
                }
            });
        return y;
    }

    /// <summary>The SwiGLU gate <c>silu(a) ⊙ b</c> (shapes equal), the core of the reference's MLP.</summary>
    /// <remarks>Backward: da = dy ⊙ b ⊙ silu'(a); db = dy ⊙ silu(a).</remarks>
    public static Tensor SwiGlu(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ShapeUtil.CheckSame(a, b, nameof(SwiGlu));
        var y = Tensor.Uninitialized(a.Shape);
        ParallelLoop.ForRanges((y.Size + 1023) / 1024, 1024, new SwiGluChunks(a, b, y, Backward: false));
        if (GradMode.ShouldRecord(a, b))
            y.Record("swiglu", [a, b], new SwiGluChunks(a, b, y, Backward: true), static (y, _, chunks) =>
            {
                // Gradients are allocated before the parallel region; fresh ones are overwritten, not cleared and accumulated.
                bool accA = true, accB = true;
                if (chunks.A.RequiresGrad) chunks.A.GradForWrite(out accA);
                if (chunks.B.RequiresGrad) chunks.B.GradForWrite(out accB);
                ParallelLoop.ForRanges((y.Size + 1023) / 1024, 1024, chunks with { AccumulateA = accA, AccumulateB = accB });
            });
        return y;
    }

    /// <summary>Chunks of 1024 elements of <see cref="SwiGlu"/>: forward, or backward into the inputs' gradients.</summary>
    private readonly record struct SwiGluChunks(Tensor A, Tensor B, Tensor Y, bool Backward, bool AccumulateA = true, bool AccumulateB = true) : IRangeBody
    {
        public void Run(int start, int end)
        {
            int o = start * 1024, len = Math.Min(Y.Size, end * 1024) - o;
            if (!Backward)
            {
                Elementwise.Map<SwiGluOperator>(A.Data.AsSpan(o, len), B.Data.AsSpan(o, len), Y.Data.AsSpan(o, len));
                return;
            }
            SwiGluBackward.Run(A.Data.AsSpan(o, len), B.Data.AsSpan(o, len), Y.Grad!.AsSpan(o, len),
                A.RequiresGrad ? A.Grad!.AsSpan(o, len) : default, B.RequiresGrad ? B.Grad!.AsSpan(o, len) : default,
                AccumulateA, AccumulateB);
        }
    }
}
