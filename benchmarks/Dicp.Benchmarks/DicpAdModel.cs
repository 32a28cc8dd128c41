using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Benchmarks;

/// <summary>
/// The DICP-AD model for Darkroom (Algorithm Distillation with the dynamics heads), built only from Dicp's public API,
/// as specified in the reference (shared docs, reference.md §4 "AD (and DICP-AD), grid worlds").
/// </summary>
/// <remarks>
/// NOTE: this is a benchmark-local stand-in. The real AD / DICP-AD model will arrive later in the library
/// (Dicp.Core / Dicp.Planning); once it does, the harness should switch to it so that the numbers track the shipped code.
/// Per sample (n_transit = 80): <c>n_transit − 1 = 79</c> transition tokens <c>embed_context = Linear(10 → d)</c> over
/// concat(s (2 raw coords), one-hot a (5), r (1), s' (2)), a query-state token <c>embed_query_state = Embedding(81, d)</c>
/// and a query-action token <c>embed_query_action = Embedding(5, d)</c> → 81 tokens through the reference backbone.
/// Heads: action logits from the query-state output, reward (2) and next-state (81) logits from the query-action output.
/// 79 context tokens (not 80) keep the sequence at the reference's 81 tokens, the shape performance.md measures
/// (M = 512 × 81 = 41 472 rows per Linear at batch 512).
/// </remarks>
public sealed class DicpAdModel : Module
{
    /// <summary>Features of one transition token: s (2) + one-hot a (5) + r (1) + s' (2).</summary>
    public const int TransitionFeatures = 10;

    /// <summary>Number of grid cells (9 × 9).</summary>
    public const int NumStates = 81;

    /// <summary>Number of actions.</summary>
    public const int NumActions = 5;

    /// <summary>Number of reward classes.</summary>
    public const int NumRewards = 2;

    /// <summary>Creates the model; all initial values and the dropout stream come from <paramref name="seed"/>.</summary>
    public DicpAdModel(TransformerConfig config, int nTransit, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (nTransit < 2 || nTransit + 1 > config.MaxSeqLen) throw new ArgumentOutOfRangeException(nameof(nTransit), $"n_transit {nTransit} does not fit the backbone.");
        Config = config;
        NTransit = nTransit;
        var g = new Generator(seed);
        var d = config.DModel;
        EmbedContext = RegisterModule("embed_context", new Linear(TransitionFeatures, d, bias: true, g));
        EmbedQueryState = RegisterModule("embed_query_state", new Embedding(NumStates, d, g));
        EmbedQueryAction = RegisterModule("embed_query_action", new Embedding(NumActions, d, g));
        Transformer = RegisterModule("transformer", new Transformer(config, g));
        PredAction = RegisterModule("pred_action", new Linear(d, NumActions, bias: true, g));
        PredReward = RegisterModule("pred_reward", new Linear(d, NumRewards, bias: true, g));
        PredNextState = RegisterModule("pred_next_state", new Linear(d, NumStates, bias: true, g));
        SetGenerator(g.Derive(0xAD));
    }

    /// <summary>Backbone hyperparameters.</summary>
    public TransformerConfig Config { get; }

    /// <summary>Window length n_transit: n_transit − 1 context transitions + the query (reference Darkroom: 80 → 81 tokens).</summary>
    public int NTransit { get; }

    /// <summary>Context transition tokens per sample, n_transit − 1.</summary>
    public int ContextLength => NTransit - 1;

    /// <summary>Tokens per sample through the backbone: the context, the query state and the query action (n_transit + 1).</summary>
    public int SequenceLength => NTransit + 1;

    /// <summary>Transition embedding Linear(10, d).</summary>
    public Linear EmbedContext { get; }

    /// <summary>Query-state embedding (81, d).</summary>
    public Embedding EmbedQueryState { get; }

    /// <summary>Query-action embedding (5, d).</summary>
    public Embedding EmbedQueryAction { get; }

    /// <summary>The reference backbone.</summary>
    public Transformer Transformer { get; }

    /// <summary>Action head Linear(d, 5).</summary>
    public Linear PredAction { get; }

    /// <summary>Reward head Linear(d, 2).</summary>
    public Linear PredReward { get; }

    /// <summary>Next-state head Linear(d, 81).</summary>
    public Linear PredNextState { get; }

    /// <summary>
    /// context (B, C, 10) transition features, query states (B) and query actions (B) →
    /// action logits (B, 1, 5), reward logits (B, 1, 2), next-state logits (B, 1, 81).
    /// </summary>
    public (Tensor Action, Tensor Reward, Tensor NextState) Forward(Tensor context, ReadOnlySpan<int> queryStates, ReadOnlySpan<int> queryActions)
    {
        ArgumentNullException.ThrowIfNull(context);
        int b = context.Shape[0], c = context.Shape[1];
        var ctx = EmbedContext.Forward(context);                       // (B, C, d)
        var qs = EmbedQueryState.Forward(queryStates, [b, 1]);         // (B, 1, d)
        var qa = EmbedQueryAction.Forward(queryActions, [b, 1]);       // (B, 1, d)
        var x = Ops.Concat([ctx, qs, qa], axis: 1);                    // (B, C + 2, d)
        var h = Transformer.Forward(x);                                // (B, C + 2, d)
        var hState = Ops.Slice(h, 1, c, 1);                            // query-state token output (B, 1, d)
        var hAction = Ops.Slice(h, 1, c + 1, 1);                       // query-action token output (B, 1, d)
        return (PredAction.Forward(hState), PredReward.Forward(hAction), PredNextState.Forward(hAction));
    }

    /// <summary>CE(action) + CE(reward) + CE(next state) for a batch.</summary>
    public Tensor Loss(SyntheticBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (a, r, s) = Forward(batch.Context, batch.QueryStates, batch.QueryActions);
        var la = Ops.CrossEntropy(a, batch.TargetActions);
        var lr = Ops.CrossEntropy(r, batch.TargetRewards);
        var ls = Ops.CrossEntropy(s, batch.TargetNextStates);
        return Ops.Add(Ops.Add(la, lr), ls);
    }
}
