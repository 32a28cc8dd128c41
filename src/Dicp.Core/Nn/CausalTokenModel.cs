using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>
/// A small causal language model over integer tokens: token embedding (<c>wte</c>), the reference backbone
/// (<c>transformer</c>) and a linear read-out (<c>lm_head</c>). Used by the engine demonstration and tests; the
/// in-context RL models compose the same backbone with their own embeddings and heads.
/// </summary>
/// <remarks>tokens (B, T) → logits (B, T, V); position t predicts token t + 1.</remarks>
public sealed class CausalTokenModel : Module
{
    /// <summary>Creates the model; all initial values come from <paramref name="seed"/>.</summary>
    public CausalTokenModel(int vocabSize, TransformerConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        var g = new Generator(seed);
        VocabSize = vocabSize;
        Wte = RegisterModule("wte", new Embedding(vocabSize, config.DModel, g));
        Transformer = RegisterModule("transformer", new Transformer(config, g));
        LmHead = RegisterModule("lm_head", new Linear(config.DModel, vocabSize, bias: true, g));
    }

    /// <summary>Number of token ids.</summary>
    public int VocabSize { get; }

    /// <summary>Token embedding (V, D).</summary>
    public Embedding Wte { get; }

    /// <summary>The backbone.</summary>
    public Transformer Transformer { get; }

    /// <summary>Read-out D → V.</summary>
    public Linear LmHead { get; }

    /// <summary>Logits (B, T, V) for row-major tokens (B, T).</summary>
    public Tensor Forward(ReadOnlySpan<int> tokens, int batch, int seqLen)
    {
        if (batch * seqLen != tokens.Length) throw new ArgumentException($"{tokens.Length} tokens do not form a ({batch}, {seqLen}) batch.", nameof(tokens));
        var x = Wte.Forward(tokens, [batch, seqLen]); // (B, T, D)
        return LmHead.Forward(Transformer.Forward(x)); // (B, T, V)
    }
}
