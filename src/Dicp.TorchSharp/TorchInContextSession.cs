using Dicp.Models;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Dicp.TorchSharp;

/// <summary>
/// In-context evaluation of a <see cref="TorchInContextModel"/> on its device: per environment a sliding window of the
/// last <c>n_transit − 1</c> real transitions; <see cref="Policy"/> runs all environments as one batch (grouped by window
/// length) and <see cref="Predict"/> runs every candidate's whole sequence <c>last W of (real ++ imagined), s_q, a_q</c>
/// — the reference's evaluation, without the KV caching of Dicp's engine. No gradients, no dropout.
/// </summary>
internal sealed class TorchInContextSession : IInContextSession
{
    private readonly TorchInContextModel _model;
    private readonly ModelLayout _enc;
    private readonly float[][] _windows;   // per environment: (W, F) ring buffer
    private readonly int[] _count, _head;
    private readonly int _w, _f;

    public TorchInContextSession(TorchInContextModel model, int environments, SessionOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(environments);
        ArgumentNullException.ThrowIfNull(options);
        if (options.ImaginationReserve != 0)
            throw new ArgumentException($"{model.Name} (TorchSharp): SessionOptions.ImaginationReserve is not supported (got {options.ImaginationReserve}); use 0.", nameof(options));
        _model = model;
        _enc = model.Layout;
        Environments = environments;
        Options = options;
        _w = model.WindowTransitions;
        _f = _enc.TransitionFeatures;
        _windows = new float[environments][];
        for (var e = 0; e < environments; e++) _windows[e] = new float[Math.Max(_w, 1) * _f];
        _count = new int[environments];
        _head = new int[environments];
    }

    public IInContextModel Model => _model;

    public int Environments { get; }

    public SessionOptions Options { get; }

    public int ContextLength(int environment) => _count[environment];

    public bool IsWindowFull(int environment) => _count[environment] == _w;

    public void Reset()
    {
        Array.Clear(_count);
        Array.Clear(_head);
    }

    public void Append(ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards, ReadOnlySpan<float> nextStates, ReadOnlySpan<bool> dones)
    {
        int e = Environments, o = _model.ObservationSize, a = _enc.ActionSize;
        Need(states.Length, e * o, "states");
        Need(actions.Length, e * a, "actions");
        Need(rewards.Length, e, "rewards");
        Need(nextStates.Length, e * o, "nextStates");
        Need(dones.Length, e, "dones");
        if (_w == 0) return;
        var encoded = new float[e * _f]; // validate every environment before any window changes
        for (var i = 0; i < e; i++)
            _enc.EncodeTransition(states.Slice(i * o, o), actions.Slice(i * a, a), rewards[i], nextStates.Slice(i * o, o), encoded.AsSpan(i * _f, _f));
        for (var i = 0; i < e; i++)
        {
            var slot = (_head[i] + _count[i]) % _w;
            encoded.AsSpan(i * _f, _f).CopyTo(_windows[i].AsSpan(slot * _f, _f));
            if (_count[i] < _w) _count[i]++;
            else _head[i] = (_head[i] + 1) % _w;
        }
    }

    public void Policy(ReadOnlySpan<float> observations, Span<float> distribution)
    {
        int e = Environments, o = _model.ObservationSize, p = _enc.PolicySize;
        Need(observations.Length, e * o, "observations");
        Need(distribution.Length, e * p, "distribution");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var wasTraining = _model.training;
        _model.eval();
        try
        {
            foreach (var group in Enumerable.Range(0, e).GroupBy(i => _count[i]))
            {
                var envs = group.ToArray();
                int k = group.Key, n = envs.Length;
                var features = new float[n * Math.Max(k, 1) * _f];
                var qs = new float[n * o];
                for (var j = 0; j < n; j++)
                {
                    CopyWindow(envs[j], 0, k, features.AsSpan(j * k * _f, k * _f));
                    observations.Slice(envs[j] * o, o).CopyTo(qs.AsSpan(j * o));
                }
                var h = _model.Hidden(features, k, n, qs, default, withQueryAction: false);       // (n, T, d)
                var head = ReadRows(_model.PredAction.forward(h.narrow(1, h.shape[1] - 1, 1)), n); // the last token: AD s_q, DPT the last transition (or q)
                var width = head.Length / n;
                for (var j = 0; j < n; j++) _enc.WritePolicy(head.AsSpan(j * width, width), distribution.Slice(envs[j] * p, p));
            }
        }
        finally { _model.train(wasTraining); }
    }

    public void Predict(int environment, CandidateBatch candidates, CandidatePredictions predictions)
    {
        if (!_model.HasDynamics) throw new InvalidOperationException($"{_model.Name} has no dynamics heads: Predict needs a DICP model.");
        ArgumentOutOfRangeException.ThrowIfNegative(environment);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(environment, Environments);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(predictions);
        int n = candidates.Count, h = candidates.Depth, o = _model.ObservationSize, a = _enc.ActionSize, p = _enc.PolicySize;
        ModelSupport.CheckCandidates(candidates, predictions, o, a, p, Options.MaxCandidates, _model.HasReturnToGo);
        var real = _count[environment];
        var kept = Math.Min(real + h, _w);        // the last W of real ++ imagined
        var fromReal = Math.Max(0, kept - h);      // real transitions kept (the newest)
        var imagined = kept - fromReal;            // imagined transitions kept (the newest)
        var features = new float[n * Math.Max(kept, 1) * _f];
        for (var c = 0; c < n; c++)
        {
            var dst = features.AsSpan(c * kept * _f, kept * _f);
            CopyWindow(environment, real - fromReal, fromReal, dst[..(fromReal * _f)]);
            for (var j = 0; j < imagined; j++)
            {
                var s = c * h + (h - imagined + j);
                _enc.EncodeTransition(candidates.ImaginedStates.AsSpan(s * o, o), candidates.ImaginedActions.AsSpan(s * a, a),
                    candidates.ImaginedRewards[s], candidates.ImaginedNextStates.AsSpan(s * o, o), dst.Slice((fromReal + j) * _f, _f));
            }
        }
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var wasTraining = _model.training;
        _model.eval();
        try
        {
            var hidden = _model.Hidden(features, kept, n, candidates.QueryStates, candidates.QueryActions, withQueryAction: true); // (N, T, d)
            var t = hidden.shape[1];
            var policy = ReadRows(_model.PredAction.forward(hidden.narrow(1, t - 2, 1)), n); // AD s_q, DPT the last transition (or q)
            var hq = hidden.narrow(1, t - 1, 1);                                              // the query-action token
            var rewards = ReadRows(_model.PredReward!.forward(hq), n);
            var next = ReadRows(_model.PredNextState!.forward(hq), n);
            var returns = _model.PredReturn is null ? null : ReadRows(_model.PredReturn.forward(hq), n);
            int pw = policy.Length / n, rw = rewards.Length / n, nw = next.Length / n;
            for (var c = 0; c < n; c++)
            {
                _enc.WritePolicy(policy.AsSpan(c * pw, pw), predictions.Policy.AsSpan(c * p, p));
                var r = rewards.AsSpan(c * rw, rw);
                predictions.Rewards[c] = ModelSupport.DecodeReward(_model.Config, r);
                _enc.DecodeNextState(next.AsSpan(c * nw, nw), predictions.NextStates.AsSpan(c * o, o));
                if (returns is not null && predictions.ReturnsToGo is not null) predictions.ReturnsToGo[c] = returns[c];
            }
        }
        finally { _model.train(wasTraining); }
    }

    /// <summary>Copies <paramref name="count"/> transitions of an environment's window starting at its <paramref name="first"/>-th oldest.</summary>
    private void CopyWindow(int environment, int first, int count, Span<float> destination)
    {
        for (var j = 0; j < count; j++)
        {
            var slot = (_head[environment] + first + j) % _w;
            _windows[environment].AsSpan(slot * _f, _f).CopyTo(destination.Slice(j * _f, _f));
        }
    }

    private static float[] ReadRows(TorchTensor t, int rows) =>
        t.reshape(rows, -1).to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();

    private static void Need(int length, int needed, string name)
    {
        if (length < needed) throw new ArgumentException($"{name} holds {length} values; the session needs at least {needed}.", name);
    }
}
