namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>push-v2</c>: push a puck to a goal on the table.</summary>
/// <remarks>
/// Random vector (6): object in (−0.1, 0.6, 0.02)–(0.1, 0.7, 0.02), goal in (−0.1, 0.8, 0.01)–(0.1, 0.9, 0.02); valid
/// when their x–y distance is at least 0.15; both heights are replaced by the puck's settled height. Reward:
/// <c>hamacher(caging(high density), in_place)</c>, <c>+ 1 + 5·in_place</c> when the gripper centre is within 0.02 of
/// the puck with the gripper open (obs[3] &gt; 0), 10 once the puck is within 0.05 of the goal; success when
/// <c>|puck − goal| ≤ 0.05</c>. Scene <c>sawyer_push_v2.xml</c>.
/// </remarks>
public sealed class PushV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (object xyz, goal xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.6, 0.02, -0.1, 0.8, 0.01];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.7, 0.02, 0.1, 0.9, 0.02];

    private readonly int _obj, _objGeom;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    /// <exception cref="ArgumentException">The vector has the wrong length or fails the task's placement check.</exception>
    public PushV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("push-v2", "sawyer_push_v2.xml", options, randVec, Low, High, [-0.1, 0.8, 0.01], [0.1, 0.9, 0.02])
    {
        if (!ReachV2.IsValid(randVec)) throw new ArgumentException("push-v2: object and goal are closer than 0.15 in x-y (Meta-World would resample).", nameof(randVec));
        _obj = Model.BodyId("obj");
        _objGeom = Model.GeomId("objGeom");
    }

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        var objZ = BodyPos(_obj).Z;
        var v = RandVec;
        TargetPos = new Vec3(v[3], v[4], objZ);
        ObjInitPos = new Vec3(v[0], v[1], objZ);
        SetObjXyz(ObjInitPos);
        SetModelSitePos("goal", TargetPos);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var obj = Vec3.From(obs, 4);
        var tcpOpened = obs[3];
        var tcpToObj = (obj - TcpCenter).Norm();
        var targetToObj = (obj - TargetPos).Norm();
        var margin = (ObjInitPos - TargetPos).Norm();
        var inPlace = RewardUtils.Tolerance(targetToObj, 0, 0.05, margin);
        var grasped = GripperCagingReward(action, obj, objRadius: 0.015, padSuccessThresh: 0.05, xzThresh: 0.005, highDensity: true);
        var reward = RewardUtils.HamacherProduct(grasped, inPlace);
        if (tcpToObj < 0.02 && tcpOpened > 0) reward += 1 + 5 * inPlace;
        if (targetToObj < 0.05) reward = 10;
        return (reward, targetToObj <= 0.05);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination) => GeomPose(_obj, _objGeom, destination);
}
