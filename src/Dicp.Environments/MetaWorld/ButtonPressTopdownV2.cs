namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>button-press-topdown-v2</c> (ML10 train): press a button down from above.</summary>
/// <remarks>
/// Random vector (3): the button box position in (−0.1, 0.8, 0.115)–(0.1, 0.9, 0.115) (written into the model); the
/// goal is the box's <c>hole</c> site after <c>mj_forward</c>. The hand starts at (0, 0.4, 0.2). Object pose: the
/// button body + (0, 0, 0.193) and its MuJoCo quaternion. Reward <c>5 · hamacher(1 − obs[3], near)</c>, plus
/// <c>5 · pressed</c> when the gripper centre is within 0.03 of the button top, with near = tolerance(|button − tcp|,
/// (0, 0.01)) and pressed = tolerance(|goal z − button z|, (0, 0.005)), both long-tail; success when the button top is
/// within 0.024 of the goal height. Scene <c>sawyer_button_press_topdown.xml</c>.
/// </remarks>
public sealed class ButtonPressTopdownV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (box xyz).</summary>
    public static readonly double[] Low = [-0.1, 0.8, 0.115];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.9, 0.115];

    private readonly int _box, _button, _hole, _buttonStart;
    private double _objToTargetInit;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    public ButtonPressTopdownV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("button-press-topdown-v2", "sawyer_button_press_topdown.xml", options, randVec, Low, High, [-0.5, 0.40, 0.05], [0.5, 1.0, 0.5])
    {
        _box = Model.BodyId("box");
        _button = Model.BodyId("button");
        _hole = Model.SiteId("hole");
        _buttonStart = Model.SiteId("buttonStart");
    }

    /// <summary>The hand position the reset settles to: (0, 0.4, 0.2).</summary>
    public override Vec3 HandInitPos => new(0.0, 0.4, 0.2);

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        ObjInitPos = Vec3.From(RandVec);
        ObjInitPos.CopyTo(Model.BodyPos, _box * 3);
        Data.Forward();
        TargetPos = SitePos(_hole);
        _objToTargetInit = Math.Abs(TargetPos.Z - SitePos(_buttonStart).Z);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var obj = Vec3.From(obs, 4);
        var tcp = TcpCenter;
        var tcpToObj = (obj - tcp).Norm();
        var tcpToObjInit = (obj - InitTcp).Norm();
        var objToTarget = Math.Abs(TargetPos.Z - obj.Z);
        var near = RewardUtils.Tolerance(tcpToObj, 0, 0.01, tcpToObjInit);
        var pressed = RewardUtils.Tolerance(objToTarget, 0, 0.005, _objToTargetInit);
        var reward = 5 * RewardUtils.HamacherProduct(1 - obs[3], near);
        if (tcpToObj <= 0.03) reward += 5 * pressed;
        return (reward, objToTarget <= 0.024);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination)
    {
        (BodyPos(_button) + new Vec3(0, 0, 0.193)).CopyTo(destination);
        Data.XQuat.Slice(_button * 4, 4).CopyTo(destination.Slice(3, 4));
    }
}
