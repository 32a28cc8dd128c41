namespace Dicp.Environments.MetaWorld;

/// <summary>Meta-World <c>door-open-v2</c> (ML10 train): pull a hinged door open by its handle.</summary>
/// <remarks>
/// Random vector (3): the door body position in (0, 0.85, 0.15)–(0.1, 0.95, 0.15) (written into the model), door
/// closed (hinge angle 0); goal = door + (−0.3, −0.45, 0). Object pose: the <c>handle</c> geom's position and SciPy
/// quaternion. Reward <c>2 · hamacher(ready, (a[3] + 1) / 2) + 8 · opened</c>, where ready rewards the hand above a
/// log-shaped floor around the handle and near it, and opened = 0.2·[θ &lt; −π/90] + 0.8·tolerance(2π/3 + θ, (0, 0.5),
/// margin π/3); 10 once <c>|handle x − goal x| ≤ 0.08</c>, which is also the success criterion.
/// Scene <c>sawyer_door_pull.xml</c>.
/// </remarks>
public sealed class DoorOpenV2 : SawyerEnvironment
{
    /// <summary>The random reset space's lower bounds (door xyz).</summary>
    public static readonly double[] Low = [0.0, 0.85, 0.15];

    /// <summary>The random reset space's upper bounds.</summary>
    public static readonly double[] High = [0.1, 0.95, 0.15];

    private readonly int _door, _handle, _joint, _qposAdr;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    public DoorOpenV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("door-open-v2", "sawyer_door_pull.xml", options, randVec, Low, High, [-0.3, 0.4, 0.1499], [-0.2, 0.5, 0.1501])
    {
        _door = Model.BodyId("door");
        _handle = Model.GeomId("handle");
        _joint = Model.JointId("doorjoint");
        _qposAdr = Model.JointQposAddress[_joint];
    }

    /// <summary>The hinge axis position (door body + (−0.185, −0.1, 0)).</summary>
    public Vec3 Hinge => Vec3.From(Model.BodyPos, _door * 3) + new Vec3(-0.185, -0.1, 0);

    /// <summary>The door's hinge angle (radians; negative opens).</summary>
    public double DoorAngle => Data.QPos[_qposAdr];

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        ObjInitPos = Vec3.From(RandVec);
        TargetPos = ObjInitPos + new Vec3(-0.3, -0.45, 0);
        ObjInitPos.CopyTo(Model.BodyPos, _door * 3);
        SetModelSitePos("goal", TargetPos);
        DoorGeometry.SetHinge(this, _joint, 0);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        var theta = DoorAngle;
        var grab = (Math.Clamp(action[3], -1, 1) + 1.0) / 2.0;
        var hand = Vec3.From(obs, 0);
        var door = Vec3.From(obs, 4) + new Vec3(-0.05, 0, 0);
        const double threshold = 0.12;
        var radius = new Vec3(hand.X - door.X, hand.Y - door.Y, 0).Norm();
        var floor = radius <= threshold ? 0.0 : 0.04 * Math.Log(radius - threshold) + 0.4;
        var aboveFloor = hand.Z >= floor ? 1.0 : RewardUtils.Tolerance(floor - hand.Z, 0, 0.01, floor / 2.0);
        var inPlace = RewardUtils.Tolerance((hand - door - new Vec3(0.05, 0.03, -0.01)).Norm(), 0, threshold / 2.0, 0.5);
        var ready = RewardUtils.HamacherProduct(aboveFloor, inPlace);
        var doorAngle = -theta;
        var opened = 0.2 * (theta < -Math.PI / 90.0 ? 1.0 : 0.0)
            + 0.8 * RewardUtils.Tolerance(Math.PI / 2.0 + Math.PI / 6 - doorAngle, 0, 0.5, Math.PI / 3.0);
        var reward = 2.0 * RewardUtils.HamacherProduct(ready, grab) + 8.0 * opened;
        var success = Math.Abs(obs[4] - TargetPos.X) <= 0.08;
        if (success) reward = 10.0;
        return (reward, success);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination) => DoorGeometry.HandlePose(this, _handle, destination);
}

/// <summary>Meta-World <c>door-close-v2</c> (ML10 test): push an open door shut.</summary>
/// <remarks>
/// Random vector (3): the door body position in (0, 0.85, 0.15)–(0.1, 0.95, 0.15); the door starts open at −π/2 and the
/// hand at (−0.5, 0.6, 0.2); goal = door + (0.2, −0.2, 0). Reward <c>3 · hand_in_place + 6 · in_place</c> with Gaussian
/// tolerances (in_place of the handle to the goal, margin |door − goal|; hand_in_place of the gripper centre to the
/// goal, bounds 0.0125, margin |hand_init − handle| + 0.1), 10 once the handle is within 0.05 of the goal; success when
/// within 0.08. Scene <c>sawyer_door_pull.xml</c>.
/// </remarks>
public sealed class DoorCloseV2 : SawyerEnvironment
{
    private readonly int _door, _handle, _joint, _qposAdr;

    /// <summary>Creates the variation with random vector <paramref name="randVec"/>.</summary>
    public DoorCloseV2(MetaWorldOptions options, ReadOnlySpan<double> randVec)
        : base("door-close-v2", "sawyer_door_pull.xml", options, randVec, DoorOpenV2.Low, DoorOpenV2.High, [0.2, 0.65, 0.1499], [0.3, 0.75, 0.1501])
    {
        _door = Model.BodyId("door");
        _handle = Model.GeomId("handle");
        _joint = Model.JointId("doorjoint");
        _qposAdr = Model.JointQposAddress[_joint];
    }

    /// <summary>The hand position the reset settles to: (−0.5, 0.6, 0.2).</summary>
    public override Vec3 HandInitPos => new(-0.5, 0.6, 0.2);

    /// <summary>The hinge axis position (door body + (−0.185, −0.1, 0)).</summary>
    public Vec3 Hinge => Vec3.From(Model.BodyPos, _door * 3) + new Vec3(-0.185, -0.1, 0);

    /// <summary>The door's hinge angle (radians; 0 is closed).</summary>
    public double DoorAngle => Data.QPos[_qposAdr];

    /// <inheritdoc/>
    protected override void ResetModel()
    {
        ResetHand();
        ObjInitPos = Vec3.From(RandVec);
        TargetPos = ObjInitPos + new Vec3(0.2, -0.2, 0);
        ObjInitPos.CopyTo(Model.BodyPos, _door * 3);
        SetModelSitePos("goal", TargetPos);
        DoorGeometry.SetHinge(this, _joint, -1.5708);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Success) Evaluate(ReadOnlySpan<double> obs, ReadOnlySpan<double> action)
    {
        const double targetRadius = 0.05;
        var obj = Vec3.From(obs, 4);
        var tcpToTarget = (TcpCenter - TargetPos).Norm();
        var objToTarget = (obj - TargetPos).Norm();
        var inPlace = RewardUtils.ToleranceGaussian(objToTarget, 0, targetRadius, (ObjInitPos - TargetPos).Norm());
        var handMargin = (HandInitPos - obj).Norm() + 0.1;
        var handInPlace = RewardUtils.ToleranceGaussian(tcpToTarget, 0, 0.25 * targetRadius, handMargin);
        var reward = 3 * handInPlace + 6 * inPlace;
        if (objToTarget < targetRadius) reward = 10;
        return (reward, objToTarget <= 0.08);
    }

    /// <inheritdoc/>
    protected override void ObjectPoses(Span<double> destination) => DoorGeometry.HandlePose(this, _handle, destination);
}

/// <summary>Shared pieces of the door tasks.</summary>
internal static class DoorGeometry
{
    /// <summary>Sets joint <paramref name="joint"/>'s angle, zeroes its velocity and runs <c>mj_forward</c> (the door tasks' <c>_set_obj_xyz</c>).</summary>
    public static void SetHinge(SawyerEnvironment env, int joint, double angle)
    {
        env.Data.QPos[env.Model.JointQposAddress[joint]] = angle;
        env.Data.QVel[env.Model.JointDofAddress[joint]] = 0;
        env.Data.Forward();
    }

    /// <summary>The handle geom's position and SciPy quaternion.</summary>
    public static void HandlePose(SawyerEnvironment env, int geomId, Span<double> destination)
    {
        Vec3.From(env.Data.GeomXPos, geomId * 3).CopyTo(destination);
        RewardUtils.MatrixToQuatXyzw(env.Data.GeomXMat.Slice(geomId * 9, 9), destination.Slice(3, 4));
    }
}
