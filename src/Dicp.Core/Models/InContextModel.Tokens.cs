using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

public abstract partial class InContextModel
{
    /// <summary>Writes a transition's features <c>[s, a (one-hot or raw), r, s']</c> into <paramref name="destination"/> (F floats).</summary>
    /// <exception cref="ArgumentException">A discrete action is not an integer in [0, ActionCount).</exception>
    public void EncodeTransition(ReadOnlySpan<float> state, ReadOnlySpan<float> action, float reward, ReadOnlySpan<float> nextState, Span<float> destination) =>
        Layout.EncodeTransition(state, action, reward, nextState, destination);

    /// <summary>The index of a discrete action stored as a float.</summary>
    /// <exception cref="ArgumentException">The value is not an integer in [0, ActionCount).</exception>
    public int ActionIndex(float action) => Layout.ActionIndex(action);

    /// <summary>The grid cell <c>x·side + y</c> of an (x, y) observation.</summary>
    /// <exception cref="ArgumentException">The observation is not a cell of the grid.</exception>
    public int CellIndex(ReadOnlySpan<float> state) => Layout.CellIndex(state);

    /// <summary>Embeds transitions: features (B, k, F) → (B, k, d) through <c>embed_context</c>.</summary>
    internal Tensor EmbedTransitions(float[] features, int batch, int count) =>
        EmbedContext.Forward(new Tensor(features, [batch, count, TransitionFeatures]));

    /// <summary>Embeds one query state per row: states (B, O) → (B, 1, d).</summary>
    internal virtual Tensor EmbedQueryStates(ReadOnlySpan<float> states, int batch)
    {
        var o = ObservationSize;
        if (_queryStateTable is not null)
        {
            var ids = new int[batch];
            for (var b = 0; b < batch; b++) ids[b] = CellIndex(states.Slice(b * o, o));
            return _queryStateTable.Forward(ids, [batch, 1]);
        }
        return _queryStateLinear!.Forward(new Tensor(states[..(batch * o)].ToArray(), [batch, 1, o]));
    }

    /// <summary>Embeds one query action per row: actions (B, A) → (B, 1, d) through <c>embed_query_action</c>.</summary>
    internal Tensor EmbedQueryActions(ReadOnlySpan<float> actions, int batch)
    {
        if (_queryActionTable is not null)
        {
            var ids = new int[batch];
            for (var b = 0; b < batch; b++) ids[b] = ActionIndex(actions[b]);
            return _queryActionTable.Forward(ids, [batch, 1]);
        }
        var a = Config.ActionSize;
        return _queryActionLinear!.Forward(new Tensor(actions[..(batch * a)].ToArray(), [batch, 1, a]));
    }

    /// <summary>
    /// The token sequence (B, T, d) of the model's layout: AD <c>[transitions…, query state, (query action)]</c>,
    /// DPT <c>[query state, transitions…, (query action)]</c>; T = k + 1 (+ 1 with a query action).
    /// </summary>
    /// <param name="batch">B.</param>
    /// <param name="features">(B, k, F) transition features.</param>
    /// <param name="transitions">k ≥ 0.</param>
    /// <param name="queryStates">(B, O).</param>
    /// <param name="queryActions">(B, A) the query actions (read only with <paramref name="withQueryAction"/>).</param>
    /// <param name="withQueryAction">Whether the sequence ends with a query-action token.</param>
    internal Tensor AssembleTokens(int batch, float[] features, int transitions, ReadOnlySpan<float> queryStates, ReadOnlySpan<float> queryActions, bool withQueryAction)
    {
        var parts = new List<Tensor>(3);
        var q = EmbedQueryStates(queryStates, batch);
        if (QueryFirst) parts.Add(q);
        if (transitions > 0) parts.Add(EmbedTransitions(features, batch, transitions));
        if (!QueryFirst) parts.Add(q);
        if (withQueryAction) parts.Add(EmbedQueryActions(queryActions, batch));
        return parts.Count == 1 ? parts[0] : Ops.Concat(parts, 1); // (B, T, d)
    }

    /// <summary>The backbone without dropout whatever the training mode (inference), over <paramref name="cache"/>'s cached keys and values when given.</summary>
    internal Tensor BackboneInference(Tensor x, KvContext? cache = null) => Transformer.Forward(x, cache ?? KvContext.Inference);

    /// <summary>Rows (N, d) of hidden states (N, T, d): row n is <c>hidden[n, positions[n]]</c>.</summary>
    internal static Tensor Rows(Tensor hidden, ReadOnlySpan<int> positions)
    {
        int n = hidden.Shape[0], t = hidden.Shape[1], d = hidden.Shape[2];
        var y = new float[n * d];
        for (var i = 0; i < n; i++) hidden.Data.AsSpan((i * t + positions[i]) * d, d).CopyTo(y.AsSpan(i * d, d));
        return new Tensor(y, [n, d]);
    }

    /// <summary>Writes the policy distribution of one row of <c>pred_action</c> output (<see cref="ModelLayout.WritePolicy"/>).</summary>
    internal void WritePolicy(ReadOnlySpan<float> head, Span<float> destination) => Layout.WritePolicy(head, destination);

    /// <summary>Decodes one row of <c>pred_reward</c> output (<see cref="ModelSupport.DecodeReward"/>).</summary>
    internal float DecodeReward(ReadOnlySpan<float> head) => ModelSupport.DecodeReward(Config, head);

    /// <summary>Decodes one row of <c>pred_next_state</c> output: the argmax cell as (x, y), or the regression.</summary>
    internal void DecodeNextState(ReadOnlySpan<float> head, Span<float> destination) => Layout.DecodeNextState(head, destination);
}
