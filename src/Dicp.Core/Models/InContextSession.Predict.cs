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
    /// <see cref="SessionOptions.SharedPrefix"/> the real part is encoded once per (dropped count[, DPT query state]);
    /// candidates' distinct stems (AD: imagined transitions and query state; DPT: imagined transitions) are encoded once
    /// each on top of it, and each candidate then computes only its query-action token. Otherwise every candidate runs
    /// its whole sequence (the reference's way).
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
        else
        {
            // Prefix groups: AD one (the kept real transitions); DPT one per distinct query state ([q, kept real transitions]).
            var groups = new Dictionary<string, List<int>>();
            for (var c = 0; c < n; c++)
            {
                var key = _model.QueryFirst ? QueryKey(qs.Slice(c * o, o)) : "";
                if (!groups.TryGetValue(key, out var list)) groups[key] = list = [];
                list.Add(c);
            }
            foreach (var (key, members) in groups)
            {
                var queryState = candidates.QueryStates.AsSpan(members[0] * o, o).ToArray();
                var prefix = _model.QueryFirst
                    ? Prefix(environment, new PrefixKey(droppedReal, key), () =>
                        _model.AssembleTokens(1, RealFeatures(environment, droppedReal, keptReal), keptReal, queryState, default, withQueryAction: false))
                    : RealPrefix(environment, droppedReal, keptReal);
                PredictGroup(members, prefix, imagined, keptImagined, candidates.QueryStates, qa, actionRows, dynamicsRows);
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

    /// <summary>
    /// Runs the candidates <paramref name="members"/> that share <paramref name="prefix"/>: their stems (AD
    /// <c>[imagined…, s_q]</c>, DPT <c>[imagined…]</c>) are deduplicated and encoded once each as a middle segment,
    /// then every candidate runs only its query-action token over prefix + its stem.
    /// </summary>
    private void PredictGroup(List<int> members, KvSegment prefix, float[] imagined, int keptImagined, float[] queryStates,
        ReadOnlySpan<float> queryActions, float[] actionRows, float[] dynamicsRows)
    {
        int o = _model.ObservationSize, a = _model.ActionSize, f = _model.TransitionFeatures, d = _model.Config.EmbeddingDim;
        var withQueryState = !_model.QueryFirst;
        var stemLength = keptImagined + (withQueryState ? 1 : 0);
        var m = members.Count;

        // Distinct stems, in order of first appearance; groupOf[j] is member j's stem.
        var stemIndex = new Dictionary<string, int>();
        var stemOwner = new List<int>();
        var groupOf = new int[m];
        for (var j = 0; j < m; j++)
        {
            var c = members[j];
            var key = QueryKey(imagined.AsSpan(c * keptImagined * f, keptImagined * f)) + "|" + (withQueryState ? QueryKey(queryStates.AsSpan(c * o, o)) : "");
            if (!stemIndex.TryGetValue(key, out var g)) { stemIndex[key] = g = stemOwner.Count; stemOwner.Add(c); }
            groupOf[j] = g;
        }

        KvSegment? stems = null;
        if (stemLength > 0)
        {
            var count = stemOwner.Count;
            var stemImagined = new float[Math.Max(count * keptImagined * f, 1)];
            var stemStates = new float[count * o];
            for (var g = 0; g < count; g++)
            {
                var c = stemOwner[g];
                imagined.AsSpan(c * keptImagined * f, keptImagined * f).CopyTo(stemImagined.AsSpan(g * keptImagined * f));
                queryStates.AsSpan(c * o, o).CopyTo(stemStates.AsSpan(g * o));
            }
            var tokens = withQueryState
                ? _model.AssembleTokens(count, stemImagined, keptImagined, stemStates, default, withQueryAction: false) // (G, k' + 1, d)
                : _model.EmbedTransitions(stemImagined, count, keptImagined);                                          // (G, k', d)
            stems = new KvSegment(_model.Config.Layers, count, stemLength, d);
            _model.BackboneCached(tokens, prefix, null, null, stems);
        }
        for (var j = 0; j < m; j++) // the policy reads the last stem token (or the prefix's last token)
        {
            var src = stems is null ? prefix.LastHidden.AsSpan(0, d) : stems.LastHidden.AsSpan(groupOf[j] * d, d);
            src.CopyTo(actionRows.AsSpan(members[j] * d));
        }

        var actions = new float[m * a];
        for (var j = 0; j < m; j++) queryActions.Slice(members[j] * a, a).CopyTo(actions.AsSpan(j * a));
        var hidden = _model.BackboneCached(_model.EmbedQueryActions(actions, m), prefix, stems, stems is null ? null : groupOf, null); // (M, 1, d)
        for (var j = 0; j < m; j++) hidden.Data.AsSpan(j * d, d).CopyTo(dynamicsRows.AsSpan(members[j] * d));
    }

    /// <summary>The cached encoding of a prefix, encoding it on first use; <paramref name="tokens"/> builds its (1, P, d) tokens (null when empty).</summary>
    private KvSegment Prefix(int environment, PrefixKey key, Func<Tensor?> tokens)
    {
        var cache = _caches[environment];
        if (cache.TryGetValue(key, out var hit)) return hit;
        if (cache.Count >= MaxCachedPrefixes) cache.Clear();
        var x = tokens();
        var enc = new KvSegment(_model.Config.Layers, 1, x?.Shape[1] ?? 0, _model.Config.EmbeddingDim);
        if (x is not null) _model.BackboneCached(x, null, null, null, enc); // (1, P, d)
        PrefixEncodings++;
        cache[key] = enc;
        return enc;
    }

    /// <summary>
    /// AD's prefix of <paramref name="environment"/> without its first <paramref name="dropped"/> real transitions. On a
    /// miss the same prefix is encoded for every environment that lacks it, in one batched backbone pass: all
    /// environments hold equally long windows, and planners query every environment at the same depths.
    /// </summary>
    private KvSegment RealPrefix(int environment, int dropped, int kept)
    {
        var key = new PrefixKey(dropped, "");
        if (!_caches[environment].TryGetValue(key, out var hit)) EncodeRealPrefixes(dropped, kept, environment, null);
        return hit ?? _caches[environment][key];
    }

    /// <summary>
    /// Every environment's AD prefix (first <paramref name="dropped"/> real transitions left out) as one segment of Count
    /// E, row e = environment e: cached prefixes are copied in, the missing ones encoded in one batched pass (and cached).
    /// </summary>
    private KvSegment AllRealPrefixes(int dropped, int kept)
    {
        var all = new KvSegment(_model.Config.Layers, Environments, kept, _model.Config.EmbeddingDim);
        EncodeRealPrefixes(dropped, kept, -1, all);
        return all;
    }

    /// <summary>
    /// Encodes the prefix (<paramref name="dropped"/>, <paramref name="kept"/>) of every environment whose cache lacks it,
    /// first <paramref name="first"/> (when ≥ 0), in one backbone pass over (E', P) tokens, and caches each row. With
    /// <paramref name="all"/> every environment's prefix (cached or new) is also copied into row e of it.
    /// </summary>
    private void EncodeRealPrefixes(int dropped, int kept, int first, KvSegment? all)
    {
        var key = new PrefixKey(dropped, "");
        int layers = _model.Config.Layers, d = _model.Config.EmbeddingDim, f = _model.TransitionFeatures;
        var missing = new List<int>();
        if (first >= 0) missing.Add(first);
        for (var e = 0; e < Environments; e++)
        {
            if (e == first) continue;
            if (!_caches[e].TryGetValue(key, out var cached)) { missing.Add(e); continue; }
            if (all is not null) cached.CopyRowTo(0, all, e);
        }
        if (missing.Count == 0) return;
        var batch = new KvSegment(layers, missing.Count, kept, d);
        if (kept > 0)
        {
            var features = new float[missing.Count * kept * f];
            for (var j = 0; j < missing.Count; j++) CopyWindow(missing[j], dropped, features.AsSpan(j * kept * f, kept * f));
            _model.BackboneCached(_model.EmbedTransitions(features, missing.Count, kept), null, null, null, batch); // (E', P, d)
        }
        PrefixEncodings++;
        for (var j = 0; j < missing.Count; j++)
        {
            var one = new KvSegment(layers, 1, kept, d);
            batch.CopyRowTo(j, one, 0);
            if (all is not null) batch.CopyRowTo(j, all, missing[j]);
            var cache = _caches[missing[j]];
            if (cache.Count >= MaxCachedPrefixes) cache.Clear();
            cache[key] = one;
        }
    }

    private float[] RealFeatures(int environment, int skip, int count)
    {
        var features = new float[Math.Max(count * _model.TransitionFeatures, 1)];
        CopyWindow(environment, skip, features);
        return features;
    }

    private static string QueryKey(ReadOnlySpan<float> values) => Convert.ToBase64String(MemoryMarshal.AsBytes(values));

    private void CheckCandidates(CandidateBatch b, CandidatePredictions p) =>
        ModelSupport.CheckCandidates(b, p, _model.ObservationSize, _model.ActionSize, _model.PolicySize, Options.MaxCandidates, _model.HasReturnToGo);
}
