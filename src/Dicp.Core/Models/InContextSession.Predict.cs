using System.Runtime.InteropServices;
using Dicp.Autograd;
using Dicp.Tensors;

namespace Dicp.Models;

public sealed partial class InContextSession
{
    /// <inheritdoc/>
    /// <remarks>
    /// With W = window capacity, L = real transitions, h = depth: the candidate's transitions are the real window minus
    /// its first <c>max(0, L + h − W)</c>, then its imagined ones (minus their first ones if h exceeds W). With
    /// <see cref="SessionOptions.SharedPrefix"/> the real part is encoded once per (dropped count[, DPT query state]) and
    /// each candidate computes S = kept imagined + 2 (AD) or + 1 (DPT) tokens; otherwise every candidate runs its whole
    /// sequence (the reference's way).
    /// </remarks>
    public void Predict(int environment, CandidateBatch candidates, CandidatePredictions predictions)
    {
        if (!_model.HasDynamics) throw new InvalidOperationException($"{_model.Name}: Predict needs the DICP dynamics heads (ModelConfig.Dynamics = true).");
        CheckEnvironment(environment);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(predictions);
        int n = candidates.Count, h = candidates.Depth, o = _model.ObservationSize, a = _model.ActionSize, f = _model.TransitionFeatures;
        int w = _model.WindowTransitions, d = _model.Config.EmbeddingDim;
        CheckCandidates(candidates, predictions);

        var dropped = Math.Max(0, _count + h - w);
        var droppedReal = Math.Min(dropped, _count);
        var droppedImagined = dropped - droppedReal;
        int keptReal = _count - droppedReal, keptImagined = h - droppedImagined;

        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var imagined = new float[Math.Max(n * keptImagined * f, 1)]; // (N, kept imagined, F)
        for (var c = 0; c < n; c++)
            for (var t = 0; t < keptImagined; t++)
            {
                var i = c * h + droppedImagined + t;
                _model.EncodeTransition(candidates.ImaginedStates.AsSpan(i * o, o), candidates.ImaginedActions.AsSpan(i * a, a),
                    candidates.ImaginedRewards[i], candidates.ImaginedNextStates.AsSpan(i * o, o), imagined.AsSpan((c * keptImagined + t) * f, f));
            }
        var qs = candidates.QueryStates.AsSpan(0, n * o);
        var qa = candidates.QueryActions.AsSpan(0, n * a);
        var actionRows = new float[n * d];
        var dynamicsRows = new float[n * d];

        if (!Options.SharedPrefix)
        {
            var k = keptReal + keptImagined;
            var features = new float[Math.Max(n * k * f, 1)];
            for (var c = 0; c < n; c++)
            {
                CopyWindow(environment, droppedReal, features.AsSpan(c * k * f, keptReal * f));
                imagined.AsSpan(c * keptImagined * f, keptImagined * f).CopyTo(features.AsSpan((c * k + keptReal) * f));
            }
            var hidden = _model.BackboneInference(_model.AssembleTokens(n, features, k, qs, qa, withQueryAction: true)); // (N, k + 2, d)
            for (var c = 0; c < n; c++)
            {
                hidden.Data.AsSpan((c * (k + 2) + k) * d, d).CopyTo(actionRows.AsSpan(c * d));
                hidden.Data.AsSpan((c * (k + 2) + k + 1) * d, d).CopyTo(dynamicsRows.AsSpan(c * d));
            }
        }
        else if (!_model.QueryFirst)
        {
            // AD: prefix = the kept real transitions; suffix = [imagined…, s_q, a_q] per candidate.
            var prefix = Prefix(environment, new PrefixKey(droppedReal, ""), () => keptReal == 0 ? null
                : _model.EmbedTransitions(RealFeatures(environment, droppedReal, keptReal), 1, keptReal));
            var s = keptImagined + 2;
            var hidden = _model.BackboneCached(_model.AssembleTokens(n, imagined, keptImagined, qs, qa, withQueryAction: true), prefix, null); // (N, S, d)
            for (var c = 0; c < n; c++)
            {
                hidden.Data.AsSpan((c * s + keptImagined) * d, d).CopyTo(actionRows.AsSpan(c * d));
                hidden.Data.AsSpan((c * s + s - 1) * d, d).CopyTo(dynamicsRows.AsSpan(c * d));
            }
        }
        else
        {
            // DPT: prefix = [q (padded), kept real transitions] per distinct query state; suffix = [imagined…, a_q].
            var groups = new Dictionary<string, List<int>>();
            for (var c = 0; c < n; c++)
            {
                var key = QueryKey(qs.Slice(c * o, o));
                if (!groups.TryGetValue(key, out var list)) groups[key] = list = [];
                list.Add(c);
            }
            var s = keptImagined + 1;
            foreach (var (key, members) in groups)
            {
                var first = members[0];
                var queryState = candidates.QueryStates.AsSpan(first * o, o).ToArray();
                var prefix = Prefix(environment, new PrefixKey(droppedReal, key), () =>
                    _model.AssembleTokens(1, RealFeatures(environment, droppedReal, keptReal), keptReal, queryState, default, withQueryAction: false))!;
                var m = members.Count;
                var subImagined = new float[Math.Max(m * keptImagined * f, 1)];
                var subActions = new float[m * a];
                for (var j = 0; j < m; j++)
                {
                    imagined.AsSpan(members[j] * keptImagined * f, keptImagined * f).CopyTo(subImagined.AsSpan(j * keptImagined * f));
                    qa.Slice(members[j] * a, a).CopyTo(subActions.AsSpan(j * a));
                }
                var tokens = _model.EmbedQueryActions(subActions, m); // (M, 1, d)
                if (keptImagined > 0) tokens = Ops.Concat([_model.EmbedTransitions(subImagined, m, keptImagined), tokens], 1); // (M, S, d)
                var hidden = _model.BackboneCached(tokens, prefix, null);
                for (var j = 0; j < m; j++)
                {
                    var c = members[j];
                    if (keptImagined > 0) hidden.Data.AsSpan((j * s + keptImagined - 1) * d, d).CopyTo(actionRows.AsSpan(c * d));
                    else prefix.LastHidden.CopyTo(actionRows.AsSpan(c * d));
                    hidden.Data.AsSpan((j * s + s - 1) * d, d).CopyTo(dynamicsRows.AsSpan(c * d));
                }
            }
        }
        WriteHeads(n, actionRows, dynamicsRows, predictions);
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

    /// <summary>The cached encoding of a prefix, encoding it on first use; <paramref name="tokens"/> builds its (1, P, d) tokens (null when empty).</summary>
    private PrefixEncoding Prefix(int environment, PrefixKey key, Func<Tensor?> tokens)
    {
        var cache = _caches[environment];
        if (cache.TryGetValue(key, out var hit)) return hit;
        if (cache.Count >= MaxCachedPrefixes) cache.Clear();
        var x = tokens();
        var layers = _model.Config.Layers;
        var d = _model.Config.EmbeddingDim;
        PrefixEncoding enc;
        if (x is null) enc = new PrefixEncoding(layers, 0, d);
        else
        {
            var length = x.Shape[1];
            enc = new PrefixEncoding(layers, length, d);
            var hidden = _model.BackboneCached(x, null, enc); // (1, P, d)
            hidden.Data.AsSpan((length - 1) * d, d).CopyTo(enc.LastHidden);
        }
        PrefixEncodings++;
        cache[key] = enc;
        return enc;
    }

    private float[] RealFeatures(int environment, int skip, int count)
    {
        var features = new float[Math.Max(count * _model.TransitionFeatures, 1)];
        CopyWindow(environment, skip, features);
        return features;
    }

    private static string QueryKey(ReadOnlySpan<float> state) => Convert.ToBase64String(MemoryMarshal.AsBytes(state));

    private void CheckCandidates(CandidateBatch b, CandidatePredictions p)
    {
        int n = b.Count, h = b.Depth, o = _model.ObservationSize, a = _model.ActionSize, pol = _model.PolicySize;
        if (n < 1 || n > Options.MaxCandidates)
            throw new ArgumentException($"CandidateBatch.Count must be in [1, SessionOptions.MaxCandidates = {Options.MaxCandidates}], got {n}.", nameof(b));
        if (h < 0) throw new ArgumentException($"CandidateBatch.Depth must be non-negative, got {h}.", nameof(b));
        static void Need(float[]? array, int length, string name, string shape)
        {
            if (array is null || array.Length < length)
                throw new ArgumentException($"{name} holds {array?.Length ?? 0} floats; {shape} needs at least {length}.", name);
        }
        Need(b.ImaginedStates, n * h * o, "CandidateBatch.ImaginedStates", "(N, h, O)");
        Need(b.ImaginedActions, n * h * a, "CandidateBatch.ImaginedActions", "(N, h, A)");
        Need(b.ImaginedRewards, n * h, "CandidateBatch.ImaginedRewards", "(N, h)");
        Need(b.ImaginedNextStates, n * h * o, "CandidateBatch.ImaginedNextStates", "(N, h, O)");
        Need(b.QueryStates, n * o, "CandidateBatch.QueryStates", "(N, O)");
        Need(b.QueryActions, n * a, "CandidateBatch.QueryActions", "(N, A)");
        Need(p.Rewards, n, "CandidatePredictions.Rewards", "(N)");
        Need(p.NextStates, n * o, "CandidatePredictions.NextStates", "(N, O)");
        Need(p.Policy, n * pol, "CandidatePredictions.Policy", "(N, P)");
        if (_model.HasReturnToGo && p.ReturnsToGo is not null) Need(p.ReturnsToGo, n, "CandidatePredictions.ReturnsToGo", "(N)");
    }
}
