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
public abstract class ScriptedPolicy
{
    /// <summary>The proportional gain on the position error (metres to action units).</summary>
    public const double Gain = 25.0;

    /// <summary>The controller of <paramref name="env"/>'s task.</summary>
    /// <exception cref="ArgumentException">No controller for the task.</exception>
    public static ScriptedPolicy For(SawyerEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        return env switch
        {
            ReachV2 => new ReachPolicy(),
            PushV2 => new PickPolicy(lift: false),
            PickPlaceV2 => new PickPolicy(lift: true),
            SweepV2 => new SweepPolicy(),
            PegInsertSideV2 => new PegPolicy(),
            _ => throw new ArgumentException($"No scripted policy for {env.Name}.", nameof(env)),
        };
    }

    /// <summary>Forgets the phase of the previous episode.</summary>
    public virtual void Reset() { }

    /// <summary>Writes the next action (4 floats) for the current state of <paramref name="env"/>.</summary>
    public abstract void Act(SawyerEnvironment env, Span<float> action);

    /// <summary>Writes the move toward <paramref name="waypoint"/> and the gripper command into <paramref name="action"/>.</summary>
    protected static void MoveTo(SawyerEnvironment env, Vec3 waypoint, double grip, Span<float> action)
    {
        var e = waypoint - env.TcpCenter;
        action[0] = (float)Math.Clamp(Gain * e.X, -1, 1);
        action[1] = (float)Math.Clamp(Gain * e.Y, -1, 1);
        action[2] = (float)Math.Clamp(Gain * e.Z, -1, 1);
        action[3] = (float)grip;
    }

    /// <summary>The object position of the observation model (obs[4..7]) read from the environment.</summary>
    protected static Vec3 ObjectPos(SawyerEnvironment env) => env.ObjectPosition;

    private sealed class ReachPolicy : ScriptedPolicy
    {
        public override void Act(SawyerEnvironment env, Span<float> action) => MoveTo(env, env.TargetPos, -1, action);
    }

    /// <summary>Push (drag along the table) and pick-place (carry through the air): approach, grasp, move to the goal.</summary>
    private sealed class PickPolicy(bool lift) : ScriptedPolicy
    {
        private int _closing;

        public override void Reset() => _closing = 0;

        public override void Act(SawyerEnvironment env, Span<float> action)
        {
            var obj = ObjectPos(env);
            var tcp = env.TcpCenter;
            if (_closing == 0)
            {
                var xy = new Vec3(tcp.X - obj.X, tcp.Y - obj.Y, 0).Norm();
                if (xy > 0.015) MoveTo(env, new Vec3(obj.X, obj.Y, Math.Max(obj.Z + 0.08, Math.Min(tcp.Z, 0.15))), -1, action);
                else if (tcp.Z - obj.Z > 0.01) MoveTo(env, obj, -1, action);
                else _closing = 1;
                if (_closing == 0) return;
            }
            if (_closing < 6)
            {
                _closing++;
                MoveTo(env, obj, 1, action);
                return;
            }
            var goal = env.TargetPos;
            MoveTo(env, lift ? goal : new Vec3(goal.X, goal.Y, obj.Z), 1, action);
        }
    }

    /// <summary>Sweep: grasp the block at its centre and slide it along x to the goal at the table's edge.</summary>
    private sealed class SweepPolicy : ScriptedPolicy
    {
        private int _closing;

        public override void Reset() => _closing = 0;

        public override void Act(SawyerEnvironment env, Span<float> action)
        {
            var block = ObjectPos(env) + new Vec3(0, 0, 0.02);
            var tcp = env.TcpCenter;
            if (_closing == 0)
            {
                var xy = new Vec3(tcp.X - block.X, tcp.Y - block.Y, 0).Norm();
                if (xy > 0.015) MoveTo(env, new Vec3(block.X, block.Y, Math.Max(block.Z + 0.08, Math.Min(tcp.Z, 0.15))), -1, action);
                else if (tcp.Z - block.Z > 0.01) MoveTo(env, block, -1, action);
                else _closing = 1;
                if (_closing == 0) return;
            }
            if (_closing < 6)
            {
                _closing++;
                MoveTo(env, block, 1, action);
                return;
            }
            var goal = env.TargetPos;
            MoveTo(env, new Vec3(goal.X + 0.05, goal.Y, block.Z + 0.005), 1, action);
        }
    }

    /// <summary>Peg insertion: grasp the peg, lift it to the hole's height in front of the hole, then push it in along −x.</summary>
    private sealed class PegPolicy : ScriptedPolicy
    {
        private int _closing;
        private bool _aligned;

        public override void Reset() => (_closing, _aligned) = (0, false);

        public override void Act(SawyerEnvironment env, Span<float> action)
        {
            var peg = (PegInsertSideV2)env;
            var grasp = ObjectPos(env);
            var tcp = env.TcpCenter;
            if (_closing == 0)
            {
                var xy = new Vec3(tcp.X - grasp.X, tcp.Y - grasp.Y, 0).Norm();
                if (xy > 0.01) MoveTo(env, new Vec3(grasp.X, grasp.Y, Math.Max(grasp.Z + 0.08, Math.Min(tcp.Z, 0.15))), -1, action);
                else if (tcp.Z - grasp.Z > 0.005) MoveTo(env, grasp, -1, action);
                else _closing = 1;
                if (_closing == 0) return;
            }
            if (_closing < 6)
            {
                _closing++;
                MoveTo(env, grasp, 1, action);
                return;
            }
            var head = peg.PegHead;
            var goal = env.TargetPos;
            var pre = new Vec3(goal.X + 0.12, goal.Y, goal.Z);
            if (!_aligned && (head - pre).Norm() < 0.015) _aligned = true;
            var headWaypoint = _aligned ? new Vec3(goal.X - 0.03, goal.Y, goal.Z) : pre;
            MoveTo(env, tcp + (headWaypoint - head), 1, action);
        }
    }
}
