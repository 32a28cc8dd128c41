namespace Dicp.Models;

/// <summary>
/// Algorithm Distillation (AD), and DICP-AD with <see cref="ModelConfig.Dynamics"/>: a causal Transformer that imitates
/// the source algorithm's next action from a window of its learning history and, with dynamics, predicts the reward and
/// next observation of a query action.
/// </summary>
/// <remarks>
/// Tokens (T = n_transit, or n_transit + 1 with dynamics): <c>[t₀ … t_{n−2}, s_q, a_q]</c> with
/// <c>t_i = embed_context([s, a, r, s'])</c>, <c>s_q = embed_query_state(s)</c> (Embedding on the cell for grids,
/// Linear otherwise) and <c>a_q = embed_query_action(a)</c>. The action is read from the query-state output; reward,
/// next observation (and return-to-go) from the query-action output. Parameter names: see <see cref="InContextModel"/>.
/// </remarks>
public sealed class AdModel : InContextModel
{
    /// <summary>Creates a freshly initialised model (<c>config.Model</c> should be <c>"ad"</c>).</summary>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public AdModel(ModelConfig config, int seed) : base(config, seed)
    {
        if (config.Model != "ad") throw new ArgumentException($"ModelConfig.Model must be 'ad' for AdModel, got '{config.Model}'.", nameof(config));
    }
}
