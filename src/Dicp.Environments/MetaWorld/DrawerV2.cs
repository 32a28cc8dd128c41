namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>drawer-close-v2</c> (ML10 train): push an open drawer shut.</summary>
/// <remarks>
/// Random vector (3): the drawer body position in (−0.1, 0.9, 0)–(0.1, 0.9, 0) (written into the model); the drawer
/// starts open by 0.15; goal = drawer + (0, −0.16, 0.09). Object pose: the handle point
/// <c>drawer_link + (0, −0.16, 0.05)</c> and a zero quaternion. Reward
/// <c>10 · hamacher(hamacher(reach(Gaussian), gripper effort), in_place)</c>, 10 once the handle is within 0.065 of
/// the goal (base <c>TARGET_RADIUS</c> 0.05 + 0.015; Python's class constant 0.04 is unused), which is also the
/// success criterion. Scene <c>sawyer_drawer.xml</c>.
/// </remarks>
public sealed class DrawerCloseV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (drawer xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.9, 0.0];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.9, 0.0];

    private const double TargetRadius = 0.05;
    private readonly int _drawer, _link;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    public DrawerCloseV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("drawer-close-v2", "sawyer_drawer.xml", options, randVec, Low, High, [-0.5, 0.40, 0.05], [0.5, 1.0, 0.5])
    {
        _drawer = Model.BodyId("drawer");
        _link = Model.BodyId("drawer_link");
    }

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        var pos = Vec3.From(RandVec);
        pos.CopyTo(Model.BodyPos, _drawer * 3);
        TargetPos = pos + new Vec3(0, -0.16, 0.09);
        Data.QPos[9] = -0.15; // pull the drawer out all the way
        Data.Forward();
        ObjInitPos = ObjectPosition;
        SetModelSitePos("goal", TargetPos);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var obj = Vec3.From(obs, 4);
        var targetToObj = (obj - TargetPos).Norm();
        var targetToObjInit = (ObjInitPos - TargetPos).Norm();
        var inPlace = RewardUtils.Tolerance(targetToObj, 0, TargetRadius, Math.Abs(targetToObjInit - TargetRadius));
        const double handleReachRadius = 0.005;
        var tcpToObj = (obj - TcpCenter).Norm();
        var tcpToObjInit = (ObjInitPos - InitTcp).Norm();
        var reach = RewardUtils.ToleranceGaussian(tcpToObj, 0, handleReachRadius, Math.Abs(tcpToObjInit - handleReachRadius));
        reach = RewardUtils.HamacherProduct(reach, Math.Min(Math.Max(0, action[3]), 1.0));
        var reward = RewardUtils.HamacherProduct(reach, inPlace);
        var success = targetToObj <= TargetRadius + 0.015;
        if (success) reward = 1.0;
        return (10 * reward, success);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination) => (BodyPos(_link) + new Vec3(0, -0.16, 0.05)).CopyTo(destination);
}

/// <summary>Meta-World <c>drawer-open-v2</c> (ML10 test): pull a closed drawer open by 0.2.</summary>
/// <remarks>
/// Random vector (3): the drawer body position in (−0.1, 0.9, 0)–(0.1, 0.9, 0) (written into the model); goal =
/// drawer + (0, −0.36, 0.09). Object pose: the handle <c>drawer_link + (0, −0.16, 0)</c> and the link's MuJoCo
/// quaternion. Reward <c>5 · (caging + opening)</c>: opening = tolerance(|handle − goal|, (0, 0.02), margin 0.2),
/// caging = tolerance(|(handle − hand)·(3, 3, 1)|, (0, 0.01), margin from the initial gripper centre), both long-tail;
/// success when <c>|handle − goal| ≤ 0.03</c>. Python computes the reset observation before the moved drawer's
/// kinematics are updated; here the reset runs <c>mj_forward</c> first (the value Python shows from the second reset
/// of a variation on). Scene <c>sawyer_drawer.xml</c>.
/// </remarks>
public sealed class DrawerOpenV2 : SawyerEnvironment
{
    private const double MaxDist = 0.2;
    private readonly int _drawer, _link;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    public DrawerOpenV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("drawer-open-v2", "sawyer_drawer.xml", options, randVec, DrawerCloseV2.Low, DrawerCloseV2.High, [-0.5, 0.40, 0.05], [0.5, 1.0, 0.5])
    {
        _drawer = Model.BodyId("drawer");
        _link = Model.BodyId("drawer_link");
    }

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        var pos = Vec3.From(RandVec);
        ObjInitPos = pos;
        pos.CopyTo(Model.BodyPos, _drawer * 3);
        TargetPos = pos + new Vec3(0, -0.16 - MaxDist, 0.09);
        SetModelSitePos("goal", TargetPos);
        Data.Forward();
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var gripper = Vec3.From(obs, 0);
        var handle = Vec3.From(obs, 4);
        var handleError = (handle - TargetPos).Norm();
        var opening = RewardUtils.Tolerance(handleError, 0, 0.02, MaxDist);
        var handleInit = TargetPos + new Vec3(0, MaxDist, 0);
        var gripperError = (handle - gripper).Scale(3, 3, 1).Norm();
        var gripperErrorInit = (handleInit - InitTcp).Scale(3, 3, 1).Norm();
        var caging = RewardUtils.Tolerance(gripperError, 0, 0.01, gripperErrorInit);
        return (5 * (caging + opening), handleError <= 0.03);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination)
    {
        (BodyPos(_link) + new Vec3(0, -0.16, 0)).CopyTo(destination);
        Data.XQuat.Slice(_link * 4, 4).CopyTo(destination.Slice(3, 4));
    }
}
