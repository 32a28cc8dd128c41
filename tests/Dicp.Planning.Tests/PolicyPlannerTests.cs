using Dicp.Environments;
using Dicp.Models;
using Dicp.Planning;
using Xunit;

namespace Dicp.Planning.Tests;

public sealed class PolicyPlannerTests
{
    /// <summary>A session whose policy is a fixed distribution row, repeated for every environment.</summary>
    private sealed class FixedPolicy(Space actions, float[] row, int environments) : IInContextModel, IInContextSession
    {
        public string Name => "fixed";
        public int ObservationSize => 1;
        public Space ActionSpace => actions;
        public int WindowTransitions => 1;
        public bool HasDynamics => false;
        public bool HasReturnToGo => false;
        public IInContextSession CreateSession(int environments, SessionOptions? options = null) => this;
        public IInContextModel Model => this;
        public int Environments => environments;
        public int ContextLength(int environment) => 0;
        public bool IsWindowFull(int environment) => false;
        public void Reset() { }
        public void Append(ReadOnlySpan<float> s, ReadOnlySpan<float> a, ReadOnlySpan<float> r, ReadOnlySpan<float> n, ReadOnlySpan<bool> d) { }
        public void Policy(ReadOnlySpan<float> observations, Span<float> distribution)
        {
            for (var e = 0; e < environments; e++) row.CopyTo(distribution.Slice(e * row.Length, row.Length));
        }
        public void Predict(int environment, CandidateBatch candidates, CandidatePredictions predictions) => throw new InvalidOperationException();
    }

    private static PlanRequest Request(int e) => new(new float[e], new int[e], Enumerable.Repeat(20, e).ToArray());

    [Fact]
    public void CategoricalSamplesFollowTheSoftmax()
    {
        float[] logits = [0f, MathF.Log(2f), MathF.Log(3f), MathF.Log(4f), float.NegativeInfinity]; // p = 0.1, 0.2, 0.3, 0.4, 0
        const int E = 1000, Rounds = 20;
        var s = new FixedPolicy(new DiscreteSpace(5), logits, E);
        var planner = new PolicyPlanner(new PolicyPlannerOptions(Seed: 1));
        var counts = new int[5];
        var actions = new float[E];
        for (var r = 0; r < Rounds; r++)
        {
            planner.Plan(s, Request(E), actions);
            foreach (var a in actions) counts[(int)a]++;
        }
        double n = E * Rounds;
        for (var k = 0; k < 4; k++) Assert.Equal(0.1 * (k + 1), counts[k] / n, 0.012); // 4σ, σ ≤ 0.0035 at n = 20 000
        Assert.Equal(0, counts[4]);

        var greedy = new PolicyPlanner(new PolicyPlannerOptions(Greedy: true));
        greedy.Plan(s, Request(E), actions);
        Assert.All(actions, a => Assert.Equal(3f, a));
    }

    [Fact]
    public void GaussianSamplesHaveTheMeanAndVarianceAndAreClipped()
    {
        var box = new BoxSpace([-1f, -10f], [1f, 10f]);
        float[] row = [0.5f, -2f, MathF.Log(0.04f), MathF.Log(4f)]; // means 0.5, −2; variances 0.04, 4
        const int E = 20000;
        var s = new FixedPolicy(box, row, E);
        var actions = new float[2 * E];
        new PolicyPlanner(new PolicyPlannerOptions(Seed: 2)).Plan(s, Request(E), actions);
        var x = Enumerable.Range(0, E).Select(i => (double)actions[2 * i]).ToArray();
        var y = Enumerable.Range(0, E).Select(i => (double)actions[2 * i + 1]).ToArray();
        Assert.Equal(0.5, x.Average(), 0.006);                          // 4σ
        Assert.Equal(-2.0, y.Average(), 0.06);
        Assert.Equal(4.0, y.Select(v => (v + 2) * (v + 2)).Average(), 0.17);  // σ = 4·√(2/n) = 0.04
        Assert.True(x.Max() <= 1.0 && x.Count(v => v == 1.0) > 0); // P(x > 1) ≈ 0.6 %: clipped to the bound

        new PolicyPlanner(new PolicyPlannerOptions(Greedy: true)).Plan(s, Request(E), actions);
        Assert.Equal([0.5f, -2f], actions[..2]);
    }

    [Fact]
    public void SameSeedSameActionsAndBufferErrors()
    {
        var s = new FixedPolicy(new DiscreteSpace(5), [0f, 0f, 0f, 0f, 0f], 50);
        float[] a = new float[50], b = new float[50];
        new PolicyPlanner(new PolicyPlannerOptions(Seed: 9)).Plan(s, Request(50), a);
        new PolicyPlanner(new PolicyPlannerOptions(Seed: 9)).Plan(s, Request(50), b);
        Assert.Equal(a, b);
        Assert.Throws<ArgumentException>(() => new PolicyPlanner().Plan(s, Request(50), new float[49]));
        Assert.Throws<ArgumentException>(() => new PolicyPlanner().Plan(s, Request(3), a));
    }
}
