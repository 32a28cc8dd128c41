namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>sweep-v2</c>: sweep a block along x to the table's edge (goal x = 0.5).</summary>
/// <remarks>
/// Random vector (3): block position in (−0.1, 0.6, 0.02)–(0.1, 0.7, 0.02); the block starts at (v₀, v₁, 0.02) and the
/// goal is (0.5, v₁, 0.01). Reward: <c>2·caging + 6·hamacher(caging, in_place)</c> with the sweep caging term
/// (<c>(caging + y-gripping) / 2</c>), 10 once the block is within 0.05 of the goal; success when
/// <c>|block − goal| ≤ 0.05</c>. The object pose is the body's position and MuJoCo quaternion (w, x, y, z). The initial
/// pad positions of the caging reward are those of the model's initial configuration. Scene <c>sawyer_sweep_v2.xml</c>.
/// </remarks>
public sealed class SweepV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (block xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.6, 0.02];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.7, 0.02];

    /// <summary>The block's radius used by the caging reward.</summary>
    public const double ObjRadius = 0.02;

    private readonly int _obj;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    /// <exception cref="ArgumentException">The vector does not have 3 values.</exception>
    public SweepV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("sweep-v2", "sawyer_sweep_v2.xml", options, randVec, Low, High, [0.49, 0.6, 0.0], [0.51, 0.7, 0.02])
    {
        _obj = Model.BodyId("obj");
    }

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        var v = RandVec;
        ObjInitPos = new Vec3(v[0], v[1], 0.02);
        TargetPos = new Vec3(0.5, v[1], 0.01);
        SetObjXyz(ObjInitPos);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var obj = Vec3.From(obs, 4);
        var objToTarget = (obj - TargetPos).Norm();
        var margin = (ObjInitPos - TargetPos).Norm();
        var inPlace = RewardUtils.Tolerance(objToTarget, 0, 0.05, margin);
        var grasped = PadCagingReward(action, obj, ObjRadius, sweepStyle: true);
        var reward = 2 * grasped + 6 * RewardUtils.HamacherProduct(grasped, inPlace);
        if (objToTarget < 0.05) reward = 10;
        return (reward, objToTarget <= 0.05);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination)
    {
        BodyPos(_obj).CopyTo(destination);
        Data.XQuat.Slice(_obj * 4, 4).CopyTo(destination.Slice(3, 4));
    }
}
