using System.Runtime.InteropServices;
using Dicp.Tensors;

namespace Dicp.Models;

public sealed partial class IdtSession
{
    /// <summary>
    /// <see cref="Predict"/> with shared prefixes. Of a candidate's kept steps <c>(real ++ imagined)[skip .. skip + kept)</c>
    /// the real ones (<c>j − min(skip, j)</c> of them) form the environment's cached prefix; the imagined ones then
    /// <c>[z, s_q]</c> form its stem, encoded once per distinct stem over the prefix; last, every candidate's
    /// <c>a_q</c> token runs over prefix + its stem. Fills the query-state rows (the stems' last tokens) and the
    /// query-action rows, (N, d) each.
    /// </summary>
    private void PredictShared(int environment, CandidateBatch candidates, int kept, int skip, float[] stateRows, float[] actionRows)
    {
        var env = _envs[environment];
        int n = candidates.Count, h = candidates.Depth, o = _model.ObservationSize, a = _model.ActionSize, j = env.Steps;
        int dz = _model.Config.LatentDim, d = _model.Config.EmbeddingDim;
        var droppedReal = Math.Min(skip, j);
        int keptReal = j - droppedReal, droppedImagined = skip - droppedReal, keptImagined = kept - keptReal;
        var prefix = Prefix(environment, droppedReal, keptReal);

        // Distinct stems, in order of first appearance, by the floats their tokens read (imagined s, a, r; then s_q);
        // groupOf[i] is candidate i's stem.
        var step = o + a + 1;
        var key = new float[keptImagined * step + o];
        var stemIndex = new Dictionary<string, int>();
        var owners = new List<int>();
        var groupOf = new int[n];
        for (var i = 0; i < n; i++)
        {
            for (var t = 0; t < keptImagined; t++)
            {
                var m = i * h + droppedImagined + t;
                candidates.ImaginedStates.AsSpan(m * o, o).CopyTo(key.AsSpan(t * step));
                candidates.ImaginedActions.AsSpan(m * a, a).CopyTo(key.AsSpan(t * step + o));
                key[t * step + o + a] = candidates.ImaginedRewards[m];
            }
            candidates.QueryStates.AsSpan(i * o, o).CopyTo(key.AsSpan(keptImagined * step));
            var k = Convert.ToBase64String(MemoryMarshal.AsBytes(key.AsSpan()));
            if (!stemIndex.TryGetValue(k, out var g)) { stemIndex[k] = g = owners.Count; owners.Add(i); }
            groupOf[i] = g;
        }

        // Stems [imagined…, z, s_q]: G sequences of kept' + 1 steps whose last step keeps only [z, s] (its action and
        // reward stay 0, valid inputs that reach no token).
        int count = owners.Count, steps = keptImagined + 1;
        var z = new float[count * steps * dz];
        var st = new float[count * steps * o];
        var ac = new float[count * steps * a];
        var rw = new float[count * steps];
        for (var g = 0; g < count; g++)
        {
            var i = owners[g];
            for (var t = 0; t < steps; t++) // imagined step droppedImagined + t sits at j + droppedImagined + t; the query at j + h
                env.Z.AsSpan(DecisionRow(j + droppedImagined + t, j) * dz, dz).CopyTo(z.AsSpan((g * steps + t) * dz, dz));
            for (var t = 0; t < keptImagined; t++)
            {
                var m = i * h + droppedImagined + t;
                candidates.ImaginedStates.AsSpan(m * o, o).CopyTo(st.AsSpan((g * steps + t) * o));
                candidates.ImaginedActions.AsSpan(m * a, a).CopyTo(ac.AsSpan((g * steps + t) * a));
                rw[g * steps + t] = candidates.ImaginedRewards[m];
            }
            candidates.QueryStates.AsSpan(i * o, o).CopyTo(st.AsSpan((g * steps + keptImagined) * o));
        }
        var tokens = _model.ToGo.Embed(new Tensor(z, [count, steps, dz]), st, ac, rw, count, steps, lastTokens: 2); // (G, 4·kept' + 2, d)
        var stems = new KvSegment(_model.Config.Layers, count, 4 * keptImagined + 2, d);
        InferenceBackbone.RunCached(_model.ToGo.Transformer, tokens, prefix, null, null, stems);
        for (var i = 0; i < n; i++) stems.LastHidden.AsSpan(groupOf[i] * d, d).CopyTo(stateRows.AsSpan(i * d)); // the s_q tokens

        var hidden = InferenceBackbone.RunCached(_model.ToGo.Transformer, _model.ToGo.EmbedActions(candidates.QueryActions, n),
            prefix, stems, groupOf, null); // (N, 1, d) the a_q tokens
        hidden.Data.AsSpan(0, n * d).CopyTo(actionRows);
    }

    /// <summary>
    /// Environment <paramref name="environment"/>'s encoded prefix: its segment's real steps from <paramref name="dropped"/>
    /// on (<paramref name="kept"/> steps, 4·kept tokens <c>[z, s, a, r]</c> under its z), from its cache or encoded now. On
    /// a miss the same prefix is encoded, in one batched backbone pass, for every environment with a z and as many real
    /// steps whose cache lacks it: planners query every environment at the same depths.
    /// </summary>
    private KvSegment Prefix(int environment, int dropped, int kept)
    {
        var env = _envs[environment];
        if (env.Prefixes.TryGetValue(dropped, out var hit)) return hit;
        int layers = _model.Config.Layers, d = _model.Config.EmbeddingDim, o = _model.ObservationSize, a = _model.ActionSize, dz = _model.Config.LatentDim;
        if (kept == 0) return Store(env, dropped, new KvSegment(layers, 1, 0, d)); // nothing to encode
        var members = new List<int> { environment };
        for (var e = 0; e < Environments; e++)
            if (e != environment && _envs[e].HasZ && _envs[e].Steps == env.Steps && !_envs[e].Prefixes.ContainsKey(dropped)) members.Add(e);
        var g = members.Count;
        var z = new float[g * kept * dz];
        var st = new float[g * kept * o];
        var ac = new float[g * kept * a];
        var rw = new float[g * kept];
        for (var r = 0; r < g; r++)
        {
            var m = _envs[members[r]];
            m.Z.AsSpan(dropped * dz, kept * dz).CopyTo(z.AsSpan(r * kept * dz)); // real step u reads z_u
            m.States.AsSpan(dropped * o, kept * o).CopyTo(st.AsSpan(r * kept * o));
            m.Actions.AsSpan(dropped * a, kept * a).CopyTo(ac.AsSpan(r * kept * a));
            m.Rewards.AsSpan(dropped, kept).CopyTo(rw.AsSpan(r * kept));
        }
        var batch = new KvSegment(layers, g, 4 * kept, d);
        InferenceBackbone.RunCached(_model.ToGo.Transformer, _model.ToGo.Embed(new Tensor(z, [g, kept, dz]), st, ac, rw, g, kept, lastTokens: 4),
            null, null, null, batch); // (G, 4·kept, d)
        PrefixEncodings++;
        if (g == 1) return Store(env, dropped, batch);
        for (var r = 0; r < g; r++)
        {
            var one = new KvSegment(layers, 1, 4 * kept, d);
            batch.CopyRowTo(r, one, 0);
            Store(_envs[members[r]], dropped, one);
        }
        return env.Prefixes[dropped];
    }

    private static KvSegment Store(Env env, int dropped, KvSegment prefix)
    {
        if (env.Prefixes.Count >= MaxCachedPrefixes) env.Prefixes.Clear();
        return env.Prefixes[dropped] = prefix;
    }
}
