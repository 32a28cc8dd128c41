using Dicp.Environments.MuJoCo;

namespace Dicp.Environments.MetaWorld;

public abstract partial class SawyerEnvironment
{
    /// <summary>The number of 5-step hand-settling iterations of the reset (<c>_reset_hand(steps=50)</c>).</summary>
    public const int HandResetIterations = 50;

    /// <summary>The world position of body <paramref name="bodyId"/> (<c>data.xpos</c>, Meta-World's <c>get_body_com</c>).</summary>
    protected Vec3 BodyPos(int bodyId) => Vec3.From(Data.XPos, bodyId * 3);

    /// <summary>The world position of site <paramref name="siteId"/> (<c>data.site_xpos</c>).</summary>
    protected Vec3 SitePos(int siteId) => Vec3.From(Data.SiteXPos, siteId * 3);

    /// <summary>Sets every weld constraint to the identity relative pose (<c>reset_mocap_welds</c>).</summary>
    private void ResetMocapWelds()
    {
        if (Model.NMocap == 0) return;
        var size = MjModel.EqDataSize;
        var weld = MjModel.EqWeld;
        var data = Model.EqData;
        var types = Model.EqType;
        ReadOnlySpan<double> identity = [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
        for (var i = 0; i < Model.NEq; i++)
        {
            if (types[i] != weld) continue;
            var row = data.Slice(i * size, size);
            row.Clear();
            identity[..Math.Min(size, identity.Length)].CopyTo(row);
        }
    }

    private void SetMocapQuat()
    {
        var q = Data.MocapQuat.Slice(_mocap * 4, 4);
        q[0] = 1;
        q[1] = 0;
        q[2] = 1;
        q[3] = 0;
    }

    /// <summary>
    /// Settles the hand at <see cref="HandInitPos"/>: 50 times, set the mocap target and orientation and run 5 MuJoCo
    /// steps with the gripper open (ctrl (−1, 1)); then records <see cref="InitTcp"/> (<c>_reset_hand</c>).
    /// </summary>
    protected void ResetHand()
    {
        var init = HandInitPos;
        var pos = Data.MocapPos.Slice(_mocap * 3, 3);
        for (var i = 0; i < HandResetIterations; i++)
        {
            init.CopyTo(pos);
            SetMocapQuat();
            var ctrl = Data.Ctrl;
            ctrl[0] = -1;
            ctrl[1] = 1;
            Data.Step(FrameSkip);
        }
        InitTcp = TcpCenter;
    }

    /// <summary>Moves the first free object to <paramref name="pos"/> (qpos 9–11), zeroes its velocity (qvel 9–14) and runs <c>mj_forward</c> (<c>_set_obj_xyz</c>).</summary>
    protected void SetObjXyz(Vec3 pos)
    {
        pos.CopyTo(Data.QPos, 9);
        Data.QVel.Slice(9, 6).Clear();
        Data.Forward();
    }

    /// <summary>Sets the model position of site <paramref name="siteName"/> (Meta-World moves the goal site per task).</summary>
    protected void SetModelSitePos(string siteName, Vec3 pos) => pos.CopyTo(Model.SitePos, Model.SiteId(siteName) * 3);

    /// <summary>
    /// The base class's caging-and-gripping reward (<c>SawyerXYZEnv._gripper_caging_reward</c>): y-caging of both pads
    /// around the object, x–z closeness of the gripper centre, gripper effort once caged; Hamacher products; optional
    /// high-density averaging with the caging term.
    /// </summary>
    protected double GripperCagingReward(ReadOnlySpan<double> action, Vec3 obj, double objRadius, double padSuccessThresh,
        double xzThresh, bool highDensity)
    {
        var left = LeftPad;
        var right = RightPad;
        ReadOnlySpan<double> padY = [left.Y, right.Y];
        Span<double> caging = stackalloc double[2];
        for (var i = 0; i < 2; i++)
        {
            var toObj = Math.Abs(padY[i] - obj.Y);
            var toInit = Math.Abs(padY[i] - ObjInitPos.Y);
            var margin = Math.Abs(toInit - padSuccessThresh);
            caging[i] = RewardUtils.Tolerance(toObj, objRadius, padSuccessThresh, margin);
        }
        var cagingY = RewardUtils.HamacherProduct(caging[0], caging[1]);
        var tcp = TcpCenter;
        var xzMargin = (ObjInitPos - InitTcp).NormXZ() - xzThresh;
        var cagingXZ = RewardUtils.Tolerance((tcp - obj).NormXZ(), 0, xzThresh, Math.Max(0, xzMargin));
        var gripperClosed = Math.Min(Math.Max(0, action[3]), 1.0);
        var cage = RewardUtils.HamacherProduct(cagingY, cagingXZ);
        var gripping = cage > 0.97 ? gripperClosed : 0.0;
        var result = RewardUtils.HamacherProduct(cage, gripping);
        if (highDensity) result = (result + cage) / 2;
        return result;
    }

    /// <summary>
    /// The pick-place / sweep variant of the caging reward (<c>_gripper_caging_reward</c> overridden in those tasks): the
    /// pads' signed y offsets against margins measured from the initial pad positions.
    /// </summary>
    /// <param name="action">The clipped action.</param>
    /// <param name="obj">The object position.</param>
    /// <param name="objRadius">The object's radius.</param>
    /// <param name="sweepStyle">Sweep: <c>(caging + y-gripping) / 2</c> with a 0.95 threshold; pick-place: Hamacher with the gripper effort (0.97), then averaged with caging.</param>
    /// <param name="gripMargin">Sweep style: the y-gripping band's width beyond the radius (sweep 0.01, sweep-into 0.005).</param>
    /// <param name="xzSuccessMargin">The x–z closeness bound (0.005; sweep-into 0.01).</param>
    protected double PadCagingReward(ReadOnlySpan<double> action, Vec3 obj, double objRadius, bool sweepStyle,
        double gripMargin = 0.01, double xzSuccessMargin = 0.005)
    {
        const double padSuccessMargin = 0.05;
        var gripSuccessMargin = objRadius + gripMargin;
        var left = LeftPad;
        var right = RightPad;
        var dLeft = left.Y - obj.Y;
        var dRight = obj.Y - right.Y;
        var rightMargin = Math.Abs(Math.Abs(obj.Y - InitRightPad.Y) - padSuccessMargin);
        var leftMargin = Math.Abs(Math.Abs(obj.Y - InitLeftPad.Y) - padSuccessMargin);
        var rightCaging = RewardUtils.Tolerance(dRight, objRadius, padSuccessMargin, rightMargin);
        var leftCaging = RewardUtils.Tolerance(dLeft, objRadius, padSuccessMargin, leftMargin);
        var tcp = TcpCenter;
        var xzDistance = (tcp - obj).NormXZ();
        var xzMargin = (ObjInitPos - InitTcp).NormXZ() - xzSuccessMargin;
        var xzCaging = RewardUtils.Tolerance(xzDistance, 0, xzSuccessMargin, Math.Max(0, xzMargin));
        if (sweepStyle)
        {
            var rightGripping = RewardUtils.Tolerance(dRight, objRadius, gripSuccessMargin, rightMargin);
            var leftGripping = RewardUtils.Tolerance(dLeft, objRadius, gripSuccessMargin, leftMargin);
            var yCaging = RewardUtils.HamacherProduct(rightCaging, leftCaging);
            var yGripping = RewardUtils.HamacherProduct(rightGripping, leftGripping);
            var cage = RewardUtils.HamacherProduct(yCaging, xzCaging);
            var gripping = cage > 0.95 ? yGripping : 0.0;
            return (cage + gripping) / 2;
        }
        else
        {
            var yCaging = RewardUtils.HamacherProduct(leftCaging, rightCaging);
            var cage = RewardUtils.HamacherProduct(yCaging, xzCaging);
            var gripperClosed = Math.Min(Math.Max(0, action[3]), 1.0);
            var gripping = cage > 0.97 ? gripperClosed : 0.0;
            var cg = RewardUtils.HamacherProduct(cage, gripping);
            return (cg + cage) / 2;
        }
    }

    /// <summary>Position and SciPy-order quaternion (x, y, z, w) of a geom, written as 7 values.</summary>
    protected void GeomPose(int bodyId, int geomId, Span<double> destination)
    {
        BodyPos(bodyId).CopyTo(destination);
        RewardUtils.MatrixToQuatXyzw(Data.GeomXMat.Slice(geomId * 9, 9), destination.Slice(3, 4));
    }
}
