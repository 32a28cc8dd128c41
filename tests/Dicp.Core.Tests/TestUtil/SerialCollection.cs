using Xunit;

namespace Dicp.Tests.TestUtil;

/// <summary>
/// Tests that must not share the machine with other tests: they run after the parallel ones, one at a time (allocation
/// counts, for example, change when another test holds the kernels' parallel loop and ours falls back to
/// <c>Parallel.For</c>).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    /// <summary>The collection's name, for <c>[Collection(SerialCollection.Name)]</c>.</summary>
    public const string Name = "Serial";
}
