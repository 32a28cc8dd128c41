namespace Dicp.Kernels;

/// <summary>The body of <see cref="ParallelLoop.ForRanges"/>: a struct that processes items [start, end).</summary>
internal interface IRangeBody
{
    /// <summary>Processes items <paramref name="start"/> (inclusive) to <paramref name="end"/> (exclusive).</summary>
    void Run(int start, int end);
}
