namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>basketball-v2</c> (ML10 train): pick up a ball and drop it into a hoop.</summary>
/// <remarks>
/// Random vector (6): ball in (−0.1, 0.6, 0.0299)–(0.1, 0.7, 0.0301) (only its x–y is used; the ball starts at
/// z = float32(0.03)), hoop base <c>basket_goal</c> in (−0.1, 0.85, 0)–(0.1, 0.9, 0) (written into the model); valid
/// when ball and hoop are ≥ 0.15 apart in x–y. The goal is the hoop's <c>goal</c> site after <c>mj_forward</c>
/// (base + (0, −0.083, 0.25)), as the gym-era file's live <c>site_xpos</c> view reads it; the reward uses it at height
/// 0.3. Reward <c>hamacher(grasp, in_place)</c> with in_place = tolerance(|(ball − target)·(1, 1, 2)|, (0, 0.08),
/// margin from the initial ball), grasp = the base caging reward (radius 0.025, pad threshold 0.06, x–z 0.005, high
/// density), forced to 1 and with <c>+ 1 + 5·in_place</c> when the gripper centre is within 0.035 of the ball, the
/// gripper open (obs[3] &gt; 0) and the ball lifted by 0.01; 10 once the scaled distance is below 0.08, which is also
/// the success criterion. Object pose: the ball body and its MuJoCo quaternion. Scene <c>sawyer_basketball.xml</c>.
/// </remarks>
public sealed class BasketballV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (ball xyz, hoop xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.6, 0.0299, -0.1, 0.85, 0.0];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.7, 0.0301, 0.1, 0.9 + 1e-7, 0.0];

    /// <summary>The success radius of the (z-doubled) ball-to-target distance.</summary>
    public const double TargetRadius = 0.08;

    /// <summary>The target height the reward uses (slightly above the hoop).</summary>
    public const double TargetHeight = 0.3;

    private readonly int _ball, _basket, _goal;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    /// <exception cref="ArgumentException">The vector has the wrong length or fails the placement check.</exception>
    public BasketballV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("basketball-v2", "sawyer_basketball.xml", options, randVec, Low, High, [-0.1, 0.85 - 0.083, 0.2499], [0.1, 0.9 + 1e-7 - 0.083, 0.2501])
    {
        if (!IsValid(randVec)) throw new ArgumentException("basketball-v2: ball and hoop are closer than 0.15 in x-y (Meta-World would resample).", nameof(randVec));
        _ball = Model.BodyId("bsktball");
        _basket = Model.BodyId("basket_goal");
        _goal = Model.SiteId("goal");
    }

    /// <summary>The placement check: ball and hoop at least 0.15 apart in x–y.</summary>
    public static bool IsValid(ReadOnlySpan<double> v) => Math.Sqrt((v[0] - v[3]) * (v[0] - v[3]) + (v[1] - v[4]) * (v[1] - v[4])) >= 0.15;

    /// <summary>The point the reward pulls the ball to: the goal site at height <see cref="TargetHeight"/>.</summary>
    public Vec3 RewardTarget => new(TargetPos.X, TargetPos.Y, TargetHeight);

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        var v = RandVec;
        Vec3.From(v, 3).CopyTo(Model.BodyPos, _basket * 3);
        ObjInitPos = new Vec3(v[0], v[1], (double)0.03f);
        SetObjXyz(ObjInitPos);
        TargetPos = SitePos(_goal);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var obj = Vec3.From(obs, 4);
        var target = RewardTarget;
        var targetToObj = (obj - target).Scale(1, 1, 2).Norm();
        var targetToObjInit = (ObjInitPos - target).Scale(1, 1, 2).Norm();
        var inPlace = RewardUtils.Tolerance(targetToObj, 0, TargetRadius, targetToObjInit);
        var tcpOpened = obs[3];
        var tcpToObj = (obj - TcpCenter).Norm();
        var grasped = GripperCagingReward(action, obj, objRadius: 0.025, padSuccessThresh: 0.06, xzThresh: 0.005, highDensity: true);
        var lifted = tcpToObj < 0.035 && tcpOpened > 0 && obj.Z - 0.01 > ObjInitPos.Z;
        if (lifted) grasped = 1;
        var reward = RewardUtils.HamacherProduct(grasped, inPlace);
        if (lifted) reward += 1 + 5 * inPlace;
        if (targetToObj < TargetRadius) reward = 10;
        return (reward, targetToObj <= TargetRadius);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination)
    {
        BodyPos(_ball).CopyTo(destination);
        Data.XQuat.Slice(_ball * 4, 4).CopyTo(destination.Slice(3, 4));
    }
}
