using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Fused causal self-attention with rotary position embedding, as in the reference backbone.
    /// </summary>
    /// <remarks>
    /// qkv (B, T, 3D) laid out per head as [q | k | v] (i.e. viewed as (B, T, H, 3·hs)) → (B, T, D) with heads concatenated.
    /// <c>y_i = Σ_{j≤i} dropout(softmax_j(rope(q_i)·rope(k_j) / √hs)) v_j</c>. Dropout uses a counter-based mask keyed by
    /// one draw from <paramref name="generator"/> (needed only when <paramref name="dropout"/> &gt; 0).
    /// Backward is the standard softmax-attention backward with the mask regenerated, followed by the inverse rotation.
    /// The softmax probabilities are saved for backward when they fit in <see cref="AttentionProbabilityBudgetBytes"/>;
    /// otherwise they are recomputed in backward from each row's log-sum-exp, so long contexts need no T² memory.
    /// </remarks>
    public static Tensor CausalSelfAttention(Tensor qkv, int nHead, RotaryCache? rope, float dropout = 0f, Generator? generator = null) =>
        CausalSelfAttentionWithBudget(qkv, nHead, rope, dropout, generator, AttentionProbabilityBudgetBytes);

    /// <summary>
    /// The most bytes one causal-attention call may keep as saved softmax probabilities (B·H·T·T, T rounded up to 16)
    /// for its backward pass; above it, the call saves only each row's log-sum-exp (B·H·T) and backward recomputes the
    /// probabilities row by row (flash-attention style: slower by the recomputation, but no T² memory). Default 256 MiB,
    /// or the value in MiB of the environment variable <c>DICP_ATTENTION_BUDGET_MB</c> when the process starts. Process-wide;
    /// set it before training (0 always recomputes). Both paths agree to float rounding (about 1e-6 relative), and
    /// below the budget the result is bit-identical to earlier versions. Head size 8 has its own recomputing kernels on
    /// AVX-512 hosts, and on AVX2 hosts at numerics level 2 (<c>DICP_NUMERICS</c>, the default); for the latter only the
    /// dropout mask's bits (1/32 of the probabilities' bytes) are held to the budget.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value set is negative.</exception>
    /// <exception cref="InvalidOperationException">Read while <c>DICP_ATTENTION_BUDGET_MB</c> is not a whole number ≥ 0.</exception>
    public static long AttentionProbabilityBudgetBytes
    {
        get
        {
            var v = Volatile.Read(ref _attentionBudget);
            if (v < 0) Volatile.Write(ref _attentionBudget, v = DefaultAttentionBudget());
            return v;
        }
        set => Volatile.Write(ref _attentionBudget, value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"Attention probability budget must be ≥ 0 bytes, got {value}."));
    }

    private static long _attentionBudget = -1; // −1: not read from the environment yet

    private static long DefaultAttentionBudget()
    {
        const long Default = 256L << 20;
        var env = Environment.GetEnvironmentVariable("DICP_ATTENTION_BUDGET_MB");
        if (string.IsNullOrWhiteSpace(env)) return Default;
        return long.TryParse(env, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var mb) && mb <= long.MaxValue >> 20
            ? mb << 20
            : throw new InvalidOperationException($"DICP_ATTENTION_BUDGET_MB must be a whole number of MiB ≥ 0, got '{env}'.");
    }

    /// <summary><see cref="CausalSelfAttention(Tensor, int, RotaryCache?, float, Generator?)"/> with an explicit probability budget in bytes.</summary>
    internal static Tensor CausalSelfAttentionWithBudget(Tensor qkv, int nHead, RotaryCache? rope, float dropout, Generator? generator, long probabilityBudgetBytes)
    {
        ArgumentNullException.ThrowIfNull(qkv);
        if (qkv.Rank != 3 || nHead <= 0 || qkv.Shape[2] % (3 * nHead) != 0)
            throw new ArgumentException($"CausalSelfAttention: qkv must be (B, T, 3·D) with D divisible by {nHead} heads, got {ShapeUtil.Format(qkv.Shape)}.");
        int b = qkv.Shape[0], t = qkv.Shape[1], d = qkv.Shape[2] / 3, hs = d / nHead;
        if (rope is not null && (rope.HeadSize != hs || rope.MaxSeqLen < t))
            throw new ArgumentException($"CausalSelfAttention: rotary cache is for head size {rope.HeadSize} and ≤ {rope.MaxSeqLen} positions; the input needs {hs} and {t}.");
        if (!(dropout >= 0f && dropout < 1f)) throw new ArgumentOutOfRangeException(nameof(dropout), $"Attention dropout must be in [0, 1), got {dropout}.");
        if (dropout > 0f && generator is null) throw new ArgumentNullException(nameof(generator), "Attention dropout needs a generator.");
        var kernel = new CausalAttention
        {
            B = b, T = t, H = nHead, Hs = hs, Rope = rope, DropoutP = dropout,
            DropoutKey = dropout > 0f ? generator!.NextUInt64() : 0UL,
        };
        var y = Tensor.Uninitialized([b, t, d]);
        if (kernel.UsesHead8)
        {
            // Nothing of size T² is kept: backward recomputes the scores from each row's log-sum-exp (B, H, T).
            var record = GradMode.ShouldRecord(qkv);
            var lse = record ? BufferPool.Rent(kernel.LseLength, clear: false) : null;
            kernel.Forward8(qkv.Data, y.Data, lse);
            if (record)
                y.Record("causal_self_attention", [qkv], (qkv, kernel, lse: lse!), static (y, _, s) =>
                {
                    s.kernel.Backward8(s.qkv.Data, y.Data, s.lse, y.Grad!, s.qkv.EnsureGrad());
                    BufferPool.Return(s.lse); // the node runs once: the graph is freed after backward
                });
            return y;
        }
        if (kernel.UsesHead8Avx2)
        {
            // The same on hosts with AVX2 but no AVX-512 (numerics level 2): lse (B, H, T) and the dropout mask's bits kept, scores recomputed.
            var record = GradMode.ShouldRecord(qkv);
            var lse = record ? BufferPool.Rent(kernel.LseLength, clear: false) : null;
            // The dropout mask as bits (B, H, T, Tp/8 bytes, 1/32 of the probabilities) when they fit the budget; else backward hashes it again.
            var keepBits = record && kernel.KeepBitsBytes > 0 && kernel.KeepBitsBytes <= Math.Min(probabilityBudgetBytes, 4L * Array.MaxLength);
            var keep = keepBits ? BufferPool.Rent(kernel.KeepBitsLength, clear: false) : null;
            kernel.Forward8Avx2(qkv.Data, y.Data, lse, keep);
            if (record)
                y.Record("causal_self_attention", [qkv], (qkv, kernel, lse: lse!, keep), static (y, _, s) =>
                {
                    s.kernel.Backward8Avx2(s.qkv.Data, y.Data, s.lse, s.keep, y.Grad!, s.qkv.EnsureGrad());
                    BufferPool.Return(s.lse); // the node runs once: the graph is freed after backward
                    if (s.keep is not null) BufferPool.Return(s.keep);
                });
            return y;
        }
        if (kernel.SavedProbabilityBytes > probabilityBudgetBytes || (long)b * nHead * t * kernel.Tp > Array.MaxLength)
        {
            // Flash path (e.g. the Meta-World configuration: batch 512 × 8 heads × 1001 tokens would keep 16 GB per layer):
            // only the row log-sum-exp (B, H, T) is kept; backward recomputes the probabilities row by row.
            var record = GradMode.ShouldRecord(qkv);
            var lse = record ? BufferPool.Rent(kernel.LseLength, clear: false) : null;
            kernel.ForwardFlash(qkv.Data, y.Data, lse);
            if (record)
                y.Record("causal_self_attention", [qkv], (qkv, kernel, lse: lse!), static (y, _, s) =>
                {
                    s.kernel.BackwardFlash(s.qkv.Data, s.lse, y.Grad!, s.qkv.EnsureGrad());
                    BufferPool.Return(s.lse); // the node runs once: the graph is freed after backward
                });
            return y;
        }
        var probs = BufferPool.Rent(kernel.ProbsLength, clear: false); // (B, H, T, Tp): every row is written in full
        kernel.Forward(qkv.Data, y.Data, probs);
        if (GradMode.ShouldRecord(qkv))
            y.Record("causal_self_attention", [qkv], (qkv, kernel, probs), static (y, _, s) =>
            {
                s.kernel.Backward(s.qkv.Data, s.probs, y.Grad!, s.qkv.EnsureGrad());
                BufferPool.Return(s.probs); // the node runs once: the graph is freed after backward
            });
        else
            BufferPool.Return(probs);
        return y;
    }
}
