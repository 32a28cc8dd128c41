namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>window-open-v2</c> (ML10 train): slide a horizontal window open by pushing its handle along +x.</summary>
/// <remarks>
/// Random vector (3): the window body position in (−0.1, 0.7, 0.16)–(0.1, 0.9, 0.16) (written into the model); the
/// window starts closed (<c>window_slide</c> = 0) and the goal is the window position + (0.2, 0, 0). The hand starts at
/// (0, 0.4, 0.2). Object pose: the <c>handleOpenStart</c> site and a zero quaternion. Reward
/// <c>10 · hamacher(reach, in_place)</c> with reach = tolerance(|handle − tcp|, (0, 0.02), margin from the initial
/// handle and gripper centre) and in_place = tolerance(|handle x − goal x|, (0, 0.05), margin 0.15), both long-tail;
/// success when the handle is within 0.05 of the goal in x. Python reads the initial handle position before the moved
/// window's kinematics are updated; here it is read after <c>mj_forward</c> (the value Python sees from a variation's
/// second reset on). Scene <c>sawyer_window_horizontal.xml</c>.
/// </remarks>
public sealed class WindowOpenV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (window xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.7, 0.16];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.9, 0.16];

    /// <summary>How far the window must slide (the goal's x offset).</summary>
    public const double OpenDistance = 0.2;

    private const double TargetRadius = 0.05;
    private readonly int _window, _handle, _slideAddress;
    private Vec3 _handleInit;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    public WindowOpenV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("window-open-v2", "sawyer_window_horizontal.xml", options, randVec, Low, High, [-0.5, 0.40, 0.05], [0.5, 1.0, 0.5])
    {
        _window = Model.BodyId("window");
        _handle = Model.SiteId("handleOpenStart");
        _slideAddress = Model.JointQposAddress[Model.JointId("window_slide")];
    }

    /// <summary>The hand position the reset settles to: (0, 0.4, 0.2).</summary>
    public override Vec3 HandInitPos => new(0.0, 0.4, 0.2);

    /// <summary>How far the window is open (the <c>window_slide</c> joint, 0 to 0.2).</summary>
    public double Opening => Data.QPos[_slideAddress];

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        ObjInitPos = Vec3.From(RandVec);
        TargetPos = ObjInitPos + new Vec3(OpenDistance, 0, 0);
        ObjInitPos.CopyTo(Model.BodyPos, _window * 3);
        Data.QPos[_slideAddress] = 0;
        Data.Forward();
        _handleInit = SitePos(_handle);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var obj = SitePos(_handle);
        var targetToObj = Math.Abs(obj.X - TargetPos.X);
        var targetToObjInit = Math.Abs(ObjInitPos.X - TargetPos.X);
        var inPlace = RewardUtils.Tolerance(targetToObj, 0, TargetRadius, Math.Abs(targetToObjInit - TargetRadius));
        const double handleRadius = 0.02;
        var tcpToObj = (obj - TcpCenter).Norm();
        var tcpToObjInit = (_handleInit - InitTcp).Norm();
        var reach = RewardUtils.Tolerance(tcpToObj, 0, handleRadius, Math.Abs(tcpToObjInit - handleRadius));
        return (10 * RewardUtils.HamacherProduct(reach, inPlace), targetToObj <= TargetRadius);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination) => SitePos(_handle).CopyTo(destination);
}
