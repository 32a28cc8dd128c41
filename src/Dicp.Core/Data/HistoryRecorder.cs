using Dicp.Rl;

namespace Dicp.Data;

/// <summary>
/// Fills a <see cref="TaskHistory"/> step by step from <see cref="Transition"/>s (pass <see cref="Record"/> as the
/// <see cref="TransitionHandler"/> of <see cref="LockstepRunner.Run"/>).
/// </summary>
public sealed class HistoryRecorder
{
    private readonly TaskHistoryInfo _info;
    private readonly int _obs, _act, _s, _t;
    private readonly float[] _states, _actions, _rewards, _next;
    private readonly byte[] _dones;
    private readonly int[]? _optimal;
    private int _recorded;

    /// <summary>Allocates the arrays for <c>info.Streams × info.StepsPerStream</c> transitions.</summary>
    /// <param name="info">The description written with the history.</param>
    /// <param name="observationSize">Floats per observation.</param>
    /// <param name="actionSize">Floats per action.</param>
    /// <param name="recordOptimalActions">Whether transitions carry optimal actions (they then must).</param>
    public HistoryRecorder(TaskHistoryInfo info, int observationSize, int actionSize, bool recordOptimalActions)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(info.Streams);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(info.StepsPerStream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(observationSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(actionSize);
        (_info, _obs, _act, _s, _t) = (info, observationSize, actionSize, info.Streams, info.StepsPerStream);
        var n = checked(_s * _t);
        _states = new float[checked(n * _obs)];
        _actions = new float[checked(n * _act)];
        _rewards = new float[n];
        _next = new float[checked(n * _obs)];
        _dones = new byte[n];
        _optimal = recordOptimalActions ? new int[n] : null;
    }

    /// <summary>The number of steps recorded so far.</summary>
    public int RecordedSteps => _recorded;

    /// <summary>Whether every step has been recorded.</summary>
    public bool IsComplete => _recorded == _t;

    /// <summary>Stores the next step of every stream (steps must arrive in order 0, 1, …).</summary>
    /// <exception cref="ArgumentException">The step is out of order or a buffer has the wrong size.</exception>
    public void Record(in Transition transition)
    {
        if (transition.Step != _recorded || _recorded >= _t)
            throw new ArgumentException($"HistoryRecorder expected step {_recorded} of {_t}, got step {transition.Step}.", nameof(transition));
        if (transition.States.Length != _s * _obs || transition.NextStates.Length != _s * _obs || transition.Actions.Length != _s * _act
            || transition.Rewards.Length != _s || transition.Dones.Length != _s)
            throw new ArgumentException($"HistoryRecorder: the transition does not fit {_s} streams with observation size {_obs} and action size {_act}.", nameof(transition));
        if (_optimal is not null && transition.OptimalActions.Length != _s)
            throw new ArgumentException($"HistoryRecorder records optimal actions, but the transition carries {transition.OptimalActions.Length} for {_s} streams.", nameof(transition));
        var t = _recorded;
        for (var s = 0; s < _s; s++)
        {
            var k = s * _t + t;
            transition.States.Slice(s * _obs, _obs).CopyTo(_states.AsSpan(k * _obs));
            transition.NextStates.Slice(s * _obs, _obs).CopyTo(_next.AsSpan(k * _obs));
            transition.Actions.Slice(s * _act, _act).CopyTo(_actions.AsSpan(k * _act));
            _rewards[k] = transition.Rewards[s];
            _dones[k] = transition.Dones[s] ? (byte)1 : (byte)0;
            if (_optimal is not null) _optimal[k] = transition.OptimalActions[s];
        }
        _recorded++;
    }

    /// <summary>The recorded history (sharing this recorder's arrays).</summary>
    /// <exception cref="InvalidOperationException">Not every step has been recorded.</exception>
    public TaskHistory ToHistory()
    {
        if (!IsComplete) throw new InvalidOperationException($"HistoryRecorder holds {_recorded} of {_t} steps.");
        return new TaskHistory(_info, _obs, _act, _states, _actions, _rewards, _next, _dones, _optimal);
    }
}
