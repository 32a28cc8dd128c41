using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// IDT's Reviewing-Decisions module (key <c>reviewing_decisions</c>): summarises one segment of c low-level steps into
/// the distribution of its high-level decision z.
/// </summary>
/// <remarks>
/// Per step <c>token_t = embed_state(s) + embed_action(a) + embed_reward(r) + embed_next_state(s')</c>; the tokens of a
/// segment run through its own backbone (<c>transformer</c>, MaxSeqLen c) and <c>predict_z</c> = Linear(d, 2·dim_z)
/// reads the last token: <c>[mean | log-variance]</c>. Each segment is encoded independently (G segments as a batch).
/// Grid worlds use Embedding tables (81 cells, the actions, the reward classes), continuous tasks Linear maps.
/// </remarks>
public sealed class ReviewingDecisions : Module
{
    internal ReviewingDecisions(IdtModel owner, Generator g)
    {
        var c = owner.Config;
        int d = c.EmbeddingDim;
        Transformer = RegisterModule("transformer", new Transformer(owner.Backbone(c.SegmentLength), g));
        State = owner.StateInput("embed_state", g, RegisterModule);
        Action = owner.ActionInput("embed_action", g, RegisterModule);
        Reward = owner.RewardInput("embed_reward", g, RegisterModule);
        NextState = owner.StateInput("embed_next_state", g, RegisterModule);
        PredictZ = RegisterModule("predict_z", new Linear(d, 2 * c.LatentDim, bias: true, g));
    }

    /// <summary>The module's backbone (key <c>transformer</c>).</summary>
    public Transformer Transformer { get; }

    /// <summary>The z-distribution head (key <c>predict_z</c>): Linear(d, 2·dim_z).</summary>
    public Linear PredictZ { get; }

    internal IdtInput State { get; }

    internal IdtInput Action { get; }

    internal IdtInput Reward { get; }

    internal IdtInput NextState { get; }

    /// <summary>
    /// The z-distributions (G, 2·dim_z) of G segments of k steps: states (G, k, O), actions (G, k, A), rewards (G, k),
    /// next states (G, k, O); <c>inference</c> runs without dropout whatever the training mode.
    /// </summary>
    internal Tensor Forward(ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards,
        ReadOnlySpan<float> nextStates, int segments, int steps, bool inference)
    {
        var x = Ops.Add(Ops.Add(State.Forward(states, segments, steps), Action.Forward(actions, segments, steps)),
            Ops.Add(Reward.Forward(rewards, segments, steps), NextState.Forward(nextStates, segments, steps))); // (G, k, d)
        var h = IdtModel.RunBackbone(Transformer, x, inference);                                             // (G, k, d)
        var last = Ops.Reshape(Ops.Slice(h, 1, steps - 1, 1), segments, h.Shape[2]);                          // (G, d)
        return PredictZ.Forward(last);                                                                         // (G, 2·dim_z)
    }
}
