using Dicp.Environments;
using Dicp.Models;
using Dicp.Tensors;

namespace Dicp.Planning;

/// <summary>Settings of <see cref="PolicyPlanner"/>.</summary>
/// <param name="Greedy">Take the most likely action (argmax of the logits, or the Gaussian mean) instead of sampling.</param>
/// <param name="Seed">Seeds the sampling.</param>
public sealed record PolicyPlannerOptions(bool Greedy = false, int Seed = 0);

/// <summary>
/// The "none" planner: acts from the in-context policy alone, as AD, DPT and IDT are evaluated without DICP. Discrete
/// actions are sampled from softmax(logits) (or the argmax); continuous ones from the diagonal Gaussian
/// N(mean, exp(log-variance)) (or the mean), clipped to the action box.
/// </summary>
/// <remarks>
/// Sampling a categorical draws u ~ U[0, 1) (53 bits) and takes the first action whose cumulative probability exceeds
/// u·Σp (computed in double); a Gaussian draws one standard normal per dimension. Ties of the argmax go to the lowest
/// index. The generator lives as long as the planner, so a planner created with the same seed and driven by the same
/// session produces the same actions.
/// </remarks>
public sealed class PolicyPlanner : IPlanner
{
    private readonly Generator _rng;
    private float[] _distribution = [];

    /// <summary>Creates the planner.</summary>
    public PolicyPlanner(PolicyPlannerOptions? options = null)
    {
        Options = options ?? new PolicyPlannerOptions();
        _rng = new Generator(Options.Seed);
        Settings = new Dictionary<string, object> { ["greedy"] = Options.Greedy, ["seed"] = Options.Seed };
    }

    /// <summary>The settings.</summary>
    public PolicyPlannerOptions Options { get; }

    /// <inheritdoc/>
    public string Name => "none";

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, object> Settings { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A buffer does not match the session's environments and the model's sizes.</exception>
    /// <exception cref="NotSupportedException">The model's action space is neither discrete nor a box.</exception>
    public void Plan(IInContextSession session, PlanRequest request, Span<float> actions, PlanTrace? trace = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(request);
        var model = session.Model;
        int e = session.Environments, o = model.ObservationSize;
        var (p, a) = model.ActionSpace switch
        {
            DiscreteSpace d => (d.N, 1),
            BoxSpace b => (2 * b.Size, b.Size),
            var s => throw new NotSupportedException($"PolicyPlanner supports discrete and box action spaces, not {s}."),
        };
        if (request.Observations.Length != e * o)
            throw new ArgumentException($"PlanRequest.Observations must hold {e} × {o} floats, got {request.Observations.Length}.", nameof(request));
        if (actions.Length != e * a)
            throw new ArgumentException($"The action buffer must hold {e} × {a} floats, got {actions.Length}.", nameof(actions));
        if (_distribution.Length != e * p) _distribution = new float[e * p];
        session.Policy(request.Observations, _distribution);
        trace?.Reset(e);
        for (var i = 0; i < e; i++)
        {
            var row = _distribution.AsSpan(i * p, p);
            if (model.ActionSpace is BoxSpace box) Gaussian(row, box, actions.Slice(i * a, a));
            else actions[i] = Options.Greedy ? ArgMax(row) : Categorical(row);
        }
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var j = 1; j < logits.Length; j++)
            if (logits[j] > logits[best]) best = j;
        return best;
    }

    private int Categorical(ReadOnlySpan<float> logits)
    {
        var max = logits[ArgMax(logits)];
        if (!float.IsFinite(max)) throw new InvalidOperationException($"The policy produced a non-finite logit ({max}).");
        double total = 0;
        foreach (var l in logits) total += Math.Exp(l - max);
        var u = _rng.NextDouble() * total;
        double cumulative = 0;
        for (var j = 0; j < logits.Length; j++)
        {
            cumulative += Math.Exp(logits[j] - max);
            if (u < cumulative) return j;
        }
        return logits.Length - 1;
    }

    private void Gaussian(ReadOnlySpan<float> row, BoxSpace box, Span<float> action)
    {
        var n = action.Length;
        for (var j = 0; j < n; j++)
        {
            var value = Options.Greedy ? row[j] : row[j] + MathF.Exp(0.5f * row[n + j]) * (float)_rng.NextNormal();
            action[j] = Math.Clamp(value, box.Low[j], box.High[j]);
        }
    }
}
