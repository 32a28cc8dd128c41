using Dicp.Environments.MuJoCo;

namespace Dicp.Environments.MetaWorld;

/// <summary>
/// The Sawyer arm base of the Meta-World v2 tasks (<c>SawyerXYZEnv</c>) on MuJoCo 2.2.2: mocap position control of the
/// hand, a two-finger gripper, frame skip 5, the 39-d observation, the reset procedure and truncation at the horizon.
/// </summary>
/// <remarks>
/// <para>Action (4 floats in [−1, 1], clipped): the mocap target moves by <c>0.01 · a[0..3]</c> and is clipped to the
/// hand box (<see cref="HandLow"/>, <see cref="HandHigh"/>) with orientation (1, 0, 1, 0); the finger controls are
/// <c>(a[3], −a[3])</c> (1 closes). Each step runs 5 MuJoCo steps, then <c>mj_forward</c>.</para>
/// <para>Observation (39 floats): hand position (3), gripper opening <c>clip(|rightclaw − leftclaw| / 0.1, 0, 1)</c> (1),
/// object 1 position and quaternion (7), object 2 (7, zeros when the task has one object), then the same 18 values
/// of the previous step (equal to the current ones right after a reset), then the goal position (3; zeros when
/// partially observable). Step observations are clipped to <see cref="ObservationSpace"/> (hand box
/// (−0.525, 0.348, −0.0525)–(0.525, 1.025, 0.7)).</para>
/// <para>Reset: <c>mj_resetData</c>, then the task's reset (hand settled at (0, 0.6, 0.2) by 50 × 5 steps of mocap
/// control with the gripper open, objects and goal placed from the task's fixed random vector). The reset seed is
/// ignored: a task variation is deterministic. Rewards are in [0, 10]; <see cref="StepResult.Success"/> is the task's
/// success criterion at this step. If MuJoCo reports an instability warning the step returns the last stable
/// observation with reward 0 and no success, as Python does.</para>
/// <para>Every environment owns its model and data (tasks write model fields). Not thread-safe; dispose to free native memory.</para>
/// </remarks>
public abstract partial class SawyerEnvironment : IEnvironment, IDisposable
{
    /// <summary>The number of MuJoCo steps per environment step.</summary>
    public const int FrameSkip = 5;

    /// <summary>The mocap displacement of a unit action (metres).</summary>
    public const double ActionScale = 0.01;

    /// <summary>The observation length.</summary>
    public const int ObservationSize = 39;

    private static readonly double[] HandSpaceLow = [-0.525, 0.348, -0.0525];
    private static readonly double[] HandSpaceHigh = [0.525, 1.025, 0.7];
    private static readonly BoxSpace ActSpace = new([-1f, -1f, -1f, -1f], [1f, 1f, 1f, 1f]);

    private readonly double[] _randVec;
    private readonly double[] _current = new double[18];
    private readonly double[] _previous = new double[18];
    private readonly double[] _obs = new double[ObservationSize];
    private readonly double[] _lastStable = new double[ObservationSize];
    private readonly float[] _obsLow = new float[ObservationSize];
    private readonly float[] _obsHigh = new float[ObservationSize];
    private readonly int _handBody, _rightClaw, _leftClaw, _leftPad, _rightPad, _rightEff, _leftEff, _mocap;
    private int _steps;
    private bool _running;

    /// <summary>Loads the task's scene and prepares the arm.</summary>
    /// <param name="name">The Meta-World task name (e.g. <c>reach-v2</c>).</param>
    /// <param name="xmlName">The scene file under <c>assets_v2/sawyer_xyz</c>.</param>
    /// <param name="options">Asset folder, horizon, observability.</param>
    /// <param name="randVec">The task variation's random vector (object and goal placement).</param>
    /// <param name="randomLow">The lower bounds of the task's random reset space.</param>
    /// <param name="randomHigh">The upper bounds of the task's random reset space.</param>
    /// <param name="goalLow">The lower bounds of the goal space (observation bounds when fully observable).</param>
    /// <param name="goalHigh">The upper bounds of the goal space.</param>
    protected SawyerEnvironment(string name, string xmlName, MetaWorldOptions options, ReadOnlySpan<double> randVec,
        double[] randomLow, double[] randomHigh, double[] goalLow, double[] goalHigh)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (randVec.Length != randomLow.Length)
            throw new ArgumentException($"{name} needs a random vector of {randomLow.Length} values, got {randVec.Length}.", nameof(randVec));
        for (var i = 0; i < randVec.Length; i++)
        {
            if (!double.IsFinite(randVec[i]))
                throw new ArgumentException($"{name}: random vector value {i} is not finite.", nameof(randVec));
        }
        Name = name;
        Options = options;
        RandomLow = randomLow;
        RandomHigh = randomHigh;
        _randVec = randVec.ToArray();
        var file = options.SceneFile(xmlName);
        Model = MjModel.LoadShared(file);
        try
        {
            Data = new MjData(Model);
            _handBody = Model.BodyId("hand");
            _rightClaw = Model.BodyId("rightclaw");
            _leftClaw = Model.BodyId("leftclaw");
            _leftPad = Model.BodyId("leftpad");
            _rightPad = Model.BodyId("rightpad");
            _rightEff = Model.SiteId("rightEndEffector");
            _leftEff = Model.SiteId("leftEndEffector");
            _mocap = Model.BodyMocapId[Model.BodyId("mocap")];
            if (_mocap < 0) throw new MuJoCoException($"'{file}': body 'mocap' is not a mocap body.");
            ResetMocapWelds();
            Data.Forward();
            InitLeftPad = BodyPos(_leftPad);
            InitRightPad = BodyPos(_rightPad);
        }
        catch
        {
            Dispose();
            throw;
        }
        BuildObservationBounds(goalLow, goalHigh);
        ObservationSpace = new BoxSpace(_obsLow, _obsHigh);
    }

    /// <summary>The Meta-World task name (e.g. <c>reach-v2</c>).</summary>
    public string Name { get; }

    /// <summary>The options the environment was created with.</summary>
    public MetaWorldOptions Options { get; }

    /// <summary>The MuJoCo model (owned by this environment).</summary>
    public MjModel Model { get; }

    /// <summary>The MuJoCo data (owned by this environment).</summary>
    public MjData Data { get; } = null!;

    /// <summary>The task variation's random vector (object/goal placement), as in Python's <c>_last_rand_vec</c>.</summary>
    public ReadOnlySpan<double> RandVec => _randVec;

    /// <summary>The lower bounds of the task's random reset space.</summary>
    public IReadOnlyList<double> RandomLow { get; }

    /// <summary>The upper bounds of the task's random reset space.</summary>
    public IReadOnlyList<double> RandomHigh { get; }

    /// <summary>The 39-d observation box (see the class remarks).</summary>
    public Space ObservationSpace { get; }

    /// <summary>The box [−1, 1]⁴ (larger actions are clipped).</summary>
    public Space ActionSpace => ActSpace;

    /// <inheritdoc/>
    public int MaxEpisodeSteps => Options.Horizon;

    /// <summary>The steps taken in the current episode.</summary>
    public int StepCount => _steps;

    /// <summary>The lower corner of the hand (mocap) box: (−0.5, 0.40, 0.05) for the v2 tasks here.</summary>
    public virtual Vec3 HandLow => new(-0.5, 0.40, 0.05);

    /// <summary>The upper corner of the hand (mocap) box: (0.5, 1.0, 0.5).</summary>
    public virtual Vec3 HandHigh => new(0.5, 1.0, 0.5);

    /// <summary>The hand position the reset settles to: (0, 0.6, 0.2).</summary>
    public virtual Vec3 HandInitPos => new(0.0, 0.6, 0.2);

    /// <summary>The goal (target) position of the current variation (set by the reset).</summary>
    public Vec3 TargetPos { get; protected set; }

    /// <summary>The object's initial position of the current episode (Python's <c>obj_init_pos</c>).</summary>
    public Vec3 ObjInitPos { get; protected set; }

    /// <summary>The gripper's centre (mean of the two end-effector sites) after the hand reset (<c>init_tcp</c>).</summary>
    public Vec3 InitTcp { get; protected set; }

    /// <summary>The left pad position used by the caging rewards (<c>init_left_pad</c>).</summary>
    public Vec3 InitLeftPad { get; protected set; }

    /// <summary>The right pad position used by the caging rewards (<c>init_right_pad</c>).</summary>
    public Vec3 InitRightPad { get; protected set; }

    /// <summary>The centre between the two fingertips (<c>tcp_center</c>).</summary>
    public Vec3 TcpCenter => (SitePos(_rightEff) + SitePos(_leftEff)) * 0.5;

    /// <summary>The first object's position as it appears in the observation (dims 4–6, unclipped).</summary>
    public Vec3 ObjectPosition
    {
        get
        {
            Span<double> poses = stackalloc double[14];
            ObjectPoses(poses);
            return Vec3.From(poses);
        }
    }

    /// <summary>The gripper opening as observed (dim 3): <c>clip(|rightclaw − leftclaw| / 0.1, 0, 1)</c>.</summary>
    public double GripperOpening => Math.Clamp((BodyPos(_rightClaw) - BodyPos(_leftClaw)).Norm() / 0.1, 0.0, 1.0);

    /// <summary>The mocap target of the hand (moved by the actions).</summary>
    public Vec3 MocapPosition => Vec3.From(Data.MocapPos, _mocap * 3);

    /// <summary>The hand body position (<c>get_endeff_pos</c>).</summary>
    public Vec3 HandPos => BodyPos(_handBody);

    /// <summary>The left pad body position.</summary>
    public Vec3 LeftPad => BodyPos(_leftPad);

    /// <summary>The right pad body position.</summary>
    public Vec3 RightPad => BodyPos(_rightPad);

    /// <summary>Whether the last step saw a MuJoCo instability (Python's <c>_did_see_sim_exception</c>).</summary>
    public bool SawInstability { get; private set; }

    /// <inheritdoc/>
    public void Reset(int seed, Span<float> observation)
    {
        CheckObservation(observation);
        Data.Reset();
        SawInstability = false;
        _steps = 0;
        ResetModel();
        CurrentFrame(_current);
        _current.CopyTo(_previous, 0);
        ComposeObservation();
        _obs.CopyTo(_lastStable, 0);
        for (var i = 0; i < ObservationSize; i++) observation[i] = (float)_obs[i];
        _running = true;
    }

    /// <inheritdoc/>
    public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
    {
        if (action.Length != 4) throw new ArgumentException($"A {Name} action is 4 floats (dx, dy, dz, grip), got {action.Length}.", nameof(action));
        for (var i = 0; i < 4; i++)
        {
            if (float.IsNaN(action[i])) throw new ArgumentException($"A {Name} action must not contain NaN (component {i}).", nameof(action));
        }
        CheckObservation(nextObservation);
        if (!_running)
            throw new InvalidOperationException(_steps >= MaxEpisodeSteps
                ? $"The {Name} episode ended at the horizon ({MaxEpisodeSteps} steps); call Reset."
                : $"Call Reset before stepping {Name}.");
        Span<double> a = stackalloc double[4];
        for (var i = 0; i < 4; i++) a[i] = Math.Clamp(action[i], -1f, 1f);
        var mocapPos = Data.MocapPos.Slice(_mocap * 3, 3);
        var low = HandLow;
        var high = HandHigh;
        mocapPos[0] = Math.Clamp(mocapPos[0] + a[0] * ActionScale, low.X, high.X);
        mocapPos[1] = Math.Clamp(mocapPos[1] + a[1] * ActionScale, low.Y, high.Y);
        mocapPos[2] = Math.Clamp(mocapPos[2] + a[2] * ActionScale, low.Z, high.Z);
        SetMocapQuat();
        var ctrl = Data.Ctrl;
        ctrl[0] = a[3];
        ctrl[1] = -a[3];
        var warningsBefore = Data.WarningCount;
        Data.Step(FrameSkip);
        _steps++;
        var truncated = _steps >= MaxEpisodeSteps;
        if (truncated) _running = false;
        if (SawInstability || Data.WarningCount > warningsBefore)
        {
            SawInstability = true;
            for (var i = 0; i < ObservationSize; i++) nextObservation[i] = (float)_lastStable[i];
            return new StepResult(0f, false, truncated, false);
        }
        Data.Forward();
        CurrentFrame(_current);
        ComposeObservation();
        for (var i = 0; i < ObservationSize; i++) _obs[i] = Math.Clamp(_obs[i], _obsLow[i], _obsHigh[i]);
        _obs.CopyTo(_lastStable, 0);
        var (reward, success) = Evaluate(_obs, a);
        for (var i = 0; i < ObservationSize; i++) nextObservation[i] = (float)_obs[i];
        return new StepResult((float)reward, false, truncated, success);
    }

    /// <summary>The task's reset (<c>reset_model</c>): settle the hand, place objects and goal from <see cref="RandVec"/>.</summary>
    protected abstract void ResetModel();

    /// <summary>The task's reward (in [0, 10]) and success flag for the (clipped) observation and action.</summary>
    protected abstract (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action);

    /// <summary>Writes the object poses (position then quaternion, per object) into <paramref name="destination"/> (14 values, zero-padded).</summary>
    protected abstract void ObjectPoses(Span<double> destination);

    /// <summary>Frees the native model and data.</summary>
    public void Dispose()
    {
        Data?.Dispose();
        Model?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}(horizon={MaxEpisodeSteps}, randVec=[{string.Join(", ", _randVec)}])";

    private void CurrentFrame(Span<double> frame)
    {
        HandPos.CopyTo(frame, 0);
        frame[3] = GripperOpening;
        frame[4..].Clear();
        ObjectPoses(frame[4..]);
    }

    private void ComposeObservation()
    {
        _current.CopyTo(_obs, 0);
        _previous.CopyTo(_obs, 18);
        if (Options.PartiallyObservable) _obs.AsSpan(36).Clear();
        else TargetPos.CopyTo(_obs, 36);
        _current.CopyTo(_previous, 0);
    }

    private void BuildObservationBounds(double[] goalLow, double[] goalHigh)
    {
        for (var f = 0; f < 2; f++)
        {
            var o = f * 18;
            for (var i = 0; i < 3; i++) (_obsLow[o + i], _obsHigh[o + i]) = ((float)HandSpaceLow[i], (float)HandSpaceHigh[i]);
            (_obsLow[o + 3], _obsHigh[o + 3]) = (-1f, 1f);
            for (var i = 4; i < 18; i++) (_obsLow[o + i], _obsHigh[o + i]) = (float.NegativeInfinity, float.PositiveInfinity);
        }
        for (var i = 0; i < 3; i++)
        {
            (_obsLow[36 + i], _obsHigh[36 + i]) = Options.PartiallyObservable ? (0f, 0f) : ((float)goalLow[i], (float)goalHigh[i]);
        }
    }

    private void CheckObservation(Span<float> observation)
    {
        if (observation.Length != ObservationSize)
            throw new ArgumentException($"A {Name} observation is {ObservationSize} floats, got a buffer of {observation.Length}.", nameof(observation));
    }
}
