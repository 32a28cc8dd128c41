using Dicp.Autograd;
using Dicp.Tensors;

namespace Dicp.Models;

public sealed partial class IdtSession
{
    /// <inheritdoc/>
    /// <remarks>
    /// Each candidate is the segment's j real steps, its h imagined transitions and its query (state, action), under the
    /// segment's decisions (step u of (real ++ imagined) reads z_u for u ≤ j and z_{(u − j) mod c} after: see
    /// <c>DecisionRow</c>). As the reference (default): the whole of it, kept = j + h, skip = 0, h ≤ c. With
    /// <see cref="ModelConfig.SlidingImagination"/> only the last c − 1 transitions are kept (the low-level window slides,
    /// as Decisions-to-Go's training sequences hold at most c steps): kept = min(j + h, c − 1), skip = j + h − kept. The
    /// sequence is <c>(real ++ imagined)[skip .. skip + kept)</c> then <c>[z, s_q, a_q]</c>, 4·kept + 3 tokens. The policy is read
    /// at the query-state token, reward and next state at the query-action token. With
    /// <see cref="SessionOptions.SharedPrefix"/> the candidates become rollout nodes (equal paths share one) stepped
    /// through the KV cache (<see cref="Step"/>); otherwise every candidate runs its whole sequence (the test oracle). The segment's z must have been
    /// drawn (by <see cref="Policy"/>) first.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The model has no dynamics heads, or <see cref="Policy"/> was not called in this segment.</exception>
    /// <exception cref="ArgumentException">The candidates do not fit (sizes, or more than c imagined steps without sliding imagination).</exception>
    public void Predict(int environment, CandidateBatch candidates, CandidatePredictions predictions)
    {
        if (!_model.HasDynamics) throw new InvalidOperationException($"{_model.Name}: Predict needs the DICP dynamics heads (ModelConfig.Dynamics = true).");
        var env = Get(environment);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(predictions);
        if (!env.HasZ) throw new InvalidOperationException($"{_model.Name}: call Policy before Predict in a new segment (it draws the segment's decision z).");
        CheckCandidates(candidates, predictions);
        int n = candidates.Count, h = candidates.Depth, d = _model.Config.EmbeddingDim;
        var (kept, skip) = Window(env.Steps, h);
        if (Options.SharedPrefix) { _imagination.Predict(environment, candidates, predictions); return; }
        float[] stateRows = new float[n * d], actionRows = new float[n * d]; // (N, d) the query-state and query-action tokens' outputs
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        PredictNaive(env, candidates, kept, skip, stateRows, actionRows);
        WriteHeads(n, stateRows, actionRows, predictions);
    }

    /// <summary>
    /// The steps a candidate of depth <paramref name="h"/> keeps, the segment holding <paramref name="j"/> real steps:
    /// <c>(real ++ imagined)[skip .. skip + kept)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">More than c imagined steps without sliding imagination.</exception>
    private (int Kept, int Skip) Window(int j, int h)
    {
        var c = _model.Config.SegmentLength;
        if (_model.Config.SlidingImagination)
        {
            var kept = Math.Min(j + h, c - 1);
            return (kept, j + h - kept);
        }
        if (h > c) throw new ArgumentException($"{_model.Name}: candidates imagine {h} steps; a plan inside the segment imagines at most c = {c} " +
            "(use a planning horizon ≤ c, as the reference's c, or ModelConfig.SlidingImagination).", "candidates");
        return (j + h, 0);
    }

    /// <summary>Runs every candidate's whole sequence (<c>kept</c> steps and the query: 4·kept + 3 tokens) through Decisions-to-Go.</summary>
    private void PredictNaive(Env env, CandidateBatch candidates, int kept, int skip, float[] stateRows, float[] actionRows)
    {
        int n = candidates.Count, h = candidates.Depth, o = _model.ObservationSize, a = _model.ActionSize;
        int dz = _model.Config.LatentDim, d = _model.Config.EmbeddingDim, j = env.Steps;
        var k = kept + 1; // steps in the sequence, the query included
        var z = new float[n * k * dz];
        var st = new float[n * k * o];
        var ac = new float[n * k * a];
        var rw = new float[n * k];
        for (var i = 0; i < n; i++)
        {
            for (var t = 0; t <= kept; t++) // the z of each kept step and of the query (step j + h)
                env.Z.AsSpan(DecisionRow(skip + t, j) * dz, dz).CopyTo(z.AsSpan((i * k + t) * dz, dz));
            for (var t = 0; t < kept; t++)
            {
                var u = skip + t; // index in (real ++ imagined)
                var row = i * k + t;
                if (u < j)
                {
                    env.States.AsSpan(u * o, o).CopyTo(st.AsSpan(row * o));
                    env.Actions.AsSpan(u * a, a).CopyTo(ac.AsSpan(row * a));
                    rw[row] = env.Rewards[u];
                }
                else
                {
                    var m = i * h + u - j;
                    candidates.ImaginedStates.AsSpan(m * o, o).CopyTo(st.AsSpan(row * o));
                    candidates.ImaginedActions.AsSpan(m * a, a).CopyTo(ac.AsSpan(row * a));
                    rw[row] = candidates.ImaginedRewards[m];
                }
            }
            candidates.QueryStates.AsSpan(i * o, o).CopyTo(st.AsSpan((i * k + kept) * o));
            candidates.QueryActions.AsSpan(i * a, a).CopyTo(ac.AsSpan((i * k + kept) * a));
        }
        var hidden = _model.ToGo.Forward(new Tensor(z, [n, k, dz]), st, ac, rw, n, k, lastTokens: 3, inference: true); // (N, 4k − 1, d)
        var len = 4 * k - 1;
        for (var i = 0; i < n; i++)
        {
            hidden.Data.AsSpan((i * len + len - 2) * d, d).CopyTo(stateRows.AsSpan(i * d));
            hidden.Data.AsSpan((i * len + len - 1) * d, d).CopyTo(actionRows.AsSpan(i * d));
        }
    }

    /// <summary>Applies Decisions-to-Go's heads to the query-state rows (policy) and query-action rows (reward, next state), (N, d) each, and decodes them.</summary>
    private void WriteHeads(int n, float[] stateRows, float[] actionRows, CandidatePredictions predictions)
    {
        int d = _model.Config.EmbeddingDim, o = _model.ObservationSize, p = _model.PolicySize;
        var policy = _model.ToGo.PredAction.Forward(new Tensor(stateRows, [n, d])).Span;
        var dyn = new Tensor(actionRows, [n, d]);
        var reward = _model.ToGo.PredReward!.Forward(dyn).Span;
        var next = _model.ToGo.PredNextState!.Forward(dyn).Span;
        int kp = _model.ToGo.PredAction.OutFeatures, kr = _model.ToGo.PredReward.OutFeatures, ks = _model.ToGo.PredNextState.OutFeatures;
        for (var i = 0; i < n; i++)
        {
            _model.Layout.WritePolicy(policy.Slice(i * kp, kp), predictions.Policy.AsSpan(i * p, p));
            predictions.Rewards[i] = ModelSupport.DecodeReward(_model.Config, reward.Slice(i * kr, kr));
            _model.Layout.DecodeNextState(next.Slice(i * ks, ks), predictions.NextStates.AsSpan(i * o, o));
        }
    }

    private void CheckCandidates(CandidateBatch b, CandidatePredictions p) =>
        ModelSupport.CheckCandidates(b, p, _model.ObservationSize, _model.ActionSize, _model.PolicySize, Options.MaxCandidates, false);
}
