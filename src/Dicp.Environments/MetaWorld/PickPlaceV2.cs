namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>pick-place-v2</c>: grasp a puck and carry it to a goal in the air.</summary>
/// <remarks>
/// Random vector (6): object in (−0.1, 0.6, 0.02)–(0.1, 0.7, 0.02), goal in (−0.1, 0.8, 0.05)–(0.1, 0.9, 0.3); valid
/// when their x–y distance is at least 0.15. Reward: <c>hamacher(pad caging, in_place)</c>, <c>+ 1 + 5·in_place</c>
/// when the gripper centre is within 0.02 of the puck, the gripper open (obs[3] &gt; 0) and the puck lifted by 0.01,
/// 10 once the puck is within 0.05 of the goal; success when <c>|puck − goal| ≤ 0.07</c>. The initial pad positions
/// of the caging reward are taken after the hand reset. Scene <c>sawyer_pick_place_v2.xml</c>.
/// </remarks>
public sealed class PickPlaceV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (object xyz, goal xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.6, 0.02, -0.1, 0.8, 0.05];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.7, 0.02, 0.1, 0.9, 0.3];

    private readonly int _obj, _objGeom;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    /// <exception cref="ArgumentException">The vector has the wrong length or fails the task's placement check.</exception>
    public PickPlaceV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("pick-place-v2", "sawyer_pick_place_v2.xml", options, randVec, Low, High, [-0.1, 0.8, 0.05], [0.1, 0.9, 0.3])
    {
        if (!ReachV2.IsValid(randVec)) throw new ArgumentException("pick-place-v2: object and goal are closer than 0.15 in x-y (Meta-World would resample).", nameof(randVec));
        _obj = Model.BodyId("obj");
        _objGeom = Model.GeomId("objGeom");
    }

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        var v = RandVec;
        TargetPos = Vec3.From(v, 3);
        ObjInitPos = Vec3.From(v, 0);
        InitTcp = TcpCenter;
        InitLeftPad = LeftPad;
        InitRightPad = RightPad;
        SetObjXyz(ObjInitPos);
        SetModelSitePos("goal", TargetPos);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var obj = Vec3.From(obs, 4);
        var tcpOpened = obs[3];
        var objToTarget = (obj - TargetPos).Norm();
        var tcpToObj = (obj - TcpCenter).Norm();
        var margin = (ObjInitPos - TargetPos).Norm();
        var inPlace = RewardUtils.Tolerance(objToTarget, 0, 0.05, margin);
        var grasped = PadCagingReward(action, obj, objRadius: 0.015, sweepStyle: false);
        var reward = RewardUtils.HamacherProduct(grasped, inPlace);
        if (tcpToObj < 0.02 && tcpOpened > 0 && obj.Z - 0.01 > ObjInitPos.Z) reward += 1 + 5 * inPlace;
        if (objToTarget < 0.05) reward = 10;
        return (reward, objToTarget <= 0.07);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination) => GeomPose(_obj, _objGeom, destination);
}
