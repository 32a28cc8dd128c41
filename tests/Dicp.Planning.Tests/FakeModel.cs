using Dicp.Environments;
using Dicp.Models;

namespace Dicp.Planning.Tests;

/// <summary>
/// A hand-built "world model" with exactly known dynamics: <see cref="Step"/> gives the reward and next observation of
/// an action, <see cref="PolicyOf"/> the policy's distribution at an observation. Its sessions check that every
/// imagined path a planner sends is a consistent rollout of <see cref="Step"/> and record every Predict call.
/// </summary>
public sealed class FakeModel(Space actionSpace, int observationSize, int window,
    Func<float[], float[], (float Reward, float[] Next)> step, Func<float[], float[]> policyOf) : IInContextModel
{
    public string Name { get; init; } = "fake";
    public int ObservationSize => observationSize;
    public Space ActionSpace => actionSpace;
    public int WindowTransitions => window;
    public bool HasDynamics { get; init; } = true;
    public bool HasReturnToGo => ReturnToGo is not null;

    /// <summary>(observation, action) → reward, next observation.</summary>
    public Func<float[], float[], (float Reward, float[] Next)> Step => step;

    /// <summary>observation → logits, or mean then log-variance.</summary>
    public Func<float[], float[]> PolicyOf => policyOf;

    /// <summary>(observation, action) → predicted return-to-go, or null for a model without that head.</summary>
    public Func<float[], float[], float>? ReturnToGo { get; init; }

    public IInContextSession CreateSession(int environments, SessionOptions? options = null) =>
        new FakeSession(this, environments, (options ?? SessionOptions.Default).MaxCandidates);

    /// <summary>A Darkroom-like 9 × 9 grid (actions 0: x+1, 1: x−1, 2: y+1, 3: y−1, 4: stay) with a reward per cell entered.</summary>
    public static FakeModel Grid(Func<int, int, float> cellReward, float[] logits, int window = 4) =>
        new(new DiscreteSpace(5), 2, window,
            (s, a) =>
            {
                int x = (int)s[0], y = (int)s[1];
                switch ((int)a[0])
                {
                    case 0: x = Math.Min(x + 1, 8); break;
                    case 1: x = Math.Max(x - 1, 0); break;
                    case 2: y = Math.Min(y + 1, 8); break;
                    case 3: y = Math.Max(y - 1, 0); break;
                }
                return (cellReward(x, y), [x, y]);
            },
            _ => (float[])logits.Clone());

    /// <summary>A point in R^dim moved by actions in [−1, 1]^dim; the reward is given by <paramref name="reward"/>(s, a, s').</summary>
    public static FakeModel Point(int dim, Func<float[], float[], float[], float> reward, float[] mean, float[] logVar, int window = 4)
    {
        var low = Enumerable.Repeat(-1f, dim).ToArray();
        var high = Enumerable.Repeat(1f, dim).ToArray();
        return new FakeModel(new BoxSpace(low, high), dim, window,
            (s, a) =>
            {
                var next = new float[dim];
                for (var j = 0; j < dim; j++) next[j] = s[j] + a[j];
                return (reward(s, a, next), next);
            },
            _ => [.. mean, .. logVar]);
    }
}

/// <summary>One recorded Predict call.</summary>
public sealed record PredictCall(int Environment, int Count, int Depth, float[] QueryStates, float[] QueryActions);

/// <summary>The session of a <see cref="FakeModel"/>: context lengths only, plus consistency checks and a call log.</summary>
public sealed class FakeSession : IInContextSession
{
    private readonly FakeModel _model;
    private readonly int[] _length;
    private readonly long[] _seen;
    private readonly int _maxCandidates;

    public FakeSession(FakeModel model, int environments, int maxCandidates)
    {
        _model = model;
        _length = new int[environments];
        _seen = new long[environments];
        _maxCandidates = maxCandidates;
    }

    public IInContextModel Model => _model;
    public int Environments => _length.Length;
    public List<PredictCall> Calls { get; } = [];
    public int PolicyCalls { get; private set; }

    /// <summary>Sets the steps environment <paramref name="e"/> has seen; its context length is that, capped at the window.</summary>
    public void SetLength(int e, int steps)
    {
        _seen[e] = steps;
        _length[e] = Math.Min(steps, _model.WindowTransitions);
    }

    /// <summary>Fills every window and lets it slide once: n_transit steps seen, where the reference starts planning.</summary>
    public FakeSession Full()
    {
        for (var e = 0; e < _length.Length; e++) SetLength(e, _model.WindowTransitions + 1);
        return this;
    }

    public int ContextLength(int environment) => _length[environment];
    public bool IsWindowFull(int environment) => _length[environment] >= _model.WindowTransitions;
    public long StepsSeen(int environment) => _seen[environment];
    public void Reset() { Array.Clear(_length); Array.Clear(_seen); }

    public void Append(ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards,
        ReadOnlySpan<float> nextStates, ReadOnlySpan<bool> dones)
    {
        for (var e = 0; e < _length.Length; e++) SetLength(e, (int)_seen[e] + 1);
    }

    public void Policy(ReadOnlySpan<float> observations, Span<float> distribution)
    {
        PolicyCalls++;
        int o = _model.ObservationSize, e = _length.Length;
        if (observations.Length != e * o) throw new ArgumentException("observations length");
        var p = distribution.Length / e;
        for (var i = 0; i < e; i++) _model.PolicyOf(observations.Slice(i * o, o).ToArray()).CopyTo(distribution.Slice(i * p, p));
    }

    public void Predict(int environment, CandidateBatch candidates, CandidatePredictions predictions)
    {
        if (!_model.HasDynamics) throw new InvalidOperationException("no dynamics");
        if (candidates.Count > _maxCandidates) throw new ArgumentException($"{candidates.Count} candidates > MaxCandidates {_maxCandidates}");
        int o = _model.ObservationSize, a = _model.ActionSpace.Size, h = candidates.Depth, n = candidates.Count;
        var p = predictions.Policy.Length / Math.Max(1, predictions.Rewards.Length);
        for (var c = 0; c < n; c++)
        {
            // The imagined path must be a rollout of the known dynamics, and the query must continue it.
            for (var t = 0; t < h; t++)
            {
                var s = candidates.ImaginedStates.AsSpan((c * h + t) * o, o).ToArray();
                var act = candidates.ImaginedActions.AsSpan((c * h + t) * a, a).ToArray();
                var (r, next) = _model.Step(s, act);
                if (r != candidates.ImaginedRewards[c * h + t]) throw new InvalidOperationException($"candidate {c} step {t}: imagined reward {candidates.ImaginedRewards[c * h + t]} != {r}");
                if (!next.AsSpan().SequenceEqual(candidates.ImaginedNextStates.AsSpan((c * h + t) * o, o)))
                    throw new InvalidOperationException($"candidate {c} step {t}: imagined next state does not follow the dynamics");
                var following = t + 1 < h ? candidates.ImaginedStates.AsSpan((c * h + t + 1) * o, o) : candidates.QueryStates.AsSpan(c * o, o);
                if (!next.AsSpan().SequenceEqual(following)) throw new InvalidOperationException($"candidate {c} step {t}: the path is not chained");
            }
            var q = candidates.QueryStates.AsSpan(c * o, o).ToArray();
            var qa = candidates.QueryActions.AsSpan(c * a, a).ToArray();
            if (!_model.ActionSpace.Contains(qa)) throw new InvalidOperationException($"candidate {c}: action [{string.Join(", ", qa)}] outside {_model.ActionSpace}");
            var (reward, nextState) = _model.Step(q, qa);
            predictions.Rewards[c] = reward;
            nextState.CopyTo(predictions.NextStates.AsSpan(c * o, o));
            if (predictions.ReturnsToGo is { } rtg) rtg[c] = _model.ReturnToGo!(q, qa);
            _model.PolicyOf(nextState).CopyTo(predictions.Policy.AsSpan(c * p, p));
        }
        Calls.Add(new PredictCall(environment, n, h, candidates.QueryStates.AsSpan(0, n * o).ToArray(), candidates.QueryActions.AsSpan(0, n * a).ToArray()));
    }
}
