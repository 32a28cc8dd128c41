namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>lever-pull-v2</c> (ML10 test): raise a lever to point straight up.</summary>
/// <remarks>
/// Random vector (3): the lever body position in (−0.1, 0.7, 0)–(0.1, 0.8, 0) (written into the model). The hand
/// starts at (0, 0.4, 0.2) and may go down to z = −0.15. Object pose: the <c>leverStart</c> site and the SciPy
/// quaternion of <c>objGeom</c>. Goal = lever + (0.12, 0, 0.45). Reward <c>10 · hamacher(ready, in_place)</c>: ready =
/// tolerance(|(hand + (0, 0.055, 0.07) − lever tip)·(4, 1, 4)|, (0, 0.02)), in_place = tolerance(|tip − goal|, (0, 0.04)),
/// both long-tail with margins from the initial poses; success when the lever angle is within π/24 of π/2. The reset
/// runs <c>mj_forward</c> after moving the lever (Python reads stale kinematics on a variation's first reset).
/// Scene <c>sawyer_lever_pull.xml</c> (the same <c>lever.xml</c> as Python Meta-World's): the tip is at
/// axis + 0.2·(0, −cos q, −sin q) for qpos q, so the upright lever (the goal) is at q = −π/2, outside
/// <c>LeverAxis</c>'s range [0, 1.57]. The limit is soft: with the joint's tiny inertia (armature 0.001, 1 g collision
/// geoms) its constraint acts like a weak spring that the weld-driven hand overpowers, so pushing the tip up from
/// below reaches the goal (as Python's scripted policy does); released, the lever sinks back to q = 0.
/// </remarks>
public sealed class LeverPullV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (lever xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.7, 0.0];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.8, 0.0];

    private const double LeverRadius = 0.2;
    private readonly int _lever, _leverStart, _objGeom, _axisQpos;
    private Vec3 _leverPosInit;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    public LeverPullV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("lever-pull-v2", "sawyer_lever_pull.xml", options, randVec, Low, High, [-0.5, 0.40, -0.15], [0.5, 1.0, 0.5])
    {
        _lever = Model.BodyId("lever");
        _leverStart = Model.SiteId("leverStart");
        _objGeom = Model.GeomId("objGeom");
        _axisQpos = Model.JointQposAddress[Model.JointId("LeverAxis")];
    }

    /// <summary>The lower corner of the hand box: (−0.5, 0.40, −0.15).</summary>
    public override Vec3 HandLow => new(-0.5, 0.40, -0.15);

    /// <summary>The hand position the reset settles to: (0, 0.4, 0.2).</summary>
    public override Vec3 HandInitPos => new(0.0, 0.4, 0.2);

    /// <summary>The lever's angle as Meta-World measures it (−qpos of <c>LeverAxis</c>, radians); the goal is π/2.</summary>
    public double LeverAngle => -Data.QPos[_axisQpos];

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        ObjInitPos = Vec3.From(RandVec);
        ObjInitPos.CopyTo(Model.BodyPos, _lever * 3);
        _leverPosInit = ObjInitPos + new Vec3(0.12, -LeverRadius, 0.25);
        TargetPos = ObjInitPos + new Vec3(0.12, 0.0, 0.25 + LeverRadius);
        SetModelSitePos("goal", TargetPos);
        Data.Forward();
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var gripper = Vec3.From(obs, 0);
        var lever = Vec3.From(obs, 4);
        var offset = new Vec3(0.0, 0.055, 0.07);
        var shoulderToLever = (gripper + offset - lever).Scale(4, 1, 4).Norm();
        var shoulderToLeverInit = (InitTcp + offset - _leverPosInit).Scale(4, 1, 4).Norm();
        var ready = RewardUtils.Tolerance(shoulderToLever, 0, 0.02, shoulderToLeverInit);
        var leverError = Math.Abs(LeverAngle - Math.PI / 2.0);
        var inPlace = RewardUtils.Tolerance((lever - TargetPos).Norm(), 0, 0.04, (_leverPosInit - TargetPos).Norm());
        return (10.0 * RewardUtils.HamacherProduct(ready, inPlace), leverError <= Math.PI / 24);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination)
    {
        SitePos(_leverStart).CopyTo(destination);
        RewardUtils.MatrixToQuatXyzw(Data.GeomXMat.Slice(_objGeom * 9, 9), destination.Slice(3, 4));
    }
}
