using Dicp.Autograd;
using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// The KV-cached imagination shared by the AD/DPT and IDT sessions: rollout steps over an environment's real prefix
/// (encoded once per window shape and cached until the context changes) and each node's own tokens (encoded once and
/// kept with the node), with one token per stepped action.
/// </summary>
/// <remarks>
/// <para>A node at depth h of environment e sees a window <see cref="Shape"/>: the real context minus its first
/// <c>DroppedReal</c> units, then the path's imagined transitions minus their first <c>DroppedImagined</c>. Its tokens
/// are [prefix | stem | action]: the prefix (the kept real units: <see cref="PrefixLength"/> tokens) is shared by every
/// node of e with that shape; the stem (the kept imagined transitions and the query observation, model-specific:
/// <see cref="StemTokens"/>) is the node's own; the action token is one per stepped action. Every token sits at its
/// exact position of the full sequence, so predictions equal the recomputed ones within float rounding (1e-5).</para>
/// <para>Cost in backbone tokens, window W full (the planning case, where every depth slides the window by one):
/// a node at depth h runs its h + 1 stem tokens (AD; IDT 4h + 2) once and one token per action; each depth's prefix
/// (W − h transitions) is built once per environment and shared by all its nodes at that depth: after a real step
/// (<see cref="Advance"/>) from the previous step's prefix that held the same transitions, running only the new
/// transition's token, so a planning step encodes only its deepest prefix whole. A path of depth H
/// thus runs Σ(h + 1) = H(H + 1)/2 stem tokens — O(H²) — because dropping the window's first transition changes the
/// hidden state of every later token, so an ancestor's keys and values are not those the child needs.</para>
/// <para>Where the window does not slide between a node and its child (the real context shorter than W by at least the
/// depth, <see cref="SessionOptions.ImaginationReserve"/>, or IDT's whole-segment window) the child's stem begins with its
/// parent's, and the child runs only its new tokens over the parent's cached keys and values (chained stems, the
/// <c>Chain</c> part of this class): AD 2 tokens per node, IDT 4, so a path of depth H runs O(H) stem tokens.</para>
/// <para>Batches: nodes of every environment and depth go through one backbone call per (shape, stage), the prefix
/// rows chosen per candidate (<c>prefixOf</c>) and the stem rows per candidate (<c>groupOf</c>).</para>
/// </remarks>
internal abstract partial class CachedImagination(IInContextSession session, Transformer backbone, int environments)
{
    private readonly Transformer _backbone = backbone;
    private readonly Dictionary<int, KvRow>[] _prefixes = [.. Enumerable.Range(0, environments).Select(_ => new Dictionary<int, KvRow>())];
    private readonly Dictionary<int, KvRow>[] _previous = [.. Enumerable.Range(0, environments).Select(_ => new Dictionary<int, KvRow>())];
    private readonly int[] _shift = new int[environments]; // a prefix dropping k real units now covers the previous version's k + shift, plus one unit
    private readonly long[] _versions = new long[environments];

    /// <summary>The window a node sees: real units dropped and kept, imagined transitions dropped and kept.</summary>
    public readonly record struct Shape(int DroppedReal, int KeptReal, int DroppedImagined, int KeptImagined);

    /// <summary>How many prefix encodings ran (a batched pass over several environments counts once).</summary>
    public long PrefixEncodings { get; private set; }

    /// <summary>How many prefixes were built from the previous context's prefix plus the new real unit (batched passes count once).</summary>
    public long PrefixExtensions { get; private set; }

    /// <summary>Stem tokens encoded so far (a diagnostic of the imagination's cost, summed over nodes).</summary>
    public long StemTokenCount { get; private set; }

    private int Layers => _backbone.Config.NLayer;
    private int Dim => _backbone.Config.DModel;

    /// <summary>Environment <paramref name="environment"/>'s context version: rollouts made under another are stale.</summary>
    public long Version(int environment) => _versions[environment];

    /// <summary>Environment <paramref name="environment"/>'s context changed: its cached prefixes go, its rollouts become stale.</summary>
    public void Invalidate(int environment)
    {
        _versions[environment]++;
        _prefixes[environment].Clear();
        _previous[environment].Clear();
    }

    /// <summary>
    /// Environment <paramref name="environment"/>'s real context gained one unit at its end and lost its first
    /// <paramref name="dropped"/> units: its rollouts become stale, and its prefixes are kept one version back, so that
    /// <see cref="Prefixes"/> can build a new prefix from the old one that covers the same units minus the new one.
    /// </summary>
    /// <remarks>
    /// Exactness: a prefix dropping k units now holds the units the previous prefix dropping k + dropped held, at the same
    /// positions from 0, followed by the new unit. Under causal attention the old tokens' keys and values do not depend on
    /// the new one, so only the new unit's tokens run, over the old prefix (equal to a whole encoding within float
    /// rounding, 1e-5: the new token's attention sums run in another order). This turns the planner's per-step prefix
    /// encodings (one per depth, each W − h units, because the window slides) into one whole encoding (the deepest) and
    /// one-unit extensions.
    /// </remarks>
    public void Advance(int environment, int dropped)
    {
        _versions[environment]++;
        (_previous[environment], _prefixes[environment]) = (_prefixes[environment], _previous[environment]);
        _prefixes[environment].Clear();
        _shift[environment] = dropped;
    }

    /// <summary><see cref="Advance"/> for every environment.</summary>
    public void AdvanceAll(int dropped)
    {
        for (var e = 0; e < _versions.Length; e++) Advance(e, dropped);
    }

    /// <summary><see cref="Invalidate"/> for every environment.</summary>
    public void InvalidateAll()
    {
        for (var e = 0; e < _versions.Length; e++) Invalidate(e);
    }

    /// <summary>The window a node of <paramref name="environment"/> at depth <paramref name="depth"/> sees.</summary>
    /// <exception cref="ArgumentException">The model cannot imagine that deep.</exception>
    protected abstract Shape ShapeOf(int environment, int depth);

    /// <summary>The prefix's tokens for a shape (0: nothing is shared, the stem holds everything).</summary>
    protected abstract int PrefixLength(Shape shape);

    /// <summary>Whether environment <paramref name="environment"/> has a prefix of <paramref name="shape"/> now (it is then encoded along with a miss of another).</summary>
    protected abstract bool HasPrefix(int environment, Shape shape);

    /// <summary>(E', P, d) the embedded prefixes of <paramref name="environments"/>.</summary>
    protected abstract Tensor PrefixTokens(IReadOnlyList<int> environments, Shape shape);

    /// <summary>Tokens per real unit of a prefix, where <see cref="LastUnitTokens"/> can extend one (0: prefixes are always encoded whole).</summary>
    protected virtual int UnitTokens => 0;

    /// <summary>(E', <see cref="UnitTokens"/>, d) the embedded last real unit of the prefixes of <paramref name="environments"/> for <paramref name="shape"/>.</summary>
    protected virtual Tensor LastUnitTokens(IReadOnlyList<int> environments, Shape shape) => throw new NotSupportedException();

    /// <summary>
    /// (G, S − <paramref name="from"/>, d) the embedded stems of <paramref name="nodes"/> (same shape): their kept imagined
    /// transitions, then the query tokens, from stem token <paramref name="from"/> on (0: the whole stem; more only as
    /// <see cref="ChainedTokens"/> allows).
    /// </summary>
    protected abstract Tensor StemTokens(IReadOnlyList<Rollout> nodes, Shape shape, int from);

    /// <summary>(M, 1, d) the embedded actions (M, A).</summary>
    protected abstract Tensor ActionTokens(float[] actions, int count);

    /// <summary>Decodes the heads: the policy from <paramref name="policyRows"/> (the stems' last tokens), the dynamics from <paramref name="dynamicsRows"/> (the action tokens), (N, d) each.</summary>
    protected abstract void WriteHeads(int n, float[] policyRows, float[] dynamicsRows, CandidatePredictions predictions);

    /// <summary>
    /// The prefixes of <paramref name="envs"/> for <paramref name="shape"/> as one segment and the row of each
    /// environment in it. Missing ones are encoded in one batched pass, together with every other environment that has
    /// the same prefix shape and lacks it (planners step every environment at the same depths).
    /// </summary>
    public (KvSegment Segment, int[] RowOf) Prefixes(IReadOnlyList<int> envs, Shape shape)
    {
        var length = PrefixLength(shape);
        if (length == 0) return (new KvSegment(Layers, 1, 0, Dim), new int[envs.Count]);
        var missing = envs.Where(e => !_prefixes[e].ContainsKey(shape.DroppedReal)).Distinct().ToList();
        if (missing.Count > 0)
        {
            for (var e = 0; e < _prefixes.Length; e++)
                if (!missing.Contains(e) && !_prefixes[e].ContainsKey(shape.DroppedReal) && HasPrefix(e, shape)) missing.Add(e);
            int u = UnitTokens;
            var extend = u == 0 || length <= u ? [] : missing.Where(e => Older(e, shape) is { } old && old.Segment.Length == length - u).ToList();
            var whole = missing.Except(extend).ToList();
            if (whole.Count > 0)
            {
                var batch = new KvSegment(Layers, whole.Count, length, Dim);
                _backbone.Forward(PrefixTokens(whole, shape), new KvContext(Fill: batch)); // (E', P, d)
                PrefixEncodings++;
                for (var r = 0; r < whole.Count; r++) _prefixes[whole[r]][shape.DroppedReal] = new KvRow(batch, r);
            }
            if (extend.Count > 0) Extend(extend, shape, length);
        }
        return Gather([.. envs.Select(e => _prefixes[e][shape.DroppedReal])]);
    }

    /// <summary>The previous context's prefix of environment <paramref name="environment"/> that covers <paramref name="shape"/>'s units but the last, if cached.</summary>
    private KvRow? Older(int environment, Shape shape) =>
        _previous[environment].TryGetValue(shape.DroppedReal + _shift[environment], out var row) ? row : null;

    /// <summary>
    /// The prefixes of <paramref name="envs"/> for <paramref name="shape"/> (<paramref name="length"/> tokens) as their
    /// previous ones (<see cref="Older"/>, length − <see cref="UnitTokens"/> tokens) followed by the last real unit's
    /// tokens, which alone run through the backbone, over the previous prefix (see <see cref="Advance"/>).
    /// </summary>
    private void Extend(List<int> envs, Shape shape, int length)
    {
        int g = envs.Count, u = UnitTokens, d = Dim;
        var (old, rowOf) = Gather([.. envs.Select(e => Older(e, shape)!.Value)]);
        var last = new KvSegment(Layers, g, u, d);
        _backbone.Forward(LastUnitTokens(envs, shape), new KvContext(old, rowOf, Fill: last)); // (E', U, d) at positions P − U …
        PrefixExtensions++;
        var batch = new KvSegment(Layers, g, length, d);
        for (var r = 0; r < g; r++)
        {
            old.CopyTokensTo(rowOf[r], length - u, batch, r, 0);
            last.CopyTokensTo(r, u, batch, r, length - u);
            last.LastHidden.AsSpan(r * d, d).CopyTo(batch.LastHidden.AsSpan(r * d, d));
            _prefixes[envs[r]][shape.DroppedReal] = new KvRow(batch, r);
        }
    }

    /// <summary>
    /// <see cref="IInContextSession.Step"/>: distinct nodes grouped by shape; per group the missing prefixes, the stems
    /// of nodes stepped for the first time (over their environment's prefix), then one action token per candidate.
    /// </summary>
    public void Step(ReadOnlySpan<Rollout> nodes, ReadOnlySpan<float> actions, CandidatePredictions predictions, Span<Rollout> children)
    {
        RolloutReplay.Check(session, nodes, actions, predictions, children, Version);
        int n = nodes.Length, a = session.Model.ActionSpace.Size, o = session.Model.ObservationSize, d = Dim;
        // Distinct nodes in order of first appearance, grouped by the shape of their window.
        var index = new Dictionary<Rollout, int>(ReferenceEqualityComparer.Instance);
        var distinct = new List<Rollout>();
        var nodeOf = new int[n];
        for (var i = 0; i < n; i++)
        {
            if (!index.TryGetValue(nodes[i], out var k)) { index[nodes[i]] = k = distinct.Count; distinct.Add(nodes[i]); }
            nodeOf[i] = k;
        }
        var groups = new Dictionary<Shape, List<int>>();
        var groupOfNode = new List<int>[distinct.Count];
        foreach (var k in Enumerable.Range(0, distinct.Count))
        {
            var shape = ShapeOf(distinct[k].Environment, distinct[k].Depth);
            if (!groups.TryGetValue(shape, out var members)) groups[shape] = members = [];
            members.Add(k);
            groupOfNode[k] = members;
        }

        float[] policyRows = new float[n * d], dynamicsRows = new float[n * d];
        var memberAt = new int[distinct.Count]; // node k's position in its group
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            foreach (var (shape, members) in groups)
            {
                for (var j = 0; j < members.Count; j++) memberAt[members[j]] = j;
                var envs = members.Select(k => distinct[k].Environment).Distinct().ToList();
                var (prefix, rowOfEnv) = Prefixes(envs, shape);
                int PrefixRow(Rollout node) => rowOfEnv[envs.IndexOf(node.Environment)];

                // The stems of nodes stepped for the first time, over their environment's prefix: chained onto their
                // parents' cached stems where the window does not slide between parent and child, else whole.
                var fresh = members.Select(k => distinct[k]).Where(node => node.Kv is null).ToList();
                if (fresh.Count > 0) EncodeStems(fresh, shape, prefix, [.. fresh.Select(PrefixRow)]);

                // One action token per candidate, over its prefix and its node's stem.
                var (middle, rowOfMember) = Gather([.. members.Select(k => distinct[k].Kv!.Value)]);
                var candidates = Enumerable.Range(0, n).Where(i => ReferenceEquals(groupOfNode[nodeOf[i]], members)).ToArray();
                var m = candidates.Length;
                var acts = new float[m * a];
                int[] groupOf = new int[m], prefixOf = new int[m];
                for (var j = 0; j < m; j++)
                {
                    var i = candidates[j];
                    actions.Slice(i * a, a).CopyTo(acts.AsSpan(j * a, a));
                    groupOf[j] = rowOfMember[memberAt[nodeOf[i]]];
                    prefixOf[j] = PrefixRow(nodes[i]);
                    middle.LastHidden.AsSpan(groupOf[j] * d, d).CopyTo(policyRows.AsSpan(i * d, d)); // the query observation's token
                }
                var hidden = _backbone.Forward(ActionTokens(acts, m), new KvContext(prefix, prefixOf, middle, groupOf)); // (M, 1, d)
                for (var j = 0; j < m; j++) hidden.Data.AsSpan(j * d, d).CopyTo(dynamicsRows.AsSpan(candidates[j] * d, d));
            }
            WriteHeads(n, policyRows, dynamicsRows, predictions);
        }
        RolloutReplay.Children(nodes, actions, predictions, children, o, a);
    }

    /// <summary>
    /// <see cref="IInContextSession.Predict"/> over rollouts: the candidates' paths become one tree (equal transitions
    /// share a node, compared float for float), and their leaves are stepped with the query actions. The inner nodes of
    /// that tree are never stepped, so their stems are not cached and the leaves encode their whole stems (no chaining);
    /// the planners step nodes depth by depth (<see cref="Step"/>), where children chain.
    /// </summary>
    public void Predict(int environment, CandidateBatch b, CandidatePredictions predictions)
    {
        int n = b.Count, h = b.Depth, o = session.Model.ObservationSize, a = session.Model.ActionSpace.Size;
        var roots = new List<TreeNode>();
        var leaves = new Rollout[n];
        for (var c = 0; c < n; c++)
        {
            var rootObservation = h == 0 ? b.QueryStates.AsSpan(c * o, o) : b.ImaginedStates.AsSpan(c * h * o, o);
            TreeNode? node = null;
            foreach (var r in roots) if (r.Node.Observation.SequenceEqual(rootObservation)) { node = r; break; }
            if (node is null) roots.Add(node = new TreeNode(new Rollout(session, environment, Version(environment), rootObservation)));
            for (var t = 0; t < h; t++)
            {
                var i = c * h + t;
                ReadOnlySpan<float> s = b.ImaginedStates.AsSpan(i * o, o), act = b.ImaginedActions.AsSpan(i * a, a), next = b.ImaginedNextStates.AsSpan(i * o, o);
                var observation = t == h - 1 ? b.QueryStates.AsSpan(c * o, o) : b.ImaginedStates.AsSpan((i + 1) * o, o);
                var reward = b.ImaginedRewards[i];
                TreeNode? child = null;
                foreach (var x in node.Children)
                    if (x.Node.Reward.Equals(reward) && x.Node.State.SequenceEqual(s) && x.Node.Action.SequenceEqual(act)
                        && x.Node.NextState.SequenceEqual(next) && x.Node.Observation.SequenceEqual(observation)) { child = x; break; }
                if (child is null) node.Children.Add(child = new TreeNode(new Rollout(node.Node, s, act, reward, next, observation)));
                node = child;
            }
            leaves[c] = node.Node;
        }
        Step(leaves, b.QueryActions.AsSpan(0, n * a), predictions, new Rollout[n]);
    }

    /// <summary>Rows of possibly several segments as one segment: the common segment itself, else the rows copied in order.</summary>
    private (KvSegment Segment, int[] RowOf) Gather(KvRow[] rows)
    {
        var first = rows[0].Segment;
        if (rows.All(r => ReferenceEquals(r.Segment, first))) return (first, [.. rows.Select(r => r.Row)]);
        var all = new KvSegment(Layers, rows.Length, first.Length, Dim);
        for (var i = 0; i < rows.Length; i++) rows[i].Segment.CopyRowTo(rows[i].Row, all, i);
        return (all, [.. Enumerable.Range(0, rows.Length)]);
    }

    private sealed class TreeNode(Rollout node)
    {
        public Rollout Node { get; } = node;
        public List<TreeNode> Children { get; } = [];
    }
}
