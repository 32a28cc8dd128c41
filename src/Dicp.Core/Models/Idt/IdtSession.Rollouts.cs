using Dicp.Tensors;

namespace Dicp.Models;

public sealed partial class IdtSession
{
    /// <inheritdoc/>
    public Rollout Root(int environment, ReadOnlySpan<float> observation) =>
        RolloutReplay.Root(this, environment, observation, _imagination.Version(environment));

    /// <inheritdoc/>
    /// <remarks>Every node's segment must have drawn its decisions (<see cref="Policy"/>); without sliding imagination a
    /// node steps at most c imagined transitions deep.</remarks>
    public void Step(ReadOnlySpan<Rollout> nodes, ReadOnlySpan<float> actions, CandidatePredictions predictions, Span<Rollout> children)
    {
        if (!_model.HasDynamics) throw new InvalidOperationException($"{_model.Name}: Step needs the DICP dynamics heads (ModelConfig.Dynamics = true).");
        foreach (var node in nodes)
            if (node is not null && !Get(node.Environment).HasZ)
                throw new InvalidOperationException($"{_model.Name}: call Policy before Step in a new segment (it draws the segment's decision z).");
        if (Options.SharedPrefix) _imagination.Step(nodes, actions, predictions, children);
        else RolloutReplay.Step(this, nodes, actions, predictions, children, _imagination.Version);
    }

    /// <summary>
    /// Decisions-to-Go's tokens for the KV-cached imagination. Of a node's kept steps <c>(real ++ imagined)[skip .. skip + kept)</c>
    /// the real ones form the environment's prefix (<c>[z, s, a, r]</c> each); the imagined ones then <c>[z, s_q]</c> form
    /// the node's stem; each stepped action is one <c>a_q</c> token.
    /// </summary>
    private sealed class Imagination(IdtSession session) : CachedImagination(session, session._model.ToGo.Transformer, session.Environments)
    {
        private readonly IdtModel _model = session._model;

        /// <summary>j real steps in the segment, depth h: as the reference kept = j + h, skip = 0 (h ≤ c); sliding: the last c − 1.</summary>
        protected override Shape ShapeOf(int environment, int depth)
        {
            var (kept, skip) = session.Window(session._envs[environment].Steps, depth);
            var j = session._envs[environment].Steps;
            var droppedReal = Math.Min(skip, j);
            int keptReal = j - droppedReal, droppedImagined = skip - droppedReal;
            return new Shape(droppedReal, keptReal, droppedImagined, kept - keptReal);
        }

        protected override int PrefixLength(Shape shape) => 4 * shape.KeptReal;

        protected override bool HasPrefix(int environment, Shape shape) =>
            session._envs[environment].HasZ && session._envs[environment].Steps == shape.DroppedReal + shape.KeptReal;

        protected override Tensor PrefixTokens(IReadOnlyList<int> environments, Shape shape)
        {
            int o = _model.ObservationSize, a = _model.ActionSize, dz = _model.Config.LatentDim, g = environments.Count;
            int dropped = shape.DroppedReal, kept = shape.KeptReal;
            float[] z = new float[g * kept * dz], st = new float[g * kept * o], ac = new float[g * kept * a], rw = new float[g * kept];
            for (var r = 0; r < g; r++)
            {
                var m = session._envs[environments[r]];
                m.Z.AsSpan(dropped * dz, kept * dz).CopyTo(z.AsSpan(r * kept * dz)); // real step u reads z_u
                m.States.AsSpan(dropped * o, kept * o).CopyTo(st.AsSpan(r * kept * o));
                m.Actions.AsSpan(dropped * a, kept * a).CopyTo(ac.AsSpan(r * kept * a));
                m.Rewards.AsSpan(dropped, kept).CopyTo(rw.AsSpan(r * kept));
            }
            return _model.ToGo.Embed(new Tensor(z, [g, kept, dz]), st, ac, rw, g, kept, lastTokens: 4); // (E', 4·kept, d)
        }

        /// <summary>
        /// <c>[imagined…, z, s_q]</c>: kept' + 1 steps whose last keeps only <c>[z, s]</c> (its action and reward stay 0,
        /// valid inputs that reach no token); imagined step i sits at j + i and reads its z row (<c>DecisionRow</c>).
        /// </summary>
        /// <remarks>From token <paramref name="from"/> on: the steps from <c>from / 4</c> on are embedded and the first
        /// <c>from mod 4</c> of their tokens dropped.</remarks>
        protected override Tensor StemTokens(IReadOnlyList<Rollout> nodes, Shape shape, int from)
        {
            int g = nodes.Count, o = _model.ObservationSize, a = _model.ActionSize, dz = _model.Config.LatentDim;
            int j = shape.DroppedReal + shape.KeptReal, keptImagined = shape.KeptImagined;
            if (from < 0 || from > 4 * keptImagined + 1) throw new ArgumentOutOfRangeException(nameof(from));
            int first = from / 4, steps = keptImagined + 1 - first; // the stem's steps from `first` on, the query's included
            float[] z = new float[g * steps * dz], st = new float[g * steps * o], ac = new float[g * steps * a], rw = new float[g * steps];
            var path = new Rollout[shape.DroppedImagined + keptImagined];
            for (var r = 0; r < g; r++)
            {
                var node = nodes[r];
                var env = session._envs[node.Environment];
                node.PathTo(path);
                for (var t = 0; t < steps; t++)
                    env.Z.AsSpan(session.DecisionRow(j + shape.DroppedImagined + first + t, j) * dz, dz).CopyTo(z.AsSpan((r * steps + t) * dz, dz));
                for (var t = 0; t < keptImagined - first; t++)
                {
                    var step = path[shape.DroppedImagined + first + t];
                    step.State.CopyTo(st.AsSpan((r * steps + t) * o));
                    step.Action.CopyTo(ac.AsSpan((r * steps + t) * a));
                    rw[r * steps + t] = step.Reward;
                }
                node.Observation.CopyTo(st.AsSpan((r * steps + steps - 1) * o));
            }
            var x = _model.ToGo.Embed(new Tensor(z, [g, steps, dz]), st, ac, rw, g, steps, lastTokens: 2); // (G, 4·steps − 2, d)
            var skip = from - 4 * first;
            return skip == 0 ? x : Ops.Slice(x, 1, skip, x.Shape[1] - skip);                               // (G, 4·kept' + 2 − from, d)
        }

        /// <summary>
        /// The parent's whole stem: its closing <c>[z, s_q]</c> are the child's step <c>[z, s]</c> (the child's state is the
        /// parent's observation, and step j + h − 1 reads the same z row); with sliding imagination only while nothing slid.
        /// </summary>
        protected override int ChainedTokens(Shape parent) => 4 * parent.KeptImagined + 2;

        protected override Tensor ActionTokens(float[] actions, int count) => _model.ToGo.EmbedActions(actions, count); // (M, 1, d)

        protected override void WriteHeads(int n, float[] policyRows, float[] dynamicsRows, CandidatePredictions predictions) =>
            session.WriteHeads(n, policyRows, dynamicsRows, predictions);
    }
}
