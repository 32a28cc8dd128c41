using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// Decision-Pretrained Transformer (DPT), and DICP-DPT with <see cref="ModelConfig.Dynamics"/>: predicts the optimal
/// action for a query state from an in-context window at every position; with dynamics, also the reward and next
/// observation of a query action. Discrete actions only (grid worlds).
/// </summary>
/// <remarks>
/// <para>Tokens: <c>[q, t₀ … t_{n−2}, a_q]</c>. The query state comes first, padded to a transition's features
/// <c>[s_q, 0 (actions), 0 (reward), 0 (next state)]</c> and embedded by the same <c>embed_context</c> (the reference
/// registers an <c>embed_query_state</c> Linear it never uses; Dicp keeps it for checkpoint interop);
/// <c>t_i = embed_context([s, a, r, s'])</c>; with dynamics the query-action token <c>a_q = embed_query_action(a)</c> is
/// appended last. Heads are named <c>pred_actions</c>, <c>pred_rewards</c>, <c>pred_next_states</c>
/// (<c>pred_returns</c>).</para>
/// <para>Training sample (n = n_transit steps of a stream): the query state is the state of step n − 1, the context the
/// transitions of steps 0 … n − 2, the label the optimal action at the query state
/// (<see cref="WindowBatch.OptimalActions"/> of step n − 1), predicted at positions 1 … n − 1 (the outputs of the n − 1
/// transition tokens; position i has seen i context transitions) and averaged in the loss, as the reference; with dynamics the query action is the action taken at step n − 1
/// and its reward and next state are the targets, read from the query-action output. At inference the policy is the
/// output of the last transition token (after the whole window).</para>
/// </remarks>
public sealed class DptModel : InContextModel
{
    /// <summary>Creates a freshly initialised model (<c>config.Model</c> should be <c>"dpt"</c>).</summary>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public DptModel(ModelConfig config, int seed) : base(config, seed)
    {
        if (config.Model != "dpt") throw new ArgumentException($"ModelConfig.Model must be 'dpt' for DptModel, got '{config.Model}'.", nameof(config));
    }

    /// <summary>Query states padded to transitions and embedded by <c>embed_context</c>: (B, O) → (B, 1, d).</summary>
    internal override Tensor EmbedQueryStates(ReadOnlySpan<float> states, int batch)
    {
        int o = ObservationSize, f = TransitionFeatures;
        var features = new float[batch * f];
        for (var b = 0; b < batch; b++) states.Slice(b * o, o).CopyTo(features.AsSpan(b * f));
        return EmbedTransitions(features, batch, 1);
    }
}
