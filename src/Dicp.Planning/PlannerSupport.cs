using Dicp.Environments;
using Dicp.Models;
using Dicp.Tensors;

namespace Dicp.Planning;

/// <summary>
/// One environment's search in a continuous planner (<see cref="PlannerSupport.PlanContinuous"/>): writes the action to
/// execute and, when <paramref name="trace"/> is given, that environment's imagined path and rewards.
/// </summary>
internal delegate void ContinuousSearch(int environment, ReadOnlySpan<float> policy, BoxSpace box, Span<float> action, PlanTrace? trace);

/// <summary>Validation, policy sampling and ranking helpers shared by the planners.</summary>
internal static class PlannerSupport
{
    /// <summary>Checks the session, the request and the action buffer against each other.</summary>
    /// <returns>The number of environments E.</returns>
    /// <exception cref="ArgumentNullException">The session or the request is null.</exception>
    /// <exception cref="ArgumentException">A buffer has the wrong length or a step count is invalid.</exception>
    public static int Validate(string planner, IInContextSession session, PlanRequest request, int actionsLength)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Observations, nameof(request.Observations));
        ArgumentNullException.ThrowIfNull(request.EpisodeSteps, nameof(request.EpisodeSteps));
        ArgumentNullException.ThrowIfNull(request.StepsLeft, nameof(request.StepsLeft));
        var model = session.Model ?? throw new ArgumentException($"{planner}: the session has no model.", nameof(session));
        int e = session.Environments, o = model.ObservationSize, a = model.ActionSpace.Size;
        if (request.Observations.Length != e * o)
            throw new ArgumentException($"{planner}: request.Observations has {request.Observations.Length} floats, expected (E={e}) × (O={o}) = {e * o}.", nameof(request));
        if (request.EpisodeSteps.Length != e)
            throw new ArgumentException($"{planner}: request.EpisodeSteps has {request.EpisodeSteps.Length} entries, expected E={e}.", nameof(request));
        if (request.StepsLeft.Length != e)
            throw new ArgumentException($"{planner}: request.StepsLeft has {request.StepsLeft.Length} entries, expected E={e}.", nameof(request));
        if (actionsLength != e * a)
            throw new ArgumentException($"{planner}: actions has {actionsLength} floats, expected (E={e}) × (A={a}) = {e * a}.", "actions");
        for (var i = 0; i < e; i++)
        {
            if (request.EpisodeSteps[i] < 0)
                throw new ArgumentException($"{planner}: request.EpisodeSteps[{i}] = {request.EpisodeSteps[i]} is negative.", nameof(request));
            if (request.StepsLeft[i] < 1)
                throw new ArgumentException($"{planner}: request.StepsLeft[{i}] = {request.StepsLeft[i]}; an environment that acts has at least one step left.", nameof(request));
        }
        return e;
    }

    /// <summary>
    /// The step shared by the continuous planners (sampling, CEM): validates the request, requires a box action space and
    /// dynamics heads, lets <paramref name="prepare"/>(A, O, model) size the planner's buffers, reads the policy of every
    /// environment into <paramref name="policy"/> (grown as needed), then per environment either samples the policy's
    /// action (not planning yet: before <paramref name="start"/>, or before <paramref name="startStep"/>) or runs
    /// <paramref name="search"/> and marks the trace entry planned.
    /// </summary>
    /// <returns>The environments E and how many of them planned.</returns>
    public static (int Environments, int Planned) PlanContinuous(string planner, IInContextSession session, PlanRequest request,
        Span<float> actions, PlanTrace? trace, Generator rng, PlanningStart start, int startStep, bool deterministic,
        ref float[] policy, Action<int, int, IInContextModel> prepare, ContinuousSearch search)
    {
        var envs = Validate(planner, session, request, actions.Length);
        var model = session.Model;
        var box = RequireBox(planner, model);
        RequireDynamics(planner, model);
        int a = box.Size, p = 2 * a;
        prepare(a, model.ObservationSize, model);
        if (policy.Length < envs * p) policy = new float[envs * p];
        trace?.Reset(envs);

        session.Policy(request.Observations, policy.AsSpan(0, envs * p));
        var planned = 0;
        for (var e = 0; e < envs; e++)
        {
            var dist = policy.AsSpan(e * p, p);
            var action = actions.Slice(e * a, a);
            if (!ShouldPlan(session, request, e, start, startStep))
            {
                GaussianAction(rng, dist, box, deterministic, action);
                continue;
            }
            search(e, dist, box, action, trace);
            planned++;
            if (trace is not null) trace.Planned[e] = true;
        }
        return (envs, planned);
    }

    /// <summary>Throws unless the model has DICP dynamics heads.</summary>
    public static void RequireDynamics(string planner, IInContextModel model)
    {
        if (!model.HasDynamics)
            throw new InvalidOperationException($"{planner}: model '{model.Name}' has no dynamics heads (reward and next observation); planning needs a DICP model.");
    }

    /// <summary>The action space as a discrete space, or a clear exception.</summary>
    public static DiscreteSpace RequireDiscrete(string planner, IInContextModel model) =>
        model.ActionSpace as DiscreteSpace
        ?? throw new InvalidOperationException($"{planner}: needs a discrete action space, model '{model.Name}' has {model.ActionSpace}.");

    /// <summary>The action space as a box, or a clear exception.</summary>
    public static BoxSpace RequireBox(string planner, IInContextModel model) =>
        model.ActionSpace as BoxSpace
        ?? throw new InvalidOperationException($"{planner}: needs a continuous (box) action space, model '{model.Name}' has {model.ActionSpace}.");

    /// <summary>
    /// Whether environment <paramref name="e"/> plans now: the context condition of <paramref name="start"/> (the one place
    /// it is decided) and the episode step reached (<paramref name="startStep"/>, the continuous planners' condition).
    /// </summary>
    public static bool ShouldPlan(IInContextSession session, PlanRequest request, int e, PlanningStart start, int startStep) =>
        start switch
        {
            PlanningStart.NTransit => session.StepsSeen(e) >= session.Model.WindowTransitions + 1, // the reference: step ≥ n_transit
            PlanningStart.WindowFull => session.IsWindowFull(e),
            _ => true,
        } && request.EpisodeSteps[e] >= startStep;

    /// <summary>Softmax probabilities of <paramref name="logits"/> (max-subtracted, in double).</summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<double> probs)
    {
        var max = double.NegativeInfinity;
        for (var i = 0; i < logits.Length; i++) max = Math.Max(max, logits[i]);
        if (!double.IsFinite(max)) throw new InvalidOperationException($"Policy logits are not finite (max {max}).");
        var sum = 0.0;
        for (var i = 0; i < logits.Length; i++) sum += probs[i] = Math.Exp(logits[i] - max);
        for (var i = 0; i < logits.Length; i++) probs[i] /= sum;
    }

    /// <summary>The index of the largest logit (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>Samples one index from the categorical distribution given by <paramref name="logits"/>.</summary>
    public static int SampleCategorical(Generator rng, ReadOnlySpan<float> logits)
    {
        Span<double> p = stackalloc double[logits.Length];
        Softmax(logits, p);
        return SampleFrom(rng, p, logits.Length);
    }

    /// <summary>
    /// Writes <paramref name="count"/> distinct action indices into <paramref name="order"/>: sampled from the policy
    /// without replacement (each draw renormalised over the actions left, in draw order), or, when
    /// <paramref name="deterministic"/>, the actions by decreasing probability (lower index first on ties).
    /// </summary>
    public static void FirstActions(Generator rng, ReadOnlySpan<float> logits, int count, bool deterministic, Span<int> order)
    {
        var n = logits.Length;
        Span<double> p = stackalloc double[n];
        Softmax(logits, p);
        Span<bool> taken = stackalloc bool[n];
        for (var k = 0; k < count; k++)
        {
            int pick;
            if (deterministic)
            {
                pick = -1;
                for (var i = 0; i < n; i++) if (!taken[i] && (pick < 0 || p[i] > p[pick])) pick = i;
            }
            else
            {
                var left = 0.0;
                for (var i = 0; i < n; i++) if (!taken[i]) left += p[i];
                if (left <= 0) { pick = -1; for (var i = 0; i < n && pick < 0; i++) if (!taken[i]) pick = i; } // only zero-probability actions left
                else
                {
                    var u = rng.NextDouble() * left;
                    pick = -1;
                    for (var i = 0; i < n; i++)
                    {
                        if (taken[i]) continue;
                        pick = i;
                        u -= p[i];
                        if (u < 0) break;
                    }
                }
            }
            taken[pick] = true;
            order[k] = pick;
        }
    }

    private static int SampleFrom(Generator rng, ReadOnlySpan<double> p, int n)
    {
        var u = rng.NextDouble();
        for (var i = 0; i < n; i++)
        {
            u -= p[i];
            if (u < 0) return i;
        }
        return n - 1;
    }

    /// <summary>
    /// Writes an action from a diagonal Gaussian policy <c>(mean, log-variance)</c> clipped to the box: the mean when
    /// <paramref name="deterministic"/>, else <c>mean + exp(½·logvar)·ε</c>, ε ~ N(0, 1).
    /// </summary>
    public static void GaussianAction(Generator rng, ReadOnlySpan<float> distribution, BoxSpace box, bool deterministic, Span<float> action)
    {
        var a = action.Length;
        for (var j = 0; j < a; j++)
        {
            var v = distribution[j];
            if (!deterministic) v += MathF.Exp(0.5f * distribution[a + j]) * (float)rng.NextNormal();
            action[j] = v;
        }
        Clip(box, action);
    }

    /// <summary>Clips an action to the box (NaN becomes the box's lower bound, or 0 when unbounded).</summary>
    public static void Clip(BoxSpace box, Span<float> action)
    {
        var lo = box.Low;
        var hi = box.High;
        for (var j = 0; j < action.Length; j++)
        {
            var v = action[j];
            if (float.IsNaN(v)) v = float.IsFinite(lo[j]) ? lo[j] : 0f;
            action[j] = Math.Clamp(v, lo[j], hi[j]);
        }
    }

    /// <summary>
    /// Sorts <paramref name="index"/>[0..count) by decreasing <paramref name="score"/>; equal scores keep their order
    /// (a stable insertion sort: candidate counts are small).
    /// </summary>
    public static void StableSortDescending(ReadOnlySpan<float> score, Span<int> index, int count)
    {
        for (var i = 1; i < count; i++)
        {
            var x = index[i];
            var s = score[x];
            var j = i - 1;
            while (j >= 0 && score[index[j]] < s) { index[j + 1] = index[j]; j--; }
            index[j + 1] = x;
        }
    }

    /// <summary>A <see cref="CandidatePredictions"/> for up to <paramref name="n"/> candidates of <paramref name="model"/>.</summary>
    public static CandidatePredictions Predictions(IInContextModel model, int n) => new(
        new float[n],
        new float[n * model.ObservationSize],
        model.HasReturnToGo ? new float[n] : null,
        new float[n * PolicySize(model)]);

    /// <summary>P, the policy parameters per observation: the action count, or 2·A for a box.</summary>
    public static int PolicySize(IInContextModel model) => model.ActionSpace switch
    {
        DiscreteSpace d => d.N,
        BoxSpace b => 2 * b.Size,
        var s => throw new InvalidOperationException($"Unsupported action space {s}."),
    };

    /// <summary>Checks the predictions of one Predict call for non-finite values.</summary>
    public static void CheckFinite(string planner, CandidatePredictions p, int count, int observationSize)
    {
        for (var i = 0; i < count; i++)
            if (!float.IsFinite(p.Rewards[i]))
                throw new InvalidOperationException($"{planner}: the model predicted a non-finite reward ({p.Rewards[i]}) for candidate {i}.");
        for (var i = 0; i < count * observationSize; i++)
            if (!float.IsFinite(p.NextStates[i]))
                throw new InvalidOperationException($"{planner}: the model predicted a non-finite next observation for candidate {i / observationSize}.");
    }
}
