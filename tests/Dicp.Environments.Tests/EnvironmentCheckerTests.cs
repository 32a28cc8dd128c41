using Xunit;

namespace Dicp.Environments.Tests;

public class EnvironmentCheckerTests
{
    [Fact]
    public void Passes_OnEveryDarkroomAndPermutedTask()
    {
        var dark = new DarkroomTasks();
        for (var i = 0; i < dark.Count; i++) EnvironmentChecker.Check(dark.Create(i), i);
        var perm = new DarkroomPermutedTasks();
        for (var i = 0; i < perm.Count; i++) EnvironmentChecker.Check(perm.Create(i), i);
    }

    [Fact]
    public void Passes_OnKeyToDoorSample_AndPointRobots()
    {
        var ktd = new KeyToDoorTasks();
        for (var i = 0; i < ktd.Count; i += 97) EnvironmentChecker.Check(ktd.Create(i), i);
        EnvironmentChecker.Check(ktd.Create(3406), 7);
        var pr = new PointRobotTasks();
        for (var i = 0; i < pr.Count; i++) EnvironmentChecker.Check(pr.Create(i), i);
    }

    [Fact]
    public void Passes_OnCorrectReferenceImplementationOfTheBrokenEnv()
    {
        EnvironmentChecker.Check(new BrokenEnv(Flaw.None), 0);
    }

    [Theory]
    [InlineData(Flaw.ResetOutOfSpace, EnvironmentRule.ResetObservationInSpace, "Reset(seed=")]
    [InlineData(Flaw.StepOutOfSpace, EnvironmentRule.StepObservationInSpace, "outside Box")]
    [InlineData(Flaw.NaNReward, EnvironmentRule.RewardFinite, "reward NaN")]
    [InlineData(Flaw.TruncatesLate, EnvironmentRule.TruncatesAtHorizon, "did not truncate at step 10")]
    [InlineData(Flaw.TruncatesEarly, EnvironmentRule.TruncatesAtHorizon, "truncated early at step 9 of 10")]
    [InlineData(Flaw.NonDeterministic, EnvironmentRule.Deterministic, "diverged on replay")]
    [InlineData(Flaw.AcceptsOutOfRange, EnvironmentRule.RejectsInvalidActions, "accepted the out-of-range index 3")]
    [InlineData(Flaw.AcceptsNaN, EnvironmentRule.RejectsInvalidActions, "accepted an all-NaN action")]
    [InlineData(Flaw.WrongExceptionType, EnvironmentRule.RejectsInvalidActions, "threw IndexOutOfRangeException instead of ArgumentException")]
    [InlineData(Flaw.EmptyHorizon, EnvironmentRule.SpacesValid, "MaxEpisodeSteps is 0")]
    public void Fails_WithTheViolatedRule(Flaw flaw, EnvironmentRule rule, string messagePart)
    {
        var e = Assert.Throws<EnvironmentCheckException>(() => EnvironmentChecker.Check(new BrokenEnv(flaw), 0));
        Assert.Equal(rule, e.Rule);
        Assert.Contains($"[{rule}]", e.Message, StringComparison.Ordinal);
        Assert.Contains(messagePart, e.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(BrokenEnv), e.Message, StringComparison.Ordinal);
    }

    public enum Flaw
    {
        None,
        ResetOutOfSpace,
        StepOutOfSpace,
        NaNReward,
        TruncatesLate,
        TruncatesEarly,
        NonDeterministic,
        AcceptsOutOfRange,
        AcceptsNaN,
        WrongExceptionType,
        EmptyHorizon,
    }

    /// <summary>A 1-D walk on [0, 5] with three actions (−1, 0, +1), horizon 10, with one deliberate flaw.</summary>
    private sealed class BrokenEnv(Flaw flaw) : IEnvironment
    {
        private static int s_global; // state shared across instances and episodes: breaks determinism
        private float _pos;
        private int _steps;

        public Space ObservationSpace { get; } = new BoxSpace([0f], [5f]);
        public Space ActionSpace { get; } = new DiscreteSpace(3);
        public int MaxEpisodeSteps => flaw == Flaw.EmptyHorizon ? 0 : 10;

        public void Reset(int seed, Span<float> observation)
        {
            _pos = 2f;
            _steps = 0;
            observation[0] = flaw == Flaw.ResetOutOfSpace ? -1f : _pos;
        }

        public StepResult Step(ReadOnlySpan<float> action, Span<float> nextObservation)
        {
            float a;
            switch (flaw)
            {
                case Flaw.AcceptsOutOfRange:
                    if (action.Length != 1 || float.IsNaN(action[0])) throw new ArgumentException("bad action");
                    a = Math.Clamp(action[0], 0f, 2f);
                    break;
                case Flaw.AcceptsNaN:
                    if (action.Length != 1) throw new ArgumentException("bad action");
                    a = float.IsNaN(action[0]) ? 1f : ((DiscreteSpace)ActionSpace).ToIndex(action);
                    break;
                case Flaw.WrongExceptionType:
                    a = action[0] is >= 0f and < 3f && action[0] == MathF.Floor(action[0]) && action.Length == 1
                        ? action[0]
                        : throw new IndexOutOfRangeException("bad action");
                    break;
                default:
                    a = ((DiscreteSpace)ActionSpace).ToIndex(action);
                    break;
            }
            _pos = Math.Clamp(_pos + a - 1f, 0f, 5f);
            _steps++;
            var reward = _pos == 5f ? 1f : 0f;
            if (flaw == Flaw.NaNReward && _steps == 3) reward = float.NaN;
            if (flaw == Flaw.NonDeterministic) reward += s_global++ % 3; // replay is 20 steps later: 20 mod 3 ≠ 0
            nextObservation[0] = flaw == Flaw.StepOutOfSpace && _steps == 4 ? 6f : _pos;
            var truncated = flaw switch
            {
                Flaw.TruncatesLate => _steps >= 11,
                Flaw.TruncatesEarly => _steps >= 9,
                _ => _steps >= 10,
            };
            return new StepResult(reward, false, truncated, false);
        }
    }
}
