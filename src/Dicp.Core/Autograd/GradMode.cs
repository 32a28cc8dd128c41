using Dicp.Tensors;

namespace Dicp.Autograd;

/// <summary>Controls whether operations record the graph needed for <see cref="Tensor.Backward()"/>.</summary>
/// <remarks>The mode is per thread. Inference should run inside <c>using (GradMode.NoGrad()) { … }</c>.</remarks>
public static class GradMode
{
    [ThreadStatic] private static int _disabledDepth;

    /// <summary>Whether operations on this thread currently record gradients.</summary>
    public static bool IsEnabled => _disabledDepth == 0;

    /// <summary>Disables recording on this thread until the returned scope is disposed.</summary>
    public static NoGradScope NoGrad()
    {
        _disabledDepth++;
        return default;
    }

    /// <summary>Scope returned by <see cref="NoGrad"/>; disposing it restores the previous mode.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        /// <summary>Restores the previous mode.</summary>
        public void Dispose() => _disabledDepth--;
    }

    internal static bool ShouldRecord(Tensor a) => IsEnabled && a.RequiresGrad;
    internal static bool ShouldRecord(Tensor a, Tensor b) => IsEnabled && (a.RequiresGrad || b.RequiresGrad);
    internal static bool ShouldRecord(Tensor a, Tensor b, Tensor? c) => IsEnabled && (a.RequiresGrad || b.RequiresGrad || (c?.RequiresGrad ?? false));

    internal static bool ShouldRecord(ReadOnlySpan<Tensor> ts)
    {
        if (!IsEnabled) return false;
        foreach (var t in ts) if (t.RequiresGrad) return true;
        return false;
    }
}
