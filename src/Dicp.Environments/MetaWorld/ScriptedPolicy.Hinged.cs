namespace Dicp.Environments.MetaWorld;

public abstract partial class ScriptedPolicy
{
    /// <summary>
    /// Door open: hook the handle's bar from behind and pull the door around its hinge.
    /// </summary>
    /// <remarks>
    /// In the door's frame (origin at the hinge, u along the closed panel toward the handle, v its normal, −v toward the
    /// robot) the handle's post stands at u = 0.325 and its bar runs along u at v = −0.12, from u = 0.306 to 0.456; the
    /// panel ends at u = 0.365. The gripper centre (closed) goes to 5 cm above the hook point (u, v) = (0.365, −0.065),
    /// just past the panel's end and between the post and the bar's free end, comes down to the handle's height, then
    /// follows the hook point's circle <see cref="Lead"/> rad ahead of the door (toward negative hinge angles, down to
    /// <see cref="OpenAngle"/>), 3 cm further out than the hook so that the fingers keep pressing on the bar. Success
    /// (handle x within 0.08 of the goal) needs a hinge angle below about −1.51 rad.
    /// </remarks>
    private sealed class DoorOpenPolicy : ScriptedPolicy
    {
        private const double HookU = 0.365;
        private const double HookV = -0.065;
        private const double Press = 0.03;
        private const double Lead = 0.6;
        private const double OpenAngle = -1.7;
        private int _phase;

        public override void Reset() => _phase = 0;

        public override void Act(SawyerEnvironment env, Span<float> action)
        {
            var door = (DoorOpenV2)env;
            var theta = door.DoorAngle;
            var height = env.ObjectPosition.Z;
            var tcp = env.TcpCenter;
            var hook = DoorPoint(door.Hinge, theta, HookU, HookV, height);
            if (_phase == 0 && new Vec3(tcp.X - hook.X, tcp.Y - hook.Y, 0).Norm() < 0.015) _phase = 1;
            if (_phase == 1 && Math.Abs(tcp.Z - hook.Z) < 0.01) _phase = 2;
            var waypoint = _phase switch
            {
                0 => hook + new Vec3(0, 0, 0.05),
                1 => hook,
                _ => DoorPoint(door.Hinge, Math.Max(theta - Lead, OpenAngle), HookU, HookV - Press, height),
            };
            MoveTo(env, waypoint, 1, action);
        }

        /// <summary>The world point at (<paramref name="u"/>, <paramref name="v"/>) of the door frame at hinge angle <paramref name="theta"/>.</summary>
        private static Vec3 DoorPoint(Vec3 hinge, double theta, double u, double v, double z)
        {
            var p = hinge + PanelDirection(theta) * u + PanelNormal(theta) * v;
            return new Vec3(p.X, p.Y, z);
        }
    }

    /// <summary>
    /// Lever pull: bring the front top edge of the hand under the lever's tip and push the tip up along its arc.
    /// </summary>
    /// <remarks>
    /// The tip (the <c>leverStart</c> site) moves on a circle of radius 0.2 about the lever's axis (along x): at lever angle
    /// φ (0 horizontal toward the robot, π/2 upright) it is at axis + 0.2·(0, −cos φ, sin φ). The hand's front top edge,
    /// about <c>tcp + (0, 0.07, 0.07)</c> (the reward's "shoulder" offset is (0, 0.055, 0.07)), first goes 5 cm below the
    /// tip without rising (the hand passes under the tip), then the gripper centre is sent to
    /// <c>tip − edge + 0.25·t(φ) + 0.04·n(φ)</c>, with t = (0, sin φ, cos φ) the tip's direction of travel and
    /// n = (0, cos φ, −sin φ) toward the axis: the edge pushes the tip along the arc and stays pressed against it. The hand
    /// overcomes the joint's soft lower limit (the upright lever is at qpos ≈ −π/2, outside <c>LeverAxis</c>'s range
    /// [0, 1.57]; see <see cref="LeverPullV2"/>). Past φ = π/2 − 0.05 it only holds the tip.
    /// </remarks>
    private sealed class LeverPullPolicy : ScriptedPolicy
    {
        private static readonly Vec3 Edge = new(0, 0.07, 0.07);
        private bool _under;

        public override void Reset() => _under = false;

        public override void Act(SawyerEnvironment env, Span<float> action)
        {
            var phi = ((LeverPullV2)env).LeverAngle;
            var tip = env.ObjectPosition;
            var tcp = env.TcpCenter;
            var start = tip - Edge - new Vec3(0, 0, 0.05);
            if (!_under && new Vec3(tcp.X - start.X, tcp.Y - start.Y, 0).Norm() < 0.015) _under = true;
            Vec3 waypoint;
            if (!_under) waypoint = new Vec3(start.X, start.Y, Math.Min(tcp.Z, start.Z));
            else
            {
                var travel = new Vec3(0, Math.Sin(phi), Math.Cos(phi));
                var towardAxis = new Vec3(0, Math.Cos(phi), -Math.Sin(phi));
                var push = phi < Math.PI / 2 - 0.05 ? 0.25 : 0.0;
                waypoint = tip - Edge + travel * push + towardAxis * 0.04;
            }
            MoveTo(env, waypoint, 1, action);
        }
    }
}
