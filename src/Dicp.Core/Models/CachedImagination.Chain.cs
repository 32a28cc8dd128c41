using Dicp.Nn;

namespace Dicp.Models;

/// <summary>
/// Chained stems: where a child's window extends its parent's without sliding, the child's stem begins with the parent's
/// (minus the parent's trailing query tokens), so the child runs only its own new tokens over the parent's cached keys
/// and values.
/// </summary>
/// <remarks>
/// <para>Exactness: the child's window is the parent's window followed by the parent→child transition and the child's
/// query, with the same real units dropped (<see cref="CachedImagination.Shape.DroppedReal"/>, hence the same shared
/// prefix) and the same imagined ones (none). Each reused token then sits at the same absolute position over the same
/// earlier tokens in both windows, so under causal attention its keys and values are the ones the child's own
/// recomputation would produce (equal within float rounding, 1e-5). When the window slides between parent and child
/// (the real context plus the depth exceeds it), dropping the first unit shifts every later token, and the child encodes
/// its whole stem as before.</para>
/// <para>Cost: AD runs [transition, query] per node (2 tokens; IDT [a, r, z, s_q], 4) instead of its whole stem
/// (h + 1; IDT 4h + 2), so a path of depth H runs O(H) stem tokens. The parent's reused keys and values are copied
/// (2·layers·d floats per token), not recomputed.</para>
/// </remarks>
internal abstract partial class CachedImagination
{
    /// <summary>
    /// How many of a parent's stem tokens (window <paramref name="parent"/>) begin the stem of a child that extends it by
    /// one imagined transition without sliding: 0 when nothing can be reused (e.g. DPT, whose query comes first).
    /// </summary>
    protected abstract int ChainedTokens(Shape parent);

    /// <summary>The parent's stem tokens a node of <paramref name="shape"/> at depth ≥ 1 reuses (0: its window slid, or the model cannot chain).</summary>
    private int Reusable(Rollout node, Shape shape)
    {
        if (node.Depth == 0) return 0;
        var parent = ShapeOf(node.Environment, node.Depth - 1);
        var extends = parent.DroppedReal == shape.DroppedReal && parent.KeptReal == shape.KeptReal
            && parent.DroppedImagined == shape.DroppedImagined && parent.KeptImagined + 1 == shape.KeptImagined;
        return extends ? ChainedTokens(parent) : 0;
    }

    /// <summary>
    /// Encodes the stems of <paramref name="fresh"/> (same shape, none cached yet) over their prefixes (rows
    /// <paramref name="prefixOf"/> of <paramref name="prefix"/>) and keeps each with its node: chained onto the parent's
    /// cached stem where <see cref="Reusable"/> allows and the parent's stem is cached, the whole stem otherwise.
    /// </summary>
    private void EncodeStems(List<Rollout> fresh, Shape shape, KvSegment prefix, int[] prefixOf)
    {
        var reuse = Reusable(fresh[0], shape); // the same for every node of the shape (same depth and real context)
        var chained = new List<int>();
        var whole = new List<int>();
        for (var g = 0; g < fresh.Count; g++)
            (reuse > 0 && fresh[g].Parent!.Kv is { } kv && kv.Segment.Length >= reuse ? chained : whole).Add(g);
        if (whole.Count > 0)
        {
            var nodes = whole.Select(g => fresh[g]).ToList();
            var tokens = StemTokens(nodes, shape, 0); // (G, S, d)
            var stems = new KvSegment(Layers, nodes.Count, tokens.Shape[1], Dim);
            _backbone.Forward(tokens, new KvContext(prefix, [.. whole.Select(g => prefixOf[g])], Fill: stems));
            StemTokenCount += nodes.Count * tokens.Shape[1];
            for (var r = 0; r < nodes.Count; r++) nodes[r].Kv = new KvRow(stems, r);
        }
        if (chained.Count > 0) Chain([.. chained.Select(g => fresh[g])], shape, reuse, prefix, [.. chained.Select(g => prefixOf[g])]);
    }

    /// <summary>
    /// Runs only the new tokens of <paramref name="nodes"/> (stem tokens <paramref name="reuse"/> … S − 1) over their
    /// prefixes and the first <paramref name="reuse"/> tokens of their parents' stems, then keeps each node's whole stem
    /// (the parent's reused tokens followed by its own) with it.
    /// </summary>
    private void Chain(List<Rollout> nodes, Shape shape, int reuse, KvSegment prefix, int[] prefixOf)
    {
        int g = nodes.Count, d = Dim;
        var trunk = new KvSegment(Layers, g, reuse, d); // (G, reuse) the parents' reused tokens, one row per node
        for (var r = 0; r < g; r++)
        {
            var parent = nodes[r].Parent!.Kv!.Value;
            parent.Segment.CopyTokensTo(parent.Row, reuse, trunk, r, 0);
        }
        var tokens = StemTokens(nodes, shape, reuse); // (G, S', d) the new tokens
        var s = tokens.Shape[1];
        var own = new KvSegment(Layers, g, s, d);
        _backbone.Forward(tokens, new KvContext(prefix, prefixOf, trunk, [.. Enumerable.Range(0, g)], Fill: own));
        StemTokenCount += g * s;
        var stems = new KvSegment(Layers, g, reuse + s, d); // (G, reuse + S') the whole stems
        for (var r = 0; r < g; r++)
        {
            trunk.CopyTokensTo(r, reuse, stems, r, 0);
            own.CopyTokensTo(r, s, stems, r, reuse);
            own.LastHidden.AsSpan(r * d, d).CopyTo(stems.LastHidden.AsSpan(r * d, d));
            nodes[r].Kv = new KvRow(stems, r);
        }
    }
}
