using Dicp.Kernels;
using Dicp.Tensors;

namespace Dicp;

/// <summary>
/// The environment variables that change how Dicp's engine computes: <c>DICP_NUMERICS</c> (the kernels' numerics level,
/// 1 to the newest; default the newest), <c>DICP_ATTENTION_BUDGET_MB</c> (when attention recomputes its probabilities
/// instead of keeping them) and <c>DICP_KERNELS=portable</c> (reference kernels, same results, slower).
/// </summary>
public static class EngineEnvironment
{
    /// <summary>
    /// The problem with the engine's environment variables in one line (the variable and its value), or null when they
    /// are valid. Applications call it at start-up so a bad value is reported there, not at the first kernel.
    /// </summary>
    public static string? Problem()
    {
        try
        {
            _ = KernelOptions.Numerics;
            _ = Ops.AttentionProbabilityBudgetBytes;
            return null;
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// How this process's kernels round, e.g. <c>numerics 2, avx2</c>: the numerics level and the widest vector path of
    /// the host. Two processes with the same value compute the same results bit for bit; training checkpoints record it.
    /// </summary>
    public static string Numerics => KernelOptions.Fingerprint;
}
