using System.Reflection;
using Xunit;

namespace Dicp.Environments.Tests;

/// <summary>The layering rule of the solution: Dicp.Environments references Dicp.Core and no other Dicp assembly.</summary>
public class DependencyTests
{
    [Fact]
    public void EnvironmentsDependsOnCoreOnly()
    {
        var asm = Assembly.Load("Dicp.Environments");
        var dicpRefs = asm.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Dicp", StringComparison.Ordinal)).ToArray();
        Assert.All(dicpRefs, n => Assert.Equal("Dicp.Core", n));
    }
}
