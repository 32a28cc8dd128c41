using Microsoft.Extensions.Logging;

namespace Dicp.Cli;

/// <summary>A minimal logger writing to the console from <see cref="CliOutput.MinimumLevel"/> up (standard error for warnings).</summary>
internal sealed class ConsoleLogger<T> : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= CliOutput.MinimumLevel && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        var line = formatter(state, exception);
        if (logLevel >= LogLevel.Warning) Console.Error.WriteLine($"warning: {line}");
        else Console.Out.WriteLine(line);
    }
}
