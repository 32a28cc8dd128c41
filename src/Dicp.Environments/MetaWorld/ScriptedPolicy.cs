namespace Dicp.Environments.MetaWorld;

/// <summary>
/// Hand-written controllers for the Meta-World tasks, built from each task's geometry and the environment's privileged
/// state (gripper centre, object and goal positions): expert demonstrations and a check that a task is solvable.
/// </summary>
/// <remarks>
/// Each controller moves the gripper centre toward a phase-dependent waypoint with a saturated proportional law
/// <c>a = clip(Gain · (waypoint − tcp), −1, 1)</c> (one unit moves the mocap 0.01 m per step) and opens or closes the
/// gripper. Create one per episode (<see cref="For"/>) or call <see cref="Reset"/> at the start of each episode.
/// </remarks>
public abstract partial class ScriptedPolicy
{
    /// <summary>The controller of <paramref name="env"/>'s task.</summary>
    /// <remarks>Every task of <see cref="MetaWorldTasks.Names"/> has one.</remarks>
    /// <exception cref="ArgumentException">No controller for the task.</exception>
    public static ScriptedPolicy For(SawyerEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        return Create(env) ?? throw new ArgumentException($"No scripted policy for {env.Name}.", nameof(env));
    }

    /// <summary>Whether <see cref="For"/> has a controller for <paramref name="env"/>'s task.</summary>
    public static bool Has(SawyerEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        return Create(env) is not null;
    }

    private static ScriptedPolicy? Create(SawyerEnvironment env) => env switch
    {
        ReachV2 => new ReachPolicy(),
        PushV2 => new PickPolicy(lift: false),
        PickPlaceV2 => new PickPolicy(lift: true),
        SweepV2 => new SweepPolicy(),
        PegInsertSideV2 => new PegPolicy(),
        DrawerOpenV2 => new DrawerOpenPolicy(),
        DrawerCloseV2 => new DrawerClosePolicy(),
        ButtonPressTopdownV2 => new ButtonPolicy(),
        DoorOpenV2 => new DoorOpenPolicy(),
        DoorCloseV2 => new DoorClosePolicy(),
        SweepIntoV2 => new PickPolicy(lift: false),
        LeverPullV2 => new LeverPullPolicy(),
        WindowOpenV2 => new WindowOpenPolicy(),
        BasketballV2 => new BasketballPolicy(),
        ShelfPlaceV2 => new ShelfPlacePolicy(),
        _ => null,
    };

    /// <summary>Forgets the phase of the previous episode.</summary>
    public virtual void Reset() { }

    /// <summary>Writes the next action (4 floats) for the current state of <paramref name="env"/>.</summary>
    public abstract void Act(SawyerEnvironment env, Span<float> action);

    /// <summary>
    /// Writes the move toward <paramref name="waypoint"/> (for the gripper centre) and the gripper command: the mocap
    /// target is sent straight to <c>waypoint + (hand − tcp)</c> at up to <paramref name="speed"/> action units per axis
    /// (1 = 0.01 m per step), so the hand follows without the overshoot of integrating an error.
    /// </summary>
    protected static void MoveTo(SawyerEnvironment env, Vec3 waypoint, double grip, Span<float> action, double speed = 1.0)
    {
        var desiredMocap = waypoint + (env.HandPos - env.TcpCenter);
        var e = desiredMocap - env.MocapPosition;
        action[0] = (float)Math.Clamp(e.X / SawyerEnvironment.ActionScale, -speed, speed);
        action[1] = (float)Math.Clamp(e.Y / SawyerEnvironment.ActionScale, -speed, speed);
        action[2] = (float)Math.Clamp(e.Z / SawyerEnvironment.ActionScale, -speed, speed);
        action[3] = (float)grip;
    }

    /// <summary>
    /// An integrating move: the mocap target shifts by the gripper centre's remaining error (≤ 0.01 m per axis and
    /// step), which overcomes a steady offset (contact, the arm's reach) at the price of some overshoot.
    /// </summary>
    protected static void Nudge(SawyerEnvironment env, Vec3 waypoint, double grip, Span<float> action)
    {
        var e = waypoint - env.TcpCenter;
        action[0] = (float)Math.Clamp(e.X / SawyerEnvironment.ActionScale, -1, 1);
        action[1] = (float)Math.Clamp(e.Y / SawyerEnvironment.ActionScale, -1, 1);
        action[2] = (float)Math.Clamp(e.Z / SawyerEnvironment.ActionScale, -1, 1);
        action[3] = (float)grip;
    }

    /// <summary>The object position of the observation model (obs[4..7]) read from the environment.</summary>
    protected static Vec3 ObjectPos(SawyerEnvironment env) => env.ObjectPosition;

    private sealed class ReachPolicy : ScriptedPolicy
    {
        public override void Act(SawyerEnvironment env, Span<float> action) => MoveTo(env, env.TargetPos, -1, action);
    }

    /// <summary>
    /// The shared grasp routine: move to 3 cm above the grasp point until aligned in x–y, descend until the gripper centre is
    /// within 8 mm of it, close until the fingers stop moving (at most 15 steps), then carry toward <see cref="Carry"/>.
    /// </summary>
    private abstract class GraspPolicy : ScriptedPolicy
    {
        private const int MaxCloseSteps = 15;
        private int _phase;
        private double _lastOpening;
        private int _closing;
        private Vec3 _graspPoint;

        public override void Reset() => (_phase, _closing) = (0, 0);

        /// <summary>Where the gripper centre should close (from the object's current position).</summary>
        protected abstract Vec3 GraspPoint(SawyerEnvironment env);

        /// <summary>The waypoint once grasped (<paramref name="grasp"/>: the gripper centre at closing).</summary>
        protected abstract Vec3 Carry(SawyerEnvironment env, Vec3 grasp);

        public override void Act(SawyerEnvironment env, Span<float> action)
        {
            var tcp = env.TcpCenter;
            if (_phase == 0)
            {
                var g = GraspPoint(env);
                if (new Vec3(tcp.X - g.X, tcp.Y - g.Y, 0).Norm() > 0.01) MoveTo(env, new Vec3(g.X, g.Y, g.Z + 0.03), -1, action);
                else _phase = 1;
                if (_phase == 0) return;
            }
            if (_phase == 1)
            {
                var g = GraspPoint(env);
                if ((tcp - g).Norm() > 0.008)
                {
                    MoveTo(env, g, -1, action);
                    return;
                }
                (_phase, _graspPoint) = (2, g);
            }
            if (_phase == 2)
            {
                // Close until the fingers stop moving (or MaxCloseSteps).
                var opening = env.GripperOpening;
                var settled = _closing >= 4 && _lastOpening - opening < 0.005;
                _lastOpening = opening;
                if (!settled && _closing < MaxCloseSteps)
                {
                    _closing++;
                    MoveTo(env, _graspPoint, 1, action);
                    return;
                }
                _phase = 3;
            }
            MoveTo(env, Carry(env, _graspPoint), 1, action);
        }
    }

    /// <summary>Push (drag along the table at the grasp height) and pick-place (carry through the air).</summary>
    private sealed class PickPolicy(bool lift) : GraspPolicy
    {
        protected override Vec3 GraspPoint(SawyerEnvironment env) => env.ObjectPosition;

        protected override Vec3 Carry(SawyerEnvironment env, Vec3 grasp)
        {
            var goal = env.TargetPos;
            return lift ? goal : new Vec3(goal.X, goal.Y, grasp.Z + 0.005);
        }
    }

    /// <summary>Sweep: grasp the block at its centre and slide it along x to the goal at the table's edge.</summary>
    private sealed class SweepPolicy : GraspPolicy
    {
        protected override Vec3 GraspPoint(SawyerEnvironment env) => env.ObjectPosition + new Vec3(0, 0, 0.02);

        protected override Vec3 Carry(SawyerEnvironment env, Vec3 grasp)
        {
            var goal = env.TargetPos;
            return new Vec3(goal.X + 0.05, goal.Y, grasp.Z + 0.005);
        }
    }

    /// <summary>Peg insertion: grasp the peg, bring its head in front of the hole at the hole's height, then push it in along −x.</summary>
    private sealed class PegPolicy : GraspPolicy
    {
        private bool _aligned;

        public override void Reset()
        {
            base.Reset();
            _aligned = false;
        }

        // 1 cm below the pegGrasp site: a deeper grip that does not slip while lifting.
        protected override Vec3 GraspPoint(SawyerEnvironment env) => env.ObjectPosition + new Vec3(0, 0, -0.01);

        protected override Vec3 Carry(SawyerEnvironment env, Vec3 grasp)
        {
            var head = ((PegInsertSideV2)env).PegHead;
            var goal = env.TargetPos;
            var pre = new Vec3(goal.X + 0.12, goal.Y, goal.Z);
            if (!_aligned && (head - pre).Norm() < 0.015) _aligned = true;
            var headWaypoint = _aligned ? new Vec3(goal.X - 0.03, goal.Y, goal.Z) : pre;
            return env.TcpCenter + (headWaypoint - head);
        }
    }

    /// <summary>Drawer open: grasp the handle and pull it along −y to the goal.</summary>
    private sealed class DrawerOpenPolicy : GraspPolicy
    {
        protected override Vec3 GraspPoint(SawyerEnvironment env) => env.ObjectPosition;

        protected override Vec3 Carry(SawyerEnvironment env, Vec3 grasp) => new(grasp.X, env.TargetPos.Y - 0.01, grasp.Z);
    }

    /// <summary>
    /// Come down onto a start point and push from there: head for the point <see cref="Above"/> the start until within
    /// the tolerance of it in x-y, then descend to the start until within the tolerance in z, then steer to
    /// <see cref="Push"/> for the rest of the episode.
    /// </summary>
    private abstract class PushPolicy(double tolerance) : ScriptedPolicy
    {
        private int _phase;

        public override void Reset() => _phase = 0;

        /// <summary>Where the push starts (recomputed every step from the scene).</summary>
        protected abstract Vec3 Start(SawyerEnvironment env);

        /// <summary>The approach point above <paramref name="start"/> (default 8 cm above it).</summary>
        protected virtual Vec3 Above(Vec3 start) => new(start.X, start.Y, start.Z + 0.08);

        /// <summary>The waypoint of the push phase.</summary>
        protected abstract Vec3 Push(SawyerEnvironment env, Vec3 start);

        /// <summary>Moves the hand toward <paramref name="waypoint"/> with the gripper closed (default <see cref="Nudge"/>).</summary>
        protected virtual void Steer(SawyerEnvironment env, Vec3 waypoint, Span<float> action) => Nudge(env, waypoint, 1, action);

        public override void Act(SawyerEnvironment env, Span<float> action)
        {
            var start = Start(env);
            var tcp = env.TcpCenter;
            if (_phase == 0 && new Vec3(tcp.X - start.X, tcp.Y - start.Y, 0).Norm() < tolerance) _phase = 1;
            if (_phase == 1 && Math.Abs(tcp.Z - start.Z) < tolerance) _phase = 2;
            Steer(env, _phase switch { 0 => Above(start), 1 => start, _ => Push(env, start) }, action);
        }
    }

    /// <summary>Drawer close: come down in front of the drawer's face and push it along +y past the goal.</summary>
    private sealed class DrawerClosePolicy() : PushPolicy(0.01)
    {
        protected override Vec3 Start(SawyerEnvironment env)
        {
            var handle = env.ObjectPosition;
            return new Vec3(handle.X, handle.Y - 0.05, handle.Z - 0.03);
        }

        protected override Vec3 Push(SawyerEnvironment env, Vec3 start) => new(env.ObjectPosition.X, env.TargetPos.Y + 0.05, start.Z);

        protected override void Steer(SawyerEnvironment env, Vec3 waypoint, Span<float> action) => MoveTo(env, waypoint, 1, action);
    }

    /// <summary>Button press from above: hover over the button top with the gripper closed, then push straight down.</summary>
    private sealed class ButtonPolicy : ScriptedPolicy
    {
        private bool _above;

        public override void Reset() => _above = false;

        public override void Act(SawyerEnvironment env, Span<float> action)
        {
            var button = env.ObjectPosition;
            var tcp = env.TcpCenter;
            if (!_above && new Vec3(tcp.X - button.X, tcp.Y - button.Y, 0).Norm() < 0.02) _above = true;
            var waypoint = _above
                ? new Vec3(button.X, button.Y, env.TargetPos.Z - 0.03)
                : new Vec3(button.X, button.Y, button.Z + 0.02);
            Nudge(env, waypoint, 1, action);
        }
    }

    /// <summary>The panel direction (cos θ, sin θ, 0) of a door at hinge angle θ (the closed door extends along +x).</summary>
    private static Vec3 PanelDirection(double theta) => new(Math.Cos(theta), Math.Sin(theta), 0);

    /// <summary>The panel normal (−sin θ, cos θ, 0): the direction a panel point moves as θ grows (closing).</summary>
    private static Vec3 PanelNormal(double theta) => new(-Math.Sin(theta), Math.Cos(theta), 0);

    /// <summary>Door close: come down beside the open panel and push it around the hinge.</summary>
    private sealed class DoorClosePolicy() : PushPolicy(0.02)
    {
        private const double Radius = 0.22;

        protected override Vec3 Start(SawyerEnvironment env)
        {
            var door = (DoorCloseV2)env;
            var theta = door.DoorAngle;
            var start = door.Hinge + PanelDirection(theta) * Radius - PanelNormal(theta) * 0.06;
            return new Vec3(start.X, start.Y, 0.1);
        }

        protected override Vec3 Above(Vec3 start) => new(start.X, start.Y, 0.25);

        protected override Vec3 Push(SawyerEnvironment env, Vec3 start)
        {
            var door = (DoorCloseV2)env;
            var p = door.Hinge + PanelDirection(Math.Min(door.DoorAngle + 0.5, 0.2)) * Radius;
            return new Vec3(p.X, p.Y, 0.1);
        }
    }
}
