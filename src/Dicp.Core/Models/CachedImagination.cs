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
/// (W − h transitions) is encoded once per environment and shared by all its nodes at that depth. A path of depth H
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
    private readonly long[] _versions = new long[environments];

    /// <summary>The window a node sees: real units dropped and kept, imagined transitions dropped and kept.</summary>
    public readonly record struct Shape(int DroppedReal, int KeptReal, int DroppedImagined, int KeptImagined);

    /// <summary>How many prefix encodings ran (a batched pass over several environments counts once).</summary>
    public long PrefixEncodings { get; private set; }

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
            var batch = new KvSegment(Layers, missing.Count, length, Dim);
            _backbone.Forward(PrefixTokens(missing, shape), new KvContext(Fill: batch)); // (E', P, d)
            PrefixEncodings++;
            for (var r = 0; r < missing.Count; r++) _prefixes[missing[r]][shape.DroppedReal] = new KvRow(batch, r);
        }
        return Gather([.. envs.Select(e => _prefixes[e][shape.DroppedReal])]);
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
