using System.Runtime.Intrinsics;

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

    /// <summary>The newest numerics level; see <see cref="Numerics"/>.</summary>
    public const int LatestNumerics = 2;

    /// <summary>
    /// The numerics level the kernels run at (<c>DICP_NUMERICS</c>, default <see cref="LatestNumerics"/>). A level fixes
    /// how every kernel rounds on a given instruction set, so a run resumed at the level it was checkpointed at continues
    /// bit for bit. Level 1 is the rounding of the engine before 3 December 2026 on hosts without AVX-512 (generic
    /// saved-probability attention for head size 8, scalar SwiGLU backward, op-by-op dropout + RMSNorm); level 2 adds
    /// the 256-bit fused kernels there. On AVX-512 hosts both levels compute the same.
    /// </summary>
    /// <exception cref="InvalidOperationException">Read while <c>DICP_NUMERICS</c> is not a level from 1 to <see cref="LatestNumerics"/>.</exception>
    public static int Numerics
    {
        get
        {
            var v = Volatile.Read(ref _numerics);
            if (v == 0) Volatile.Write(ref _numerics, v = ReadNumerics());
            return v;
        }
    }

    private static int _numerics; // 0: not read from the environment yet

    /// <summary>Whether the level-2 kernels for hosts without AVX-512 (256-bit head-8 attention, fused SwiGLU backward,
    /// fused dropout + RMSNorm) may run.</summary>
    public static bool Avx2Fused => Numerics >= 2 && !Vector512.IsHardwareAccelerated && Vector256.IsHardwareAccelerated;

    /// <summary>
    /// A short description of the rounding this process's kernels produce, e.g. <c>numerics 2, avx2</c>: the level and
    /// the widest vector path. Checkpoints record it; a resume under another one is warned about (the run continues, but
    /// not bit for bit as it would have).
    /// </summary>
    public static string Fingerprint =>
        $"numerics {Numerics}, {(Vector512.IsHardwareAccelerated ? "avx512" : Vector256.IsHardwareAccelerated ? "avx2" : "scalar")}";

    private static int ReadNumerics()
    {
        var s = Environment.GetEnvironmentVariable("DICP_NUMERICS");
        if (string.IsNullOrWhiteSpace(s)) return LatestNumerics;
        if (int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) && v is >= 1 and <= LatestNumerics)
            return v;
        throw new InvalidOperationException($"DICP_NUMERICS must be an integer from 1 to {LatestNumerics}, got '{s}'.");
    }
}
