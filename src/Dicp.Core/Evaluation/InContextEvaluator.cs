using Dicp.Environments;
using Dicp.Models;
using Dicp.Planning;

namespace Dicp.Evaluation;

/// <summary>Settings of an in-context evaluation.</summary>
/// <param name="Episodes">Episodes per task, played back to back in one context (reference: 50; 100 with planning).</param>
/// <param name="Seed">Seeds the environments' resets (task <c>i</c>'s <c>e</c>-th episode uses <c>Seed + e·E + i</c>).</param>
/// <param name="ReportSuccess">Record per-episode success flags (tasks that define success, e.g. Point-Robot, Meta-World).</param>
/// <param name="ImaginationReserve">The session's <see cref="SessionOptions.ImaginationReserve"/> (default 0: the whole window).</param>
public sealed record EvaluationOptions(int Episodes = 50, int Seed = 0, bool ReportSuccess = false, int ImaginationReserve = 0);

/// <summary>Reported each time every task has finished one more episode.</summary>
/// <param name="Episode">The episode index just completed by all tasks (0-based).</param>
/// <param name="Episodes">Episodes per task in total.</param>
/// <param name="MeanReturn">The return of that episode averaged over tasks.</param>
/// <param name="SuccessRate">The fraction of tasks whose episode succeeded, when success is reported.</param>
public sealed record EvaluationProgress(int Episode, int Episodes, double MeanReturn, double? SuccessRate);

/// <summary>
/// In-context evaluation: one context per task, all tasks stepped in lock-step, episodes back to back (the context is
/// never cleared between episodes; the model's window slides), actions from an <see cref="IPlanner"/>, and the real
/// transitions (true next observation, also at episode ends) appended after every step.
/// </summary>
/// <remarks>
/// Tasks whose episodes end earlier keep playing (their extra episodes are not recorded) until every task has
/// finished <see cref="EvaluationOptions.Episodes"/> episodes.
/// </remarks>
public static class InContextEvaluator
{
    /// <summary>Evaluates <paramref name="model"/> on <paramref name="environments"/> (one per task, distinct instances).</summary>
    /// <param name="model">The in-context model.</param>
    /// <param name="environments">One environment per task.</param>
    /// <param name="planner">Chooses the actions (the Dicp.Planning package's policy planner for the plain policy).</param>
    /// <param name="options">Episodes and seed.</param>
    /// <param name="progress">Receives one report per completed episode index.</param>
    /// <param name="cancellationToken">Stops between steps.</param>
    /// <param name="stepObserver">When given, receives every environment step of the recorded episodes (not the extra
    /// ones of tasks that finish early), environment by environment, with the planner's best imagined path; the
    /// evaluation's actions and returns are the same with or without it.</param>
    /// <exception cref="ArgumentException">The environments do not match the model's observation size or action space.</exception>
    /// <exception cref="OperationCanceledException">The evaluation was cancelled.</exception>
    public static EvaluationResult Run(IInContextModel model, IReadOnlyList<IEnvironment> environments, IPlanner planner,
        EvaluationOptions? options = null, IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default,
        Action<EvaluationStep>? stepObserver = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(environments);
        ArgumentNullException.ThrowIfNull(planner);
        options ??= new EvaluationOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Episodes, nameof(options));
        CheckCompatible(model, environments);
        // Return-conditioned models (IDT) start each episode at the task's max return, or 10 × horizon without one.
        var targets = environments.Select(env => env is IHasMaxReturn m ? m.MaxReturn : 10f * env.MaxEpisodeSteps).ToArray();
        var vec = new VectorEnvironment(environments);
        int n = vec.Count, o = vec.ObservationSize, a = vec.ActionSize, episodes = options.Episodes;
        float[] obs = new float[n * o], next = new float[n * o], final = new float[n * o], actions = new float[n * a], rewards = new float[n];
        var dones = new bool[n];
        var results = new StepResult[n];
        var completed = new int[n];
        var running = new float[n];
        var succeeded = new bool[n];
        var returns = new float[n][];
        var successes = options.ReportSuccess ? new bool[n][] : null;
        for (var i = 0; i < n; i++)
        {
            returns[i] = new float[episodes];
            if (successes is not null) successes[i] = new bool[episodes];
        }

        vec.Reset(options.Seed, obs);
        // The agent keeps the contexts, hands the model its observation floats (ModelConfig.SourceObservationSize) and
        // limits the planning depth by each episode's steps left.
        var agent = new InContextAgent(model, planner, n, new AgentOptions([.. environments.Select(env => env.MaxEpisodeSteps)], targets, options.Seed, options.ImaginationReserve));
        if (stepObserver is not null) agent.Trace = new PlanTrace();
        var reported = 0;
        long steps = 0;
        while (reported < episodes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            agent.Act(obs, actions);
            vec.Step(actions, next, rewards, dones, final, results);
            if (stepObserver is not null) // before Observe, the agent's EpisodeSteps is this step's index
                for (var i = 0; i < n; i++)
                    if (completed[i] < episodes) Observe(stepObserver, agent.Trace!, i, completed[i], agent.EpisodeSteps[i], o, a, obs, actions, rewards, final, dones);
            agent.Observe(rewards, final, dones);
            steps++;
            for (var i = 0; i < n; i++)
            {
                running[i] += rewards[i];
                succeeded[i] |= results[i].Success;
                if (!dones[i]) continue;
                if (completed[i] < episodes)
                {
                    returns[i][completed[i]] = running[i];
                    if (successes is not null) successes[i][completed[i]] = succeeded[i];
                }
                completed[i]++;
                (running[i], succeeded[i]) = (0f, false);
            }
            next.AsSpan().CopyTo(obs);
            var all = Math.Min(episodes, completed.Min());
            for (; reported < all; reported++)
            {
                var k = reported;
                progress?.Report(new EvaluationProgress(k, episodes, returns.Average(r => (double)r[k]),
                    successes?.Average(s => s[k] ? 1.0 : 0.0)));
            }
        }
        return new EvaluationResult(model.Name, planner.Name, planner.Settings, returns, successes, steps, options);
    }

    /// <summary>Hands environment <paramref name="i"/>'s step to the observer (copies: the buffers are reused).</summary>
    private static void Observe(Action<EvaluationStep> observer, PlanTrace trace, int i, int episode, int step, int o, int a,
        float[] obs, float[] actions, float[] rewards, float[] final, bool[] dones)
    {
        var planned = i < trace.Planned.Count && trace.Planned[i];
        observer(new EvaluationStep(i, episode, step, obs.AsSpan(i * o, o).ToArray(), actions.AsSpan(i * a, a).ToArray(), rewards[i],
            final.AsSpan(i * o, o).ToArray(), dones[i], planned, planned ? [.. trace.Actions[i]] : [], planned ? [.. trace.PredictedRewards[i]] : []));
    }

    private static void CheckCompatible(IInContextModel model, IReadOnlyList<IEnvironment> environments)
    {
        if (environments.Count == 0) throw new ArgumentException("In-context evaluation needs at least one environment.", nameof(environments));
        for (var i = 0; i < environments.Count; i++)
        {
            var env = environments[i] ?? throw new ArgumentException($"Environment {i} is null.", nameof(environments));
            if (env.ObservationSpace.Size != model.InputObservationSize)
                throw new ArgumentException(model.InputObservationSize == model.ObservationSize
                    ? $"Environment {i} has {env.ObservationSpace.Size} floats per observation, model '{model.Name}' expects {model.ObservationSize} (model.observation_size; set model.source_observation_size: {env.ObservationSpace.Size} to read the first {model.ObservationSize})."
                    : $"Environment {i} has {env.ObservationSpace.Size} floats per observation, but model '{model.Name}' selects the first {model.ObservationSize} of {model.InputObservationSize} (model.source_observation_size: {model.InputObservationSize}).", nameof(environments));
            var ok = (env.ActionSpace, model.ActionSpace) switch
            {
                (DiscreteSpace x, DiscreteSpace y) => x.N == y.N,
                (BoxSpace x, BoxSpace y) => x.Size == y.Size,
                _ => false,
            };
            if (!ok) throw new ArgumentException($"Environment {i} has action space {env.ActionSpace}, model '{model.Name}' acts in {model.ActionSpace}.", nameof(environments));
        }
    }
}
