using Dicp.Nn;
namespace Dicp.Models;

/// <summary>
/// A node of an imagination tree: a root per environment over its real context (<see cref="IInContextSession.Root"/>),
/// and below it the imagined transitions the world model predicted (<see cref="IInContextSession.Step"/>). A node's
/// context is the real window followed by the transitions on the path from its root; it is queried at its
/// <see cref="Observation"/>.
/// </summary>
/// <remarks>
/// A node is valid until the session's next <see cref="IInContextSession.Append"/> or <see cref="IInContextSession.Reset"/>
/// (for IDT also until a new segment draws its decisions); stepping a stale node throws. A KV-caching session keeps the
/// keys and values of the node's own tokens with the node (its imagined transitions and its query observation, encoded
/// once over the environment's shared real prefix), so every action stepped from the node runs one token. Nodes are not
/// thread-safe.
/// </remarks>
public sealed class Rollout
{
    private readonly float[] _observation, _state, _action, _next;

    /// <summary>A root over environment <paramref name="environment"/>'s real context, queried at <paramref name="observation"/>.</summary>
    internal Rollout(IInContextSession session, int environment, long version, ReadOnlySpan<float> observation)
    {
        Session = session;
        Environment = environment;
        Version = version;
        _observation = observation.ToArray();
        _state = _action = _next = [];
    }

    /// <summary>A child of <paramref name="parent"/> by the transition (state, action, reward, next), queried at <paramref name="observation"/>.</summary>
    internal Rollout(Rollout parent, ReadOnlySpan<float> state, ReadOnlySpan<float> action, float reward, ReadOnlySpan<float> next,
        ReadOnlySpan<float> observation)
    {
        Session = parent.Session;
        Environment = parent.Environment;
        Version = parent.Version;
        Parent = parent;
        Depth = parent.Depth + 1;
        _state = state.ToArray();
        _action = action.ToArray();
        Reward = reward;
        _next = next.ToArray();
        _observation = observation.SequenceEqual(next) ? _next : observation.ToArray();
        Return = parent.Return + reward;
    }

    /// <summary>The session whose context the node extends.</summary>
    public IInContextSession Session { get; }

    /// <summary>The environment whose real context is the root.</summary>
    public int Environment { get; }

    /// <summary>The node one transition up, or null at a root.</summary>
    public Rollout? Parent { get; }

    /// <summary>The imagined transitions between the root and this node (0 at a root).</summary>
    public int Depth { get; }

    /// <summary>(O) the observation the node is queried at: the real one at a root, the predicted next observation below.</summary>
    public ReadOnlySpan<float> Observation => _observation;

    /// <summary>(O) the state of the imagined transition that led here (empty at a root).</summary>
    public ReadOnlySpan<float> State => _state;

    /// <summary>(A) the action of the transition that led here (empty at a root).</summary>
    public ReadOnlySpan<float> Action => _action;

    /// <summary>The predicted reward of the transition that led here (0 at a root).</summary>
    public float Reward { get; }

    /// <summary>(O) the predicted next observation of the transition that led here (empty at a root).</summary>
    public ReadOnlySpan<float> NextState => _next;

    /// <summary>Σ predicted rewards from the root to this node, summed root first.</summary>
    public float Return { get; }

    /// <summary>The session's context version the node was made for (stale once the session moved on).</summary>
    internal long Version { get; }

    /// <summary>The session's cached keys and values of this node's own tokens (null until first stepped by a caching session).</summary>
    internal KvRow? Kv { get; set; }

    /// <summary>
    /// Steps this node with N actions: the world model's predictions for each, and a child per action.
    /// </summary>
    /// <param name="actions">(N, A) the actions.</param>
    /// <param name="predictions">Receives the N predictions (reward, next observation, return-to-go, and the policy at this node).</param>
    /// <param name="children">Receives the N children (their observation: the predicted next observation).</param>
    public void Step(ReadOnlySpan<float> actions, CandidatePredictions predictions, Span<Rollout> children)
    {
        var a = Session.Model.ActionSpace.Size;
        if (a == 0 || actions.Length % a != 0)
            throw new ArgumentException($"Rollout.Step: actions holds {actions.Length} floats, not a whole number of actions of size {a}.", nameof(actions));
        var nodes = new Rollout[actions.Length / a];
        Array.Fill(nodes, this);
        Session.Step(nodes, actions, predictions, children);
    }

    /// <summary>The path from the root: this node's ancestors' transitions, root first (<paramref name="path"/>[0] at depth 1).</summary>
    /// <param name="path">Receives the <see cref="Depth"/> nodes below the root on the way to this one (this one last).</param>
    public void PathTo(Span<Rollout> path)
    {
        if (path.Length < Depth) throw new ArgumentException($"Rollout.PathTo: path holds {path.Length} entries, depth {Depth} needs that many.", nameof(path));
        var node = this;
        for (var t = Depth - 1; t >= 0; t--) { path[t] = node; node = node.Parent!; }
    }

    /// <summary>The node <paramref name="depth"/> transitions below the root on the way to this one (this one at its own depth).</summary>
    public Rollout Ancestor(int depth)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(depth, Depth);
        var node = this;
        while (node.Depth > depth) node = node.Parent!;
        return node;
    }
}

/// <summary>Row <see cref="Row"/> of a batch of cached keys and values.</summary>
internal readonly record struct KvRow(KvSegment Segment, int Row);
