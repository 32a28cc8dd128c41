using Xunit;
using static Dicp.Tests.TestUtil.GradCheck;
using O = Dicp.Tensors.Ops;

namespace Dicp.Tests.Ops;

/// <summary>
/// Backward kernels that overwrite a fresh (uncleared) gradient and accumulate into an existing one: an input feeding
/// several ops, and the same tensor passed twice, must still get the sum of all contributions.
/// </summary>
public class FreshGradientTests
{
    [Fact]
    public void InputSharedByTwoLinearsAndAResidualAdd() =>
        Check(x => O.Add(O.Add(O.Linear(x[0], x[1]), O.Linear(x[0], x[2])), x[0]), [Randn(1, 1f, 3, 40, 8), Randn(2, 1f, 8, 8), Randn(3, 1f, 8, 8)]);

    [Fact]
    public void SwiGluOfOneTensorWithItself() =>
        Check(x => O.SwiGlu(x[0], x[0]), [Randn(4, 1f, 5, 300)]);

    [Fact]
    public void AddOfOneTensorWithItselfThenSwiGlu() =>
        Check(x => O.SwiGlu(O.Add(x[0], x[0]), x[1]), [Randn(5, 1f, 4, 70), Randn(6, 1f, 4, 70)]);
}
