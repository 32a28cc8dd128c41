namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>shelf-place-v2</c> (ML10 test): pick up a block and put it on a shelf.</summary>
/// <remarks>
/// Random vector (6): block in (−0.1, 0.5, 0.019)–(0.1, 0.6, 0.021) (only its x–y is used; the height is the block
/// body's after the hand reset), goal in (−0.1, 0.8, 0.299)–(0.1, 0.9, 0.301); valid when block and goal are ≥ 0.1
/// apart in x–y. The shelf body is placed at goal − (0, 0, 0.3) and the goal is the model's <c>goal</c> site offset
/// plus the shelf position. Reward <c>hamacher(grasp, in_place)</c> with in_place = tolerance(|block − goal|,
/// (0, 0.05), margin from the initial block) and grasp = the base caging reward (radius 0.02, pad threshold 0.05, x–z
/// 0.01); <c>+ 1 + 5·in_place'</c> when the gripper centre is within 0.025 of the block, the gripper open and the block
/// lifted by 0.01, where in_place' is lowered in front of the shelf below z 0.24 and zero behind the goal there; 10 once
/// within 0.05; success when <c>|block − goal| ≤ 0.07</c>. Object pose: the block body and its geom's SciPy quaternion.
/// Scene <c>sawyer_shelf_placing.xml</c>.
/// </remarks>
public sealed class ShelfPlaceV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (block xyz, goal xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.5, 0.019, -0.1, 0.8, 0.299];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.6, 0.021, 0.1, 0.9, 0.301];

    private const double TargetRadius = 0.05;
    private readonly int _obj, _objGeom, _shelf, _goal;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    /// <exception cref="ArgumentException">The vector has the wrong length or fails the placement check.</exception>
    public ShelfPlaceV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("shelf-place-v2", "sawyer_shelf_placing.xml", options, randVec, Low, High, [-0.1, 0.8, 0.299], [0.1, 0.9, 0.301])
    {
        if (!IsValid(randVec)) throw new ArgumentException("shelf-place-v2: block and goal are closer than 0.1 in x-y (Meta-World would resample).", nameof(randVec));
        _obj = Model.BodyId("obj");
        _objGeom = Model.GeomId("objGeom");
        _shelf = Model.BodyId("shelf");
        _goal = Model.SiteId("goal");
    }

    /// <summary>The placement check: block and goal at least 0.1 apart in x–y.</summary>
    public static bool IsValid(ReadOnlySpan<double> v) => Math.Sqrt((v[0] - v[3]) * (v[0] - v[3]) + (v[1] - v[4]) * (v[1] - v[4])) >= 0.1;

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        var v = RandVec;
        var z = BodyPos(_obj).Z;
        var shelf = new Vec3(v[3], v[4], v[5] - 0.3);
        ObjInitPos = new Vec3(v[0], v[1], z);
        shelf.CopyTo(Model.BodyPos, _shelf * 3);
        Data.Forward();
        TargetPos = Vec3.From(Model.SitePos, _goal * 3) + shelf;
        SetObjXyz(ObjInitPos);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var obj = Vec3.From(obs, 4);
        var tcpOpened = obs[3];
        var target = TargetPos;
        var objToTarget = (obj - target).Norm();
        var tcpToObj = (obj - TcpCenter).Norm();
        var inPlace = RewardUtils.Tolerance(objToTarget, 0, TargetRadius, (ObjInitPos - target).Norm());
        var grasped = GripperCagingReward(action, obj, objRadius: 0.02, padSuccessThresh: 0.05, xzThresh: 0.01, highDensity: false);
        var reward = RewardUtils.HamacherProduct(grasped, inPlace);
        var besideShelf = obj.Z is > 0.0 and < 0.24 && obj.X > target.X - 0.15 && obj.X < target.X + 0.15;
        if (besideShelf && obj.Y > target.Y - 3 * TargetRadius && obj.Y < target.Y)
        {
            var zScaling = (0.24 - obj.Z) / 0.24;
            var yScaling = (obj.Y - (target.Y - 3 * TargetRadius)) / (3 * TargetRadius);
            inPlace = Math.Clamp(inPlace - RewardUtils.HamacherProduct(yScaling, zScaling), 0.0, 1.0);
        }
        if (besideShelf && obj.Y > target.Y) inPlace = 0;
        if (tcpToObj < 0.025 && tcpOpened > 0 && obj.Z - 0.01 > ObjInitPos.Z) reward += 1 + 5 * inPlace;
        if (objToTarget < TargetRadius) reward = 10;
        return (reward, objToTarget <= 0.07);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination) => GeomPose(_obj, _objGeom, destination);
}
