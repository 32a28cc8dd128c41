using System.Reflection;
using Xunit;

namespace Dicp.Planning.Tests;

/// <summary>The layering rule of the solution: Dicp.Planning references Dicp.Core and no other Dicp assembly.</summary>
public class DependencyTests
{
    [Fact]
    public void PlanningDependsOnCoreOnly()
    {
        var asm = Assembly.Load("Dicp.Planning");
        var dicpRefs = asm.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Dicp", StringComparison.Ordinal)).ToArray();
        Assert.All(dicpRefs, n => Assert.Equal("Dicp.Core", n));
    }
}
