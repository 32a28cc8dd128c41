using TransformerConfig = Dicp.Nn.TransformerConfig;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Dicp.TorchSharp;

/// <summary>RMSNorm with dropout on its input in training mode, as Dicp's and the reference's backbone (key <c>weight</c>, init 1).</summary>
/// <remarks><c>y = w ⊙ x̃ / √(mean(x̃²) + ε)</c>, x̃ = dropout_p(x) in training mode, x otherwise.</remarks>
public sealed class TorchRmsNorm : nn.Module<TorchTensor, TorchTensor>
{
    /// <summary>Creates the norm over a last axis of <paramref name="dim"/> values.</summary>
    public TorchRmsNorm(int dim, float eps, float inputDropout) : base(nameof(TorchRmsNorm))
    {
        Eps = eps;
        InputDropout = inputDropout;
        register_parameter("weight", new Parameter(ones(dim)));
    }

    /// <summary>ε inside the square root.</summary>
    public float Eps { get; }

    /// <summary>Dropout probability on the input in training mode.</summary>
    public float InputDropout { get; }

    /// <inheritdoc/>
    public override TorchTensor forward(TorchTensor x)
    {
        if (training && InputDropout > 0f) x = nn.functional.dropout(x, InputDropout, true);
        var ms = (x * x).mean([-1L], keepdim: true);             // (…, 1)
        return get_parameter("weight")! * (x * torch.rsqrt(ms + Eps)); // looked up: .to(device) replaces parameters
    }
}

/// <summary>Multi-head causal self-attention with rotary embeddings (keys <c>attn.weight|bias</c>, <c>proj.weight|bias</c>).</summary>
/// <remarks>qkv = attn(x) (B, T, 3D) laid out per head as [q | k | v]; rotate-half RoPE on q and k; softmax(qkᵀ/√hs) with
/// a causal mask and dropout on the probabilities in training mode; y = proj(·).</remarks>
public sealed class TorchCausalSelfAttention : nn.Module<TorchTensor, TorchTensor>
{
    private readonly Linear _attn, _proj;
    private readonly TorchRope _rope;

    /// <summary>Creates the layer.</summary>
    public TorchCausalSelfAttention(int dModel, int nHead, float dropout, TorchRope rope) : base(nameof(TorchCausalSelfAttention))
    {
        NHead = nHead;
        Dropout = dropout;
        _rope = rope;
        _attn = nn.Linear(dModel, 3 * dModel, hasBias: true);
        _proj = nn.Linear(dModel, dModel, hasBias: true);
        register_module("attn", _attn);
        register_module("proj", _proj);
    }

    /// <summary>Attention heads.</summary>
    public int NHead { get; }

    /// <summary>Dropout on the attention probabilities in training mode.</summary>
    public float Dropout { get; }

    /// <inheritdoc/>
    public override TorchTensor forward(TorchTensor x)
    {
        long b = x.shape[0], t = x.shape[1], d = x.shape[2], hs = d / NHead;
        using var scope = NewDisposeScope();
        var qkv = TorchAutocast.Linear(_attn, x).view(b, t, NHead, 3 * hs); // (B, T, H, 3hs), bf16 under a bf16 scope
        var parts = qkv.split(hs, dim: -1);                     // 3 × (B, T, H, hs)
        var q = _rope.Apply(parts[0]).transpose(1, 2);          // (B, H, T, hs)
        var k = _rope.Apply(parts[1]).transpose(1, 2);          // (B, H, T, hs)
        var v = parts[2].transpose(1, 2);                       // (B, H, T, hs)
        var p = training ? Dropout : 0f;
        var y = nn.functional.scaled_dot_product_attention(q, k, v, p: p, is_casual: true); // (B, H, T, hs)
        return TorchAutocast.Float(TorchAutocast.Linear(_proj, y.transpose(1, 2).reshape(b, t, d))).MoveToOuterDisposeScope(); // (B, T, D) float32
    }
}

/// <summary>Rotate-half rotary tables (cos, sin: (MaxSeqLen, hs)), computed in double and stored as float exactly as Dicp's <see cref="Dicp.Tensors.RotaryCache"/>.</summary>
public sealed class TorchRope : nn.Module
{
    /// <summary>Builds the tables for positions 0 … <paramref name="maxSeqLen"/> − 1.</summary>
    public TorchRope(int maxSeqLen, int headSize, double @base) : base(nameof(TorchRope))
    {
        var cache = new Dicp.Tensors.RotaryCache(maxSeqLen, headSize, @base); // Dicp's tables, bit for bit
        register_buffer("cos", tensor(cache.Cos, [maxSeqLen, headSize]), persistent: false);
        register_buffer("sin", tensor(cache.Sin, [maxSeqLen, headSize]), persistent: false);
    }

    /// <summary>rope(x) for x (B, T, H, hs): <c>x·cos + rotate_half(x)·sin</c>, positions 0 … T − 1.</summary>
    public TorchTensor Apply(TorchTensor x)
    {
        long t = x.shape[1], hs = x.shape[3], half = hs / 2;
        var cos = get_buffer("cos")!.narrow(0, 0, t).view(1, t, 1, hs).to(x.dtype);          // (1, T, 1, hs)
        var sin = get_buffer("sin")!.narrow(0, 0, t).view(1, t, 1, hs).to(x.dtype);
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1); // [−x₂, x₁]
        return x * cos + rotated * sin;
    }
}

/// <summary>The SwiGLU feed-forward <c>w3(silu(w1·x) ⊙ w2·x)</c> without biases, under <c>mlp.swiglu</c> as the reference.</summary>
public sealed class TorchSwiGluMlp : nn.Module<TorchTensor, TorchTensor>
{
    private readonly SwiGluInner _swiglu;

    /// <summary>Creates the MLP D → hidden → D.</summary>
    public TorchSwiGluMlp(int dModel, int hidden) : base(nameof(TorchSwiGluMlp))
    {
        _swiglu = new SwiGluInner(dModel, hidden);
        register_module("swiglu", _swiglu);
    }

    /// <inheritdoc/>
    public override TorchTensor forward(TorchTensor x) => _swiglu.forward(x);

    private sealed class SwiGluInner : nn.Module<TorchTensor, TorchTensor>
    {
        private readonly Linear _w1, _w2, _w3;

        public SwiGluInner(int dModel, int hidden) : base("SwiGlu")
        {
            _w1 = nn.Linear(dModel, hidden, hasBias: false);
            _w2 = nn.Linear(dModel, hidden, hasBias: false);
            _w3 = nn.Linear(hidden, dModel, hasBias: false);
            register_module("w1", _w1);
            register_module("w2", _w2);
            register_module("w3", _w3);
        }

        public override TorchTensor forward(TorchTensor x)
        {
            using var scope = NewDisposeScope();
            var hidden = nn.functional.silu(TorchAutocast.Linear(_w1, x)) * TorchAutocast.Linear(_w2, x); // (…, hidden)
            return TorchAutocast.Float(TorchAutocast.Linear(_w3, hidden)).MoveToOuterDisposeScope();      // (…, D) float32
        }
    }
}

/// <summary>A pre-norm block <c>x = x + attn(norm_1(x)); x = x + mlp(norm_2(x))</c>.</summary>
public sealed class TorchTransformerBlock : nn.Module<TorchTensor, TorchTensor>
{
    private readonly TorchRmsNorm _norm1, _norm2;
    private readonly TorchCausalSelfAttention _attn;
    private readonly TorchSwiGluMlp _mlp;

    /// <summary>Creates a block.</summary>
    public TorchTransformerBlock(TransformerConfig config, TorchRope rope) : base(nameof(TorchTransformerBlock))
    {
        _norm1 = new TorchRmsNorm(config.DModel, config.NormEps, config.Dropout);
        _attn = new TorchCausalSelfAttention(config.DModel, config.NHead, config.Dropout, rope);
        _norm2 = new TorchRmsNorm(config.DModel, config.NormEps, config.Dropout);
        _mlp = new TorchSwiGluMlp(config.DModel, config.NInner);
        register_module("norm_1", _norm1);
        register_module("attn", _attn);
        register_module("norm_2", _norm2);
        register_module("mlp", _mlp);
    }

    /// <inheritdoc/>
    public override TorchTensor forward(TorchTensor x)
    {
        using var scope = NewDisposeScope();
        x = x + _attn.forward(_norm1.forward(x));
        return (x + _mlp.forward(_norm2.forward(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>The reference backbone on TorchSharp: <c>blocks.{i}</c>, no final norm; (B, T, D) → (B, T, D).</summary>
public sealed class TorchTransformer : nn.Module<TorchTensor, TorchTensor>
{
    private readonly ModuleList<TorchTransformerBlock> _blocks;
    private readonly TorchRope _rope;

    /// <summary>Creates the backbone (parameters are overwritten by a state-dict load).</summary>
    public TorchTransformer(TransformerConfig config) : base(nameof(TorchTransformer))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        _rope = new TorchRope(config.MaxSeqLen, config.HeadSize, config.RopeBase);
        _blocks = new ModuleList<TorchTransformerBlock>([.. Enumerable.Range(0, config.NLayer).Select(_ => new TorchTransformerBlock(config, _rope))]);
        register_module("rope", _rope);
        register_module("blocks", _blocks);
    }

    /// <summary>The hyperparameters.</summary>
    public TransformerConfig Config { get; }

    /// <inheritdoc/>
    public override TorchTensor forward(TorchTensor x)
    {
        if (x.dim() != 3 || x.shape[2] != Config.DModel || x.shape[1] > Config.MaxSeqLen)
            throw new ArgumentException($"TorchTransformer: input must be (B, T ≤ {Config.MaxSeqLen}, {Config.DModel}), got ({string.Join(", ", x.shape)}).");
        foreach (var block in _blocks) x = block.forward(x);
        return x;
    }
}
