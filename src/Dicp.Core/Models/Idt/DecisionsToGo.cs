using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// IDT's Decisions-to-Go module (key <c>decisions_to_go</c>): the low-level policy (and, for DICP-IDT, the world model)
/// of one segment, conditioned on the segment's sampled decision z.
/// </summary>
/// <remarks>
/// Per low-level step four tokens <c>[embed_z(z), embed_state(s), embed_action(a), embed_reward(r)]</c> (z: a sample of
/// the segment's decision distribution, one per step or one shared by the segment, see
/// <see cref="ModelConfig.LatentNoisePerStep"/>); own backbone, whose rotary tables cover 8c positions (training uses 4c;
/// the reference's plans run the segment's real and imagined steps in one sequence of up to 8c − 1 tokens). <c>pred_action</c> reads the state token (logits, or
/// <c>[mean | log-variance]</c> with learned variance); with dynamics <c>pred_next_state</c> and <c>pred_reward</c>
/// read the action token.
/// </remarks>
public sealed class DecisionsToGo : Module
{
    internal DecisionsToGo(IdtModel owner, Generator g)
    {
        var c = owner.Config;
        int d = c.EmbeddingDim;
        Transformer = RegisterModule("transformer", new Transformer(owner.Backbone(8 * c.SegmentLength), g));
        EmbedZ = RegisterModule("embed_z", new Linear(c.LatentDim, d, bias: true, g));
        State = owner.StateInput("embed_state", g, RegisterModule);
        Action = owner.ActionInput("embed_action", g, RegisterModule);
        Reward = owner.RewardInput("embed_reward", g, RegisterModule);
        PredAction = RegisterModule("pred_action", new Linear(d, owner.Layout.ActionOutputs, bias: true, g));
        if (c.Dynamics)
        {
            PredNextState = RegisterModule("pred_next_state", new Linear(d, owner.Layout.NextStateOutputs, bias: true, g));
            PredReward = RegisterModule("pred_reward", new Linear(d, owner.Layout.RewardOutputs, bias: true, g));
        }
    }

    /// <summary>The module's backbone (key <c>transformer</c>).</summary>
    public Transformer Transformer { get; }

    /// <summary>The decision embedding (key <c>embed_z</c>): Linear(dim_z, d).</summary>
    public Linear EmbedZ { get; }

    /// <summary>The policy head (key <c>pred_action</c>).</summary>
    public Linear PredAction { get; }

    /// <summary>The next-observation head (key <c>pred_next_state</c>), or null without dynamics.</summary>
    public Linear? PredNextState { get; }

    /// <summary>The reward head (key <c>pred_reward</c>), or null without dynamics.</summary>
    public Linear? PredReward { get; }

    internal IdtInput State { get; }

    internal IdtInput Action { get; }

    internal IdtInput Reward { get; }

    /// <summary>
    /// Runs G sequences of k low-level steps (see <see cref="Embed"/>) through the backbone, without dropout when
    /// <paramref name="inference"/>.
    /// </summary>
    /// <returns>Hidden states (G, 4(k − 1) + lastTokens, d): step t's state token at 4t + 1, its action token at 4t + 2.</returns>
    internal Tensor Forward(Tensor z, ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards,
        int sequences, int steps, int lastTokens, bool inference) =>
        IdtModel.RunBackbone(Transformer, Embed(z, states, actions, rewards, sequences, steps, lastTokens), inference);

    /// <summary>
    /// The tokens of G sequences of k ≥ 1 low-level steps: z (G, dim_z) shared by a sequence's steps or (G, k, dim_z) one
    /// per step, states (G, k, O),
    /// actions (G, k, A), rewards (G, k). Every step has its four tokens <c>[z, s, a, r]</c> except the last, which keeps
    /// only its first <paramref name="lastTokens"/> (2: [z, s] for the policy; 3: [z, s, a] for a query action; 4: all;
    /// the last step's action and reward are still read, so they must be valid inputs).
    /// </summary>
    /// <returns>Tokens (G, 4(k − 1) + lastTokens, d).</returns>
    internal Tensor Embed(Tensor z, ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards,
        int sequences, int steps, int lastTokens)
    {
        int g = sequences, k = steps, d = EmbedZ.OutFeatures;
        var zt = z.Rank == 3
            ? EmbedZ.Forward(z)                                                             // (G, k, d) one z per step
            : Ops.IndexSelect(Ops.Reshape(EmbedZ.Forward(z), g, 1, d), 1, new int[k]);      // (G, k, d) the same z at every step
        var s = State.Forward(states, g, k);                                                // (G, k, d)
        var a = Action.Forward(actions, g, k);                                              // (G, k, d)
        var r = Reward.Forward(rewards, g, k);                                              // (G, k, d)
        var x = Ops.Reshape(Ops.Concat([Ops.Reshape(zt, g, k, 1, d), Ops.Reshape(s, g, k, 1, d),
            Ops.Reshape(a, g, k, 1, d), Ops.Reshape(r, g, k, 1, d)], 2), g, 4 * k, d);      // (G, 4k, d)
        var t = 4 * (k - 1) + lastTokens;
        return t < 4 * k ? Ops.Slice(x, 1, 0, t) : x;                                       // (G, T, d)
    }

    /// <summary>Embeds one action per row as a lone token: actions (G, A) → (G, 1, d) through <c>embed_action</c>.</summary>
    internal Tensor EmbedActions(ReadOnlySpan<float> actions, int sequences) => Action.Forward(actions, sequences, 1);
}
