namespace Dicp.Kernels;

/// <summary>Process-wide kernel choices, read once from the environment.</summary>
internal static class KernelOptions
{
    /// <summary>
    /// <c>DICP_KERNELS=portable</c>: run the kernels as they were before the AVX2-specific paths (the 6 × 16 GEMM panel),
    /// as a reference. Results are the same bit for bit either way; only the speed differs.
    /// </summary>
    public static readonly bool Portable =
        string.Equals(Environment.GetEnvironmentVariable("DICP_KERNELS"), "portable", StringComparison.OrdinalIgnoreCase);
}
