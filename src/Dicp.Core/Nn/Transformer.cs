using Dicp.Autograd;
using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>Hyperparameters of the reference backbone.</summary>
/// <param name="DModel">Embedding size D (reference: 32 for grid worlds, 64 for Meta-World).</param>
/// <param name="NLayer">Number of blocks (reference: 4).</param>
/// <param name="NHead">Attention heads (reference: 4; 8 for Meta-World).</param>
/// <param name="NInner">SwiGLU hidden size (reference: 128; 256 for Meta-World).</param>
/// <param name="Dropout">Dropout on norm inputs and attention probabilities (reference: 0.1).</param>
/// <param name="MaxSeqLen">Longest sequence the rotary tables cover.</param>
/// <param name="RopeBase">Rotary frequency base (10000).</param>
/// <param name="NormEps">RMSNorm ε (1e-5).</param>
public sealed record TransformerConfig(
    int DModel = 32,
    int NLayer = 4,
    int NHead = 4,
    int NInner = 128,
    float Dropout = 0.1f,
    int MaxSeqLen = 1024,
    double RopeBase = 10000.0,
    float NormEps = 1e-5f)
{
    /// <summary>Head size D / H.</summary>
    public int HeadSize => DModel / NHead;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (DModel <= 0) throw new ArgumentException($"TransformerConfig.DModel must be positive, got {DModel}.");
        if (NLayer <= 0) throw new ArgumentException($"TransformerConfig.NLayer must be positive, got {NLayer}.");
        if (NHead <= 0 || DModel % NHead != 0) throw new ArgumentException($"TransformerConfig.NHead ({NHead}) must divide DModel ({DModel}).");
        if (HeadSize % 2 != 0) throw new ArgumentException($"TransformerConfig: head size {HeadSize} must be even for rotary embeddings.");
        if (NInner <= 0) throw new ArgumentException($"TransformerConfig.NInner must be positive, got {NInner}.");
        if (!(Dropout >= 0f && Dropout < 1f)) throw new ArgumentException($"TransformerConfig.Dropout must be in [0, 1), got {Dropout}.");
        if (MaxSeqLen <= 0) throw new ArgumentException($"TransformerConfig.MaxSeqLen must be positive, got {MaxSeqLen}.");
    }
}

/// <summary>
/// The reference ("TinyLlama"-style) causal Transformer backbone: a stack of pre-norm blocks, no final norm.
/// Key prefix <c>blocks.{i}.</c>; models hold it under <c>transformer</c>.
/// </summary>
/// <remarks>Input embeddings (B, T, D) → hidden states (B, T, D).</remarks>
public sealed class Transformer : Module
{
    /// <summary>Creates the backbone; initial values and the dropout stream both derive from <paramref name="generator"/>.</summary>
    public Transformer(TransformerConfig config, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(generator);
        config.Validate();
        Config = config;
        Rope = new RotaryCache(config.MaxSeqLen, config.HeadSize, config.RopeBase);
        Blocks = RegisterModule("blocks", new ModuleList<TransformerBlock>(
            Enumerable.Range(0, config.NLayer).Select(_ => new TransformerBlock(config, Rope, generator)).ToList()));
        SetGenerator(generator.Derive(0x0D20_90A7));
        if (Ops.SupportsTransformerInference(config.DModel, config.NHead, config.NInner))
        {
            _inferenceWeights = new TransformerBlockWeights[Blocks.Count];
            for (var i = 0; i < Blocks.Count; i++)
            {
                var blk = Blocks[i];
                _inferenceWeights[i] = new TransformerBlockWeights(blk.Norm1.Weight, blk.Attn.Attn.Weight, blk.Attn.Attn.Bias,
                    blk.Attn.Proj.Weight, blk.Attn.Proj.Bias, blk.Norm2.Weight, blk.Mlp.SwiGlu.W1.Weight, blk.Mlp.SwiGlu.W2.Weight, blk.Mlp.SwiGlu.W3.Weight);
            }
        }
    }

    /// <summary>The blocks' parameters for the fused inference forward, or null where it does not apply.</summary>
    private readonly TransformerBlockWeights[]? _inferenceWeights;

    /// <summary>Whether any block would apply dropout (training mode with a positive rate).</summary>
    private bool DropoutActive()
    {
        if (Config.Dropout == 0f) return false;
        for (var i = 0; i < Blocks.Count; i++)
        {
            var blk = Blocks[i];
            if (blk.Norm1.Training || blk.Attn.Training || blk.Norm2.Training) return true;
        }
        return false;
    }

    /// <summary>The hyperparameters.</summary>
    public TransformerConfig Config { get; }

    /// <summary>Rotary tables shared by the blocks.</summary>
    public RotaryCache Rope { get; }

    /// <summary>The blocks.</summary>
    public ModuleList<TransformerBlock> Blocks { get; }

    /// <summary>Runs the stack on x (B, T, D).</summary>
    /// <exception cref="ArgumentException">x is not (B, T ≤ MaxSeqLen, D).</exception>
    public Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary>
    /// The backbone's one forward: training and evaluation (<paramref name="cache"/> null: the modules' dropout when in
    /// training mode), inference (<see cref="KvContext.Inference"/>: never dropout), and inference over cached keys and
    /// values (a <see cref="KvContext"/> with segments: every block's attention is <see cref="Ops.CachedAttention"/> at
    /// the new tokens' absolute positions, and <see cref="KvContext.Fill"/> receives their keys, values and last hidden
    /// states). Without a gradient, dropout or cached tokens it runs the fused inference kernel
    /// (<see cref="Ops.TransformerInference"/>, bit-identical) where the host supports it.
    /// </summary>
    /// <exception cref="ArgumentException">x is not (B, T, D), or its positions pass the rotary table.</exception>
    internal Tensor Forward(Tensor x, KvContext? cache)
    {
        ArgumentNullException.ThrowIfNull(x);
        var past = (cache?.Prefix?.Length ?? 0) + (cache?.Middle?.Length ?? 0);
        if (x.Rank != 3 || x.Shape[2] != Config.DModel || past + x.Shape[1] > Config.MaxSeqLen)
            throw new ArgumentException($"Transformer: input must be (B, T ≤ {Config.MaxSeqLen - past}, {Config.DModel}), got {ShapeUtil.Format(x.Shape)}.");
        if (!GradMode.IsEnabled && _inferenceWeights is not null && (cache is null ? !DropoutActive() : cache.IsEmpty))
            return Ops.TransformerInference(x, _inferenceWeights, Config.NHead, Rope, Config.NormEps); // fused, bit-identical
        for (var i = 0; i < Blocks.Count; i++) x = Blocks[i].Forward(x, cache, i);
        if (cache?.Fill is { } fill)
        {
            int n = x.Shape[0], s = x.Shape[1], d = x.Shape[2];
            for (var r = 0; r < n; r++) x.Data.AsSpan((r * s + s - 1) * d, d).CopyTo(fill.LastHidden.AsSpan(r * d));
        }
        return x;
    }
}
