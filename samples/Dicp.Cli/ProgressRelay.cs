namespace Dicp.Cli;

/// <summary>An <see cref="IProgress{T}"/> that calls its action on the reporting thread (no synchronisation context).</summary>
internal sealed class ProgressRelay<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
