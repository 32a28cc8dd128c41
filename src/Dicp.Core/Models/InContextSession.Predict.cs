using Dicp.Autograd;
using Dicp.Tensors;

namespace Dicp.Models;

public sealed partial class InContextSession
{
    /// <inheritdoc/>
    /// <remarks>
    /// With W = window capacity, L = real transitions, h = depth: the candidate's transitions are the real window minus
    /// its first <c>max(0, L + h − W)</c>, then its imagined ones (minus their first ones if h exceeds W). With
    /// <see cref="SessionOptions.SharedPrefix"/> the candidates become rollout nodes (equal paths share one) stepped
    /// through the KV cache (<see cref="Step"/>); otherwise every candidate runs its whole sequence (the reference's way,
    /// the test oracle).
    /// </remarks>
    public void Predict(int environment, CandidateBatch candidates, CandidatePredictions predictions)
    {
        if (!_model.HasDynamics) throw new InvalidOperationException($"{_model.Name}: Predict needs the DICP dynamics heads (ModelConfig.Dynamics = true).");
        CheckEnvironment(environment);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(predictions);
        CheckCandidates(candidates, predictions);
        if (Options.SharedPrefix) { _imagination.Predict(environment, candidates, predictions); return; }

        int n = candidates.Count, h = candidates.Depth, o = _model.ObservationSize, a = _model.ActionSize, f = _model.TransitionFeatures;
        int d = _model.Config.EmbeddingDim;
        var (droppedReal, keptReal, droppedImagined, keptImagined) = _imagination.ShapeAt(h);
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var k = keptReal + keptImagined;
        var features = new float[Math.Max(n * k * f, 1)]; // (N, k, F) the kept real transitions, then the kept imagined ones
        for (var c = 0; c < n; c++)
        {
            CopyWindow(environment, droppedReal, features.AsSpan(c * k * f, keptReal * f));
            for (var t = 0; t < keptImagined; t++)
            {
                var i = c * h + droppedImagined + t;
                _model.EncodeTransition(candidates.ImaginedStates.AsSpan(i * o, o), candidates.ImaginedActions.AsSpan(i * a, a),
                    candidates.ImaginedRewards[i], candidates.ImaginedNextStates.AsSpan(i * o, o), features.AsSpan((c * k + keptReal + t) * f, f));
            }
        }
        var hidden = _model.BackboneInference(_model.AssembleTokens(n, features, k, candidates.QueryStates.AsSpan(0, n * o),
            candidates.QueryActions.AsSpan(0, n * a), withQueryAction: true)); // (N, k + 2, d)
        float[] actionRows = new float[n * d], dynamicsRows = new float[n * d];
        for (var c = 0; c < n; c++)
        {
            hidden.Data.AsSpan((c * (k + 2) + k) * d, d).CopyTo(actionRows.AsSpan(c * d));
            hidden.Data.AsSpan((c * (k + 2) + k + 1) * d, d).CopyTo(dynamicsRows.AsSpan(c * d));
        }
        WriteHeads(n, actionRows, dynamicsRows, predictions);
    }

    /// <inheritdoc/>
    public Rollout Root(int environment, ReadOnlySpan<float> observation) =>
        RolloutReplay.Root(this, environment, observation, _imagination.Version(environment));

    /// <inheritdoc/>
    public void Step(ReadOnlySpan<Rollout> nodes, ReadOnlySpan<float> actions, CandidatePredictions predictions, Span<Rollout> children)
    {
        if (!_model.HasDynamics) throw new InvalidOperationException($"{_model.Name}: Step needs the DICP dynamics heads (ModelConfig.Dynamics = true).");
        if (Options.SharedPrefix) _imagination.Step(nodes, actions, predictions, children);
        else RolloutReplay.Step(this, nodes, actions, predictions, children, _imagination.Version);
    }

    /// <summary>Applies the heads to the gathered rows and decodes them into <paramref name="predictions"/>.</summary>
    private void WriteHeads(int n, float[] actionRows, float[] dynamicsRows, CandidatePredictions predictions)
    {
        int d = _model.Config.EmbeddingDim, o = _model.ObservationSize, p = _model.PolicySize;
        var act = new Tensor(actionRows, [n, d]);
        var dyn = new Tensor(dynamicsRows, [n, d]);
        var policy = _model.PredAction.Forward(act).Span;
        var reward = _model.PredReward!.Forward(dyn).Span;
        var next = _model.PredNextState!.Forward(dyn).Span;
        int kp = _model.PredAction.OutFeatures, kr = _model.PredReward.OutFeatures, ks = _model.PredNextState.OutFeatures;
        for (var c = 0; c < n; c++)
        {
            _model.WritePolicy(policy.Slice(c * kp, kp), predictions.Policy.AsSpan(c * p, p));
            predictions.Rewards[c] = _model.DecodeReward(reward.Slice(c * kr, kr));
            _model.DecodeNextState(next.Slice(c * ks, ks), predictions.NextStates.AsSpan(c * o, o));
        }
        if (_model.PredReturn is not null && predictions.ReturnsToGo is not null)
        {
            var g = _model.PredReturn.Forward(dyn).Span;
            for (var c = 0; c < n; c++) predictions.ReturnsToGo[c] = g[c];
        }
    }

    private void CheckCandidates(CandidateBatch b, CandidatePredictions p) =>
        ModelSupport.CheckCandidates(b, p, _model.ObservationSize, _model.ActionSize, _model.PolicySize, Options.MaxCandidates, _model.HasReturnToGo);
}

public sealed partial class InContextSession
{
    /// <summary>AD's and DPT's tokens for the KV-cached imagination.</summary>
    private sealed class Imagination(InContextSession session) : CachedImagination(session, session._model.Transformer, session.Environments)
    {
        private readonly InContextModel _model = session._model;

        /// <summary>
        /// W window, L real transitions, r reserve, h depth: the last min(L, W − r) real transitions (all of them with
        /// r = 0), then the imagined ones, minus the first max(0, that + h − W) of the two.
        /// </summary>
        public Shape ShapeAt(int depth)
        {
            int w = _model.WindowTransitions, l = session._count;
            var reserved = Math.Max(0, l - (w - session.Options.ImaginationReserve)); // real transitions the reserve leaves out
            var live = l - reserved;
            var dropped = Math.Max(0, live + depth - w);
            var droppedReal = reserved + Math.Min(dropped, live);
            var droppedImagined = dropped - Math.Min(dropped, live);
            return new Shape(droppedReal, l - droppedReal, droppedImagined, depth - droppedImagined);
        }

        protected override Shape ShapeOf(int environment, int depth) => ShapeAt(depth);

        /// <summary>AD: the kept real transitions; DPT: none (its query state comes first, so every node encodes its own window).</summary>
        protected override int PrefixLength(Shape shape) => _model.QueryFirst ? 0 : shape.KeptReal;

        protected override bool HasPrefix(int environment, Shape shape) => true;

        protected override Tensor PrefixTokens(IReadOnlyList<int> environments, Shape shape)
        {
            int f = _model.TransitionFeatures, kept = shape.KeptReal;
            var features = new float[environments.Count * kept * f]; // (E', P, F)
            for (var j = 0; j < environments.Count; j++) session.CopyWindow(environments[j], shape.DroppedReal, features.AsSpan(j * kept * f, kept * f));
            return _model.EmbedTransitions(features, environments.Count, kept); // (E', P, d)
        }

        /// <summary>AD: one token per real transition; DPT: none (no shared prefix).</summary>
        protected override int UnitTokens => _model.QueryFirst ? 0 : 1;

        protected override Tensor LastUnitTokens(IReadOnlyList<int> environments, Shape shape)
        {
            int f = _model.TransitionFeatures, last = shape.DroppedReal + shape.KeptReal - 1;
            var features = new float[environments.Count * f]; // (E', 1, F)
            for (var j = 0; j < environments.Count; j++) session.CopyWindow(environments[j], last, features.AsSpan(j * f, f));
            return _model.EmbedTransitions(features, environments.Count, 1); // (E', 1, d)
        }

        /// <summary>AD: the kept imagined transitions (one token each) without the query: a child's stem begins with them; DPT: none (its query comes first).</summary>
        protected override int ChainedTokens(Shape parent) => _model.QueryFirst ? 0 : parent.KeptImagined;

        /// <summary>AD <c>[imagined…, s_q]</c> from token <paramref name="from"/> on; DPT <c>[s_q, real…, imagined…]</c> (from 0 only).</summary>
        protected override Tensor StemTokens(IReadOnlyList<Rollout> nodes, Shape shape, int from)
        {
            if (from < 0 || from > (_model.QueryFirst ? 0 : shape.KeptImagined)) throw new ArgumentOutOfRangeException(nameof(from));
            int g = nodes.Count, o = _model.ObservationSize, f = _model.TransitionFeatures;
            var real = _model.QueryFirst ? shape.KeptReal : 0;
            var k = real + shape.KeptImagined - from; // AD: the imagined transitions from `from` on
            var features = new float[Math.Max(g * k * f, 1)]; // (G, k, F)
            var queries = new float[g * o];
            var path = new Rollout[shape.DroppedImagined + shape.KeptImagined];
            for (var j = 0; j < g; j++)
            {
                var node = nodes[j];
                if (real > 0) session.CopyWindow(node.Environment, shape.DroppedReal, features.AsSpan(j * k * f, real * f));
                node.PathTo(path);
                for (var t = from; t < shape.KeptImagined; t++)
                {
                    var step = path[shape.DroppedImagined + t];
                    _model.EncodeTransition(step.State, step.Action, step.Reward, step.NextState, features.AsSpan((j * k + real + t - from) * f, f));
                }
                node.Observation.CopyTo(queries.AsSpan(j * o, o));
            }
            return _model.AssembleTokens(g, features, k, queries, default, withQueryAction: false); // (G, k + 1, d)
        }

        protected override Tensor ActionTokens(float[] actions, int count) => _model.EmbedQueryActions(actions, count); // (M, 1, d)

        protected override void WriteHeads(int n, float[] policyRows, float[] dynamicsRows, CandidatePredictions predictions) =>
            session.WriteHeads(n, policyRows, dynamicsRows, predictions);
    }
}
