using Dicp.Tensors;
using Xunit;

namespace Dicp.Tests.TestUtil;

/// <summary>Numeric assertions with stated tolerances: |actual − expected| ≤ atol + rtol·|expected| element-wise.</summary>
public static class Close
{
    public static void Assert(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atol, string what)
    {
        Xunit.Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}.");
        var worst = -1;
        double worstExcess = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            var excess = Math.Abs(a - e) - (atol + rtol * Math.Abs(e));
            if (double.IsNaN(a) || double.IsNaN(excess)) { worst = i; worstExcess = double.PositiveInfinity; break; }
            if (excess > worstExcess) { worstExcess = excess; worst = i; }
        }
        if (worst >= 0)
            Xunit.Assert.Fail($"{what}: element {worst} is {actual[worst]:R}, expected {expected[worst]:R} (rtol {rtol}, atol {atol}).");
    }

    public static void Assert(Tensor expected, Tensor actual, double rtol, double atol, string what)
    {
        Xunit.Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{what}: shape [{string.Join(", ", actual.Shape.ToArray())}], expected [{string.Join(", ", expected.Shape.ToArray())}].");
        Assert(expected.Span, actual.Span, rtol, atol, what);
    }
}
