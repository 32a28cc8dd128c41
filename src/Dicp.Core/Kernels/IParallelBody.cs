namespace Dicp.Kernels;

/// <summary>
/// The body of a <see cref="ParallelLoop"/>: a (readonly) struct that carries the loop's arguments as fields, so that
/// starting a loop allocates no closure.
/// </summary>
internal interface IParallelBody
{
    /// <summary>Runs iteration <paramref name="index"/>; iterations must write disjoint outputs.</summary>
    void Run(int index);
}
