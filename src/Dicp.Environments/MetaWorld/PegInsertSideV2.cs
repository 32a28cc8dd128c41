namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>peg-insert-side-v2</c>: pick up a peg and insert it sideways into a hole in a box.</summary>
/// <remarks>
/// Random vector (6): peg position in (0, 0.5, 0.02)–(0.2, 0.7, 0.02), box position in (−0.35, 0.4, −0.001)–(−0.25,
/// 0.7, 0.001) (written into the model's body <c>box</c>); goal = box + (0.03, 0, 0.13). The object pose is the
/// <c>pegGrasp</c> site's position and SciPy quaternion. Reward: <c>in_place = tolerance(|(head − goal)·(1, 2, 2)|,
/// (0, 0.07), margin from the head's position before placement)</c> Hamacher-multiplied by the two collision-box prism
/// terms; grasp term = base caging (high density), forced to 1 when the gripper centre is within 0.08 of the peg, the
/// gripper open and the peg lifted by 0.01 (then also <c>+ 1 + 5·in_place</c>); 10 when the scaled head distance is
/// ≤ 0.07, which is also the success criterion. Scene <c>sawyer_peg_insertion_side.xml</c>.
/// </remarks>
public sealed class PegInsertSideV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (peg xyz, box xyz).</summary>
    public static readonly double[] Low = [0.0, 0.5, 0.02, -0.35, 0.4, -0.001];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.2, 0.7, 0.02, -0.25, 0.7, 0.001];

    /// <summary>The offset from the box position to the goal (hole).</summary>
    public static readonly Vec3 GoalOffset = new(0.03, 0.0, 0.13);

    private readonly int _pegGrasp, _pegHead, _box, _brc1, _tlc1, _brc2, _tlc2;
    private Vec3 _pegHeadInit;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    /// <exception cref="ArgumentException">The vector has the wrong length or fails the task's placement check.</exception>
    public PegInsertSideV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("peg-insert-side-v2", "sawyer_peg_insertion_side.xml", options, randVec, Low, High,
            [-0.35 + 0.03, 0.4, -0.001 + 0.13], [-0.25 + 0.03, 0.7, 0.001 + 0.13])
    {
        if (!IsValid(randVec)) throw new ArgumentException("peg-insert-side-v2: peg and box are closer than 0.1 in x-y (Meta-World would resample).", nameof(randVec));
        _pegGrasp = Model.SiteId("pegGrasp");
        _pegHead = Model.SiteId("pegHead");
        _box = Model.BodyId("box");
        _brc1 = Model.SiteId("bottom_right_corner_collision_box_1");
        _tlc1 = Model.SiteId("top_left_corner_collision_box_1");
        _brc2 = Model.SiteId("bottom_right_corner_collision_box_2");
        _tlc2 = Model.SiteId("top_left_corner_collision_box_2");
    }

    /// <summary>The placement check of the reset: peg and box at least 0.1 apart in x–y.</summary>
    public static bool IsValid(ReadOnlySpan<double> v) => Math.Sqrt((v[0] - v[3]) * (v[0] - v[3]) + (v[1] - v[4]) * (v[1] - v[4])) >= 0.1;

    /// <summary>The peg head's position (site <c>pegHead</c>).</summary>
    public Vec3 PegHead => SitePos(_pegHead);

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        var v = RandVec;
        ObjInitPos = Vec3.From(v, 0);
        var box = Vec3.From(v, 3);
        _pegHeadInit = SitePos(_pegHead);
        SetObjXyz(ObjInitPos);
        box.CopyTo(Model.BodyPos, _box * 3);
        TargetPos = box + GoalOffset;
        SetModelSitePos("goal", TargetPos);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var obj = Vec3.From(obs, 4);
        var tcpOpened = obs[3];
        var head = SitePos(_pegHead);
        var tcpToObj = (obj - TcpCenter).Norm();
        var objToTarget = (head - TargetPos).Scale(1, 2, 2).Norm();
        var margin = (_pegHeadInit - TargetPos).Scale(1, 2, 2).Norm();
        var inPlace = RewardUtils.Tolerance(objToTarget, 0, 0.07, margin);
        var box1 = RewardUtils.RectPrismTolerance(head, SitePos(_brc1), SitePos(_tlc1));
        var box2 = RewardUtils.RectPrismTolerance(head, SitePos(_brc2), SitePos(_tlc2));
        inPlace = RewardUtils.HamacherProduct(inPlace, RewardUtils.HamacherProduct(box2, box1));
        var grasped = GripperCagingReward(action, obj, objRadius: 0.0075, padSuccessThresh: 0.03, xzThresh: 0.005, highDensity: true);
        var lifted = tcpToObj < 0.08 && tcpOpened > 0 && obj.Z - 0.01 > ObjInitPos.Z;
        if (lifted) grasped = 1.0;
        var reward = RewardUtils.HamacherProduct(grasped, inPlace);
        if (lifted) reward += 1 + 5 * inPlace;
        if (objToTarget <= 0.07) reward = 10;
        return (reward, objToTarget <= 0.07);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination)
    {
        SitePos(_pegGrasp).CopyTo(destination);
        RewardUtils.MatrixToQuatXyzw(Data.SiteXMat.Slice(_pegGrasp * 9, 9), destination.Slice(3, 4));
    }
}
