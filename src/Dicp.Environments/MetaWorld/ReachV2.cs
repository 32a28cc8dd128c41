namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>reach-v2</c>: move the gripper centre to a goal in the air.</summary>
/// <remarks>
/// Random vector (6): object position in (−0.1, 0.6, 0.02)–(0.1, 0.7, 0.02), goal in (−0.1, 0.8, 0.05)–(0.1, 0.9, 0.3);
/// valid when their x–y distance is at least 0.15. Reward <c>10 · tolerance(|tcp − goal|, (0, 0.05), margin =
/// |hand_init − goal|, long tail)</c>; success when <c>|tcp − goal| ≤ 0.05</c>. Scene <c>sawyer_reach_v2.xml</c>.
/// </remarks>
public sealed class ReachV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (object xyz, goal xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.6, 0.02, -0.1, 0.8, 0.05];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.7, 0.02, 0.1, 0.9, 0.3];

    private readonly int _obj, _objGeom;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    /// <exception cref="ArgumentException">The vector has the wrong length or fails the task's placement check.</exception>
    public ReachV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("reach-v2", "sawyer_reach_v2.xml", options, randVec, Low, High, [-0.1, 0.8, 0.05], [0.1, 0.9, 0.3])
    {
        if (!IsValid(randVec)) throw new ArgumentException("reach-v2: object and goal are closer than 0.15 in x-y (Meta-World would resample).", nameof(randVec));
        _obj = Model.BodyId("obj");
        _objGeom = Model.GeomId("objGeom");
    }

    /// <summary>The placement check of the reset: object and goal at least 0.15 apart in x–y.</summary>
    public static bool IsValid(ReadOnlySpan<double> v) => Math.Sqrt((v[0] - v[3]) * (v[0] - v[3]) + (v[1] - v[4]) * (v[1] - v[4])) >= 0.15;

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        var v = RandVec;
        TargetPos = Vec3.From(v, 3);
        ObjInitPos = Vec3.From(v, 0);
        SetObjXyz(ObjInitPos);
        SetModelSitePos("goal", TargetPos);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var tcpToTarget = (TcpCenter - TargetPos).Norm();
        var margin = (HandInitPos - TargetPos).Norm();
        var inPlace = RewardUtils.Tolerance(tcpToTarget, 0, 0.05, margin);
        return (10 * inPlace, tcpToTarget <= 0.05);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination) => GeomPose(_obj, _objGeom, destination);
}
