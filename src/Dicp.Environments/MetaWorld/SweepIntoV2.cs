namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>sweep-into-v2</c> (ML10 test): sweep a block into a hole in the table at (0, 0.84).</summary>
/// <remarks>
/// Random vector (6): block in (−0.1, 0.6, 0.02)–(0.1, 0.7, 0.02) and an unused goal part in a tiny box around
/// (0, 0.84, 0.02); valid when the block is ≥ 0.15 from the fixed goal in x–y. The block starts at its x–y at the
/// settled height. Reward <c>2·caging + 6·hamacher(caging, in_place)</c> (sweep-style caging with a 0.005 gripping band
/// and a 0.01 x–z bound; in_place measured to the goal at the block's current height), 10 once within 0.05; success
/// when within 0.05. Scene <c>sawyer_table_with_hole.xml</c>.
/// </remarks>
public sealed class SweepIntoV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (block xyz, goal xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.6, 0.02, -0.001, 0.8399, 0.0199];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.7, 0.02, 0.001, 0.8401, 0.0201];

    /// <summary>The fixed goal.</summary>
    public static readonly Vec3 Goal = new(0.0, 0.84, 0.02);

    private readonly int _obj, _objGeom;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    /// <exception cref="ArgumentException">The vector has the wrong length or fails the placement check.</exception>
    public SweepIntoV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("sweep-into-v2", "sawyer_table_with_hole.xml", options, randVec, Low, High, [-0.001, 0.8399, 0.0199], [0.001, 0.8401, 0.0201])
    {
        if (!IsValid(randVec)) throw new ArgumentException("sweep-into-v2: the block is closer than 0.15 to the goal in x-y (Meta-World would resample).", nameof(randVec));
        _obj = Model.BodyId("obj");
        _objGeom = Model.GeomId("objGeom");
    }

    /// <summary>The placement check: the block at least 0.15 from the fixed goal in x–y.</summary>
    public static bool IsValid(ReadOnlySpan<double> v) => Math.Sqrt((v[0] - Goal.X) * (v[0] - Goal.X) + (v[1] - Goal.Y) * (v[1] - Goal.Y)) >= 0.15;

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        TargetPos = Goal;
        var z = BodyPos(_obj).Z;
        var v = RandVec;
        ObjInitPos = new Vec3(v[0], v[1], z);
        SetObjXyz(ObjInitPos);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var obj = Vec3.From(obs, 4);
        var target = new Vec3(TargetPos.X, TargetPos.Y, obj.Z);
        var objToTarget = (obj - target).Norm();
        var inPlace = RewardUtils.Tolerance(objToTarget, 0, 0.05, (ObjInitPos - target).Norm());
        var grasped = PadCagingReward(action, obj, 0.02, sweepStyle: true, gripMargin: 0.005, xzSuccessMargin: 0.01);
        var reward = 2 * grasped + 6 * RewardUtils.HamacherProduct(grasped, inPlace);
        if (objToTarget < 0.05) reward = 10;
        return (reward, objToTarget <= 0.05);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination) => GeomPose(_obj, _objGeom, destination);
}
