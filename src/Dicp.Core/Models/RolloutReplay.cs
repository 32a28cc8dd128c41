using Dicp.Environments;

namespace Dicp.Models;

/// <summary>
/// Rollout handles over any session: checks shared by every implementation, and the default <see cref="IInContextSession.Step"/>
/// that replays each node's path as a <see cref="CandidateBatch"/> through <see cref="IInContextSession.Predict"/> (the
/// recompute-everything way, the test oracle of the KV-caching sessions).
/// </summary>
internal static class RolloutReplay
{
    /// <summary>A root of <paramref name="session"/> over environment <paramref name="environment"/> at context version <paramref name="version"/>.</summary>
    public static Rollout Root(IInContextSession session, int environment, ReadOnlySpan<float> observation, long version)
    {
        ArgumentNullException.ThrowIfNull(session);
        if ((uint)environment >= (uint)session.Environments)
            throw new ArgumentOutOfRangeException(nameof(environment), $"Root: environment {environment} is outside [0, {session.Environments}).");
        var o = session.Model.ObservationSize;
        if (observation.Length != o) throw new ArgumentException($"Root: observation holds {observation.Length} floats; (O) needs {o}.", nameof(observation));
        return new Rollout(session, environment, version, observation);
    }

    /// <summary>P, the policy parameters per observation: the action count, or 2·A for a box.</summary>
    public static int PolicySize(IInContextModel model) => model.ActionSpace is DiscreteSpace d ? d.N : 2 * model.ActionSpace.Size;

    /// <summary>
    /// Checks a <see cref="IInContextSession.Step"/> call: the nodes belong to <paramref name="session"/> and are current
    /// (<paramref name="version"/> of their environment), and the buffers hold N = nodes.Length entries.
    /// </summary>
    public static void Check(IInContextSession session, ReadOnlySpan<Rollout> nodes, ReadOnlySpan<float> actions,
        CandidatePredictions predictions, Span<Rollout> children, Func<int, long> version)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        var model = session.Model;
        int n = nodes.Length, o = model.ObservationSize, a = model.ActionSpace.Size, p = PolicySize(model);
        if (n == 0) throw new ArgumentException("Step: no nodes to step.", nameof(nodes));
        if (actions.Length != n * a) throw new ArgumentException($"Step: actions holds {actions.Length} floats; (N {n}, A {a}) needs {n * a}.", nameof(actions));
        if (children.Length < n) throw new ArgumentException($"Step: children holds {children.Length} entries; N = {n} needed.", nameof(children));
        static void Need(float[]? array, int length, string name, string shape)
        {
            if (array is null || array.Length < length)
                throw new ArgumentException($"{name} holds {array?.Length ?? 0} floats; {shape} needs at least {length}.", name);
        }
        Need(predictions.Rewards, n, "CandidatePredictions.Rewards", "(N)");
        Need(predictions.NextStates, n * o, "CandidatePredictions.NextStates", "(N, O)");
        Need(predictions.Policy, n * p, "CandidatePredictions.Policy", "(N, P)");
        if (model.HasReturnToGo && predictions.ReturnsToGo is not null) Need(predictions.ReturnsToGo, n, "CandidatePredictions.ReturnsToGo", "(N)");
        for (var i = 0; i < n; i++)
        {
            var node = nodes[i] ?? throw new ArgumentNullException(nameof(nodes), $"Step: node {i} is null.");
            if (!ReferenceEquals(node.Session, session)) throw new ArgumentException($"Step: node {i} belongs to another session.", nameof(nodes));
            if (node.Version != version(node.Environment))
                throw new InvalidOperationException($"Step: node {i} (environment {node.Environment}, depth {node.Depth}) is stale: the context changed since its root was made.");
        }
    }

    /// <summary>
    /// The default <see cref="IInContextSession.Step"/>: the nodes grouped by (environment, depth) in order of first
    /// appearance, each group one <see cref="IInContextSession.Predict"/> of its nodes' whole paths. Nodes are current when
    /// made at <paramref name="version"/> of their environment (default: <see cref="IInContextSession.StepsSeen"/>).
    /// </summary>
    public static void Step(IInContextSession session, ReadOnlySpan<Rollout> nodes, ReadOnlySpan<float> actions,
        CandidatePredictions predictions, Span<Rollout> children, Func<int, long>? version = null)
    {
        Check(session, nodes, actions, predictions, children, version ?? session.StepsSeen);
        var model = session.Model;
        int n = nodes.Length, o = model.ObservationSize, a = model.ActionSpace.Size, p = PolicySize(model);
        var groups = new List<(int Environment, int Depth, List<int> Members)>();
        for (var i = 0; i < n; i++)
        {
            var (env, depth) = (nodes[i].Environment, nodes[i].Depth);
            var g = groups.FindIndex(x => x.Environment == env && x.Depth == depth);
            if (g < 0) { groups.Add((nodes[i].Environment, nodes[i].Depth, [])); g = groups.Count - 1; }
            groups[g].Members.Add(i);
        }
        foreach (var (env, h, members) in groups)
        {
            var m = members.Count;
            float[] states = new float[m * h * o], acts = new float[m * h * a], rewards = new float[m * h], next = new float[m * h * o];
            float[] qs = new float[m * o], qa = new float[m * a];
            var path = new Rollout[h];
            for (var j = 0; j < m; j++)
            {
                var node = nodes[members[j]];
                node.PathTo(path);
                for (var t = 0; t < h; t++) // (M, h, ·) the path's transitions, root first
                {
                    path[t].State.CopyTo(states.AsSpan((j * h + t) * o, o));
                    path[t].Action.CopyTo(acts.AsSpan((j * h + t) * a, a));
                    rewards[j * h + t] = path[t].Reward;
                    path[t].NextState.CopyTo(next.AsSpan((j * h + t) * o, o));
                }
                node.Observation.CopyTo(qs.AsSpan(j * o, o));
                actions.Slice(members[j] * a, a).CopyTo(qa.AsSpan(j * a, a));
            }
            var part = new CandidatePredictions(new float[m], new float[m * o], predictions.ReturnsToGo is null ? null : new float[m], new float[m * p]);
            session.Predict(env, new CandidateBatch(m, h, states, acts, rewards, next, qs, qa), part);
            for (var j = 0; j < m; j++)
            {
                var i = members[j];
                predictions.Rewards[i] = part.Rewards[j];
                part.NextStates.AsSpan(j * o, o).CopyTo(predictions.NextStates.AsSpan(i * o, o));
                part.Policy.AsSpan(j * p, p).CopyTo(predictions.Policy.AsSpan(i * p, p));
                if (part.ReturnsToGo is not null) predictions.ReturnsToGo![i] = part.ReturnsToGo[j];
            }
        }
        Children(nodes, actions, predictions, children, o, a);
    }

    /// <summary>Child i of node i: the transition (node's observation, action i, predicted reward i, predicted next observation i).</summary>
    public static void Children(ReadOnlySpan<Rollout> nodes, ReadOnlySpan<float> actions, CandidatePredictions predictions,
        Span<Rollout> children, int o, int a)
    {
        for (var i = 0; i < nodes.Length; i++)
        {
            var next = predictions.NextStates.AsSpan(i * o, o);
            children[i] = new Rollout(nodes[i], nodes[i].Observation, actions.Slice(i * a, a), predictions.Rewards[i], next, next);
        }
    }
}
