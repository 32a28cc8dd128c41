using Dicp.Models;
using Dicp.Planning;

namespace Dicp.Evaluation;

/// <summary>Settings of an <see cref="InContextAgent"/>.</summary>
/// <param name="MaxEpisodeSteps">Per environment, the steps of a full episode (its truncation horizon), which limit the
/// planning depth near an episode's end; null: unknown (planners plan to their full horizon).</param>
/// <param name="TargetReturns">Return-conditioned models (IDT): the return-to-go of each environment at every episode
/// start (the task's max return for grid worlds, 10 × horizon for continuous tasks, as the reference). Required by IDT;
/// ignored by AD and DPT.</param>
/// <param name="Seed">Seeds the session's own sampling (IDT's latent decisions); the planner has its own seed.</param>
/// <param name="ImaginationReserve">The session's <see cref="SessionOptions.ImaginationReserve"/> (default 0: the whole window).</param>
public sealed record AgentOptions(IReadOnlyList<int>? MaxEpisodeSteps = null, IReadOnlyList<float>? TargetReturns = null, int Seed = 0,
    int ImaginationReserve = 0);

/// <summary>
/// An in-context agent for a loop of one's own: <see cref="Act(ReadOnlySpan{float})"/> takes the current observation
/// and returns the action (from the planner over the model's context), <see cref="Observe(float, ReadOnlySpan{float}, bool)"/>
/// appends the transition that followed to the context. Episodes follow each other in one context, as in-context
/// evaluation plays them; nothing is cleared at an episode's end.
/// </summary>
/// <remarks>
/// <para>E environments may be stepped together (row-major buffers: observations (E, O), actions (E, A)); the
/// single-environment overloads are for E = 1. Observations are the environment's (<see cref="IInContextModel.InputObservationSize"/>
/// floats); the agent hands the model the first <see cref="IInContextModel.ObservationSize"/> of them.</para>
/// <para>Give <see cref="Observe(float, ReadOnlySpan{float}, bool)"/> the true next observation also at an episode's end
/// (the terminal one, not the next episode's first), then act on the next episode's first observation.
/// <see cref="InContextEvaluator"/> plays its episodes through this class. Not thread-safe; acting allocates nothing
/// after the first step.</para>
/// <code>
/// var agent = new InContextAgent(model, Planners.Create(new PlannerConfig("beam"), model), options: new AgentOptions([env.MaxEpisodeSteps]));
/// env.Reset(seed, obs);
/// for (var t = 0; t &lt; steps; t++)
/// {
///     var action = agent.Act(obs);
///     var r = env.Step(action, next);
///     agent.Observe(r.Reward, next, r.Done);
///     if (r.Done) env.Reset(++seed, obs); else next.CopyTo(obs);
/// }
/// </code>
/// </remarks>
public sealed class InContextAgent
{
    private readonly int[] _maxSteps, _episodeSteps, _stepsLeft;
    private readonly float[] _observations, _actions, _next, _rewards;
    private readonly bool[] _dones;
    private readonly PlanRequest _request;
    private bool _acted;

    /// <summary>Opens the contexts of <paramref name="environments"/> environments.</summary>
    /// <param name="model">The in-context model.</param>
    /// <param name="planner">Chooses the actions (e.g. from <c>Planners.Create</c> of the planning package).</param>
    /// <param name="environments">E, the environments stepped together (at least 1).</param>
    /// <param name="options">Episode lengths, IDT's target returns and the session's seed.</param>
    /// <exception cref="ArgumentException">A per-environment list does not hold E entries, or an episode length is not positive.</exception>
    public InContextAgent(IInContextModel model, IPlanner planner, int environments = 1, AgentOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(planner);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(environments);
        options ??= new AgentOptions();
        if (options.MaxEpisodeSteps is { } m && (m.Count != environments || m.Any(x => x < 1)))
            throw new ArgumentException($"AgentOptions.MaxEpisodeSteps must hold {environments} positive lengths, got [{string.Join(", ", m)}].", nameof(options));
        (Model, Planner, Environments, Options) = (model, planner, environments, options);
        Session = model.CreateSession(environments, SessionOptions.Default with
        {
            TargetReturns = options.TargetReturns, Seed = options.Seed, ImaginationReserve = options.ImaginationReserve,
        });
        ActionSize = model.ActionSpace.Size;
        int o = model.ObservationSize;
        _maxSteps = options.MaxEpisodeSteps?.ToArray() ?? Enumerable.Repeat(int.MaxValue, environments).ToArray();
        (_episodeSteps, _stepsLeft) = (new int[environments], new int[environments]);
        (_observations, _next) = (new float[environments * o], new float[environments * o]);
        (_actions, _rewards, _dones) = (new float[environments * ActionSize], new float[environments], new bool[environments]);
        _request = new PlanRequest(_observations, _episodeSteps, _stepsLeft);
    }

    /// <summary>The model.</summary>
    public IInContextModel Model { get; }

    /// <summary>The planner.</summary>
    public IPlanner Planner { get; }

    /// <summary>The contexts (real transitions so far).</summary>
    public IInContextSession Session { get; }

    /// <summary>E, the environments.</summary>
    public int Environments { get; }

    /// <summary>The settings.</summary>
    public AgentOptions Options { get; }

    /// <summary>A, the floats per action (1 for a discrete action, which holds its index).</summary>
    public int ActionSize { get; }

    /// <summary>Per environment, the steps taken in its current episode.</summary>
    public ReadOnlySpan<int> EpisodeSteps => _episodeSteps;

    /// <summary>
    /// When set, every <see cref="Act(ReadOnlySpan{float}, Span{float})"/> hands it to the planner, which fills in the
    /// best imagined path of each environment that planned (null, the default: no trace; the actions are the same
    /// either way).
    /// </summary>
    public PlanTrace? Trace { get; set; }

    /// <summary>The action for one environment's observation (E = 1); a new array.</summary>
    public float[] Act(ReadOnlySpan<float> observation)
    {
        var action = new float[Environments * ActionSize];
        Act(observation, action);
        return action;
    }

    /// <summary>Chooses the actions for the current observations.</summary>
    /// <param name="observations">(E, O') the environments' observations (O' = <see cref="IInContextModel.InputObservationSize"/>).</param>
    /// <param name="actions">Receives (E, A) the actions.</param>
    /// <exception cref="ArgumentException">A buffer has the wrong length.</exception>
    /// <exception cref="InvalidOperationException">The previous actions have not been followed by <see cref="Observe(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{bool})"/>.</exception>
    public void Act(ReadOnlySpan<float> observations, Span<float> actions)
    {
        if (_acted) throw new InvalidOperationException("InContextAgent.Act was called twice; call Observe with the outcome of the previous actions first.");
        Check(actions.Length, Environments * ActionSize, nameof(actions));
        Select(observations, _observations, nameof(observations));
        for (var i = 0; i < Environments; i++) _stepsLeft[i] = Math.Max(1, _maxSteps[i] - _episodeSteps[i]);
        Planner.Plan(Session, _request, _actions, Trace);
        _actions.CopyTo(actions);
        _acted = true;
    }

    /// <summary>Appends the transition that followed <see cref="Act(ReadOnlySpan{float})"/> (E = 1).</summary>
    /// <param name="reward">The reward received.</param>
    /// <param name="nextObservation">The true next observation (the terminal one when the episode ended).</param>
    /// <param name="done">Whether the episode ended (terminated or truncated).</param>
    public void Observe(float reward, ReadOnlySpan<float> nextObservation, bool done) =>
        Observe([reward], nextObservation, [done]);

    /// <summary>Appends the transitions that followed the last actions to the contexts.</summary>
    /// <param name="rewards">(E) the rewards.</param>
    /// <param name="nextObservations">(E, O') the true next observations (terminal ones where an episode ended).</param>
    /// <param name="dones">(E) whether each episode ended.</param>
    /// <exception cref="ArgumentException">A buffer has the wrong length.</exception>
    /// <exception cref="InvalidOperationException">No actions were chosen since the last call.</exception>
    public void Observe(ReadOnlySpan<float> rewards, ReadOnlySpan<float> nextObservations, ReadOnlySpan<bool> dones)
    {
        if (!_acted) throw new InvalidOperationException("InContextAgent.Observe needs a preceding Act.");
        Check(rewards.Length, Environments, nameof(rewards));
        Check(dones.Length, Environments, nameof(dones));
        Select(nextObservations, _next, nameof(nextObservations));
        rewards.CopyTo(_rewards);
        dones.CopyTo(_dones);
        Session.Append(_observations, _actions, _rewards, _next, _dones);
        for (var i = 0; i < Environments; i++) _episodeSteps[i] = dones[i] ? 0 : _episodeSteps[i] + 1;
        _acted = false;
    }

    /// <summary>Empties the contexts and starts every environment's episode count afresh.</summary>
    public void Reset()
    {
        Session.Reset();
        Array.Clear(_episodeSteps);
        _acted = false;
    }

    /// <summary>Copies the model's floats of each observation (the first O of O').</summary>
    private void Select(ReadOnlySpan<float> source, Span<float> target, string name)
    {
        Check(source.Length, Environments * Model.InputObservationSize, name);
        Dicp.Environments.ObservationPrefixEnvironment.SelectRows(source, Model.InputObservationSize, Model.ObservationSize, target);
    }

    private void Check(int actual, int expected, string name)
    {
        if (actual != expected)
            throw new ArgumentException($"InContextAgent: {name} has {actual} values, expected {expected} ({Environments} environment(s)).", name);
    }
}
