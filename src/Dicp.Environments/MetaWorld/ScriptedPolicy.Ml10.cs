namespace Dicp.Environments.MetaWorld;

public abstract partial class ScriptedPolicy
{
    /// <summary>Window open: come down just left of the handle with a closed fist and push it along +x past the goal.</summary>
    private sealed class WindowOpenPolicy() : PushPolicy(0.01)
    {
        protected override Vec3 Start(SawyerEnvironment env)
        {
            var handle = env.ObjectPosition;
            return new Vec3(handle.X - 0.02, handle.Y, handle.Z);
        }

        protected override Vec3 Push(SawyerEnvironment env, Vec3 start) => new(env.TargetPos.X + 0.03, env.ObjectPosition.Y, env.ObjectPosition.Z);
    }

    /// <summary>
    /// Grasp-and-place over an obstacle: grasp the object, lift it straight up until it is above
    /// <see cref="ClearHeight"/>, then head for the point above the drop at <see cref="CarryHeight"/> (still rising),
    /// and once over it lower the object to <see cref="Drop"/>.
    /// </summary>
    private abstract class LiftAndPlacePolicy : GraspPolicy
    {
        private int _carry;

        public override void Reset()
        {
            base.Reset();
            _carry = 0;
        }

        protected override Vec3 GraspPoint(SawyerEnvironment env) => env.ObjectPosition;

        /// <summary>Where the object should end up.</summary>
        protected abstract Vec3 Drop(SawyerEnvironment env);

        /// <summary>The height of the transfer.</summary>
        protected abstract double CarryHeight(SawyerEnvironment env);

        /// <summary>The object height from which it may move sideways.</summary>
        protected abstract double ClearHeight(SawyerEnvironment env);

        protected override Vec3 Carry(SawyerEnvironment env, Vec3 grasp)
        {
            var tcp = env.TcpCenter;
            var obj = env.ObjectPosition;
            var offset = tcp - obj; // carry the object, not the gripper centre
            var drop = Drop(env);
            var height = CarryHeight(env);
            if (_carry == 0 && obj.Z > ClearHeight(env)) _carry = 1;
            if (_carry == 1 && new Vec3(obj.X - drop.X, obj.Y - drop.Y, 0).Norm() < 0.015) _carry = 2;
            var objWaypoint = _carry switch
            {
                0 => new Vec3(grasp.X, grasp.Y, height),
                1 => new Vec3(drop.X, drop.Y, height),
                _ => drop,
            };
            return objWaypoint + offset;
        }
    }

    /// <summary>Basketball: lift the ball above the hoop, move over it and lower it into the ring.</summary>
    private sealed class BasketballPolicy : LiftAndPlacePolicy
    {
        protected override Vec3 Drop(SawyerEnvironment env) => ((BasketballV2)env).RewardTarget;

        protected override double CarryHeight(SawyerEnvironment env) => BasketballV2.TargetHeight + 0.02;

        protected override double ClearHeight(SawyerEnvironment env) => 0.15;
    }

    /// <summary>Shelf place: lift the block above the shelf floor, move over the goal and set it down.</summary>
    private sealed class ShelfPlacePolicy : LiftAndPlacePolicy
    {
        protected override Vec3 Drop(SawyerEnvironment env) => env.TargetPos;

        protected override double CarryHeight(SawyerEnvironment env) => env.TargetPos.Z + 0.02;

        protected override double ClearHeight(SawyerEnvironment env) => env.TargetPos.Z - 0.1;
    }
}
