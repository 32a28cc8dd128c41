using System.Runtime.InteropServices;

namespace Dicp.Cli;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM: the first one cancels the running command, which stops at its next safe point (train
/// writes a checkpoint, collect keeps its finished tasks) and exits with 128 + the signal number (130, 143); a second
/// one ends the process at once.
/// </summary>
internal static class CliSignals
{
    private static readonly CancellationTokenSource Source = new();
    private static int _signal;

    /// <summary>Cancelled by the first SIGINT or SIGTERM.</summary>
    public static CancellationToken Token => Source.Token;

    /// <summary>The signal number received first (2 SIGINT, 15 SIGTERM), or 0.</summary>
    public static int Received => Volatile.Read(ref _signal);

    /// <summary>Registers the handlers; dispose the result when the command is done.</summary>
    public static IDisposable Install() => new Registrations(
        PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
        PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle));

    /// <summary>
    /// The process's exit code: a cancelled command's 130 becomes 128 + the signal received (143 for SIGTERM).
    /// </summary>
    public static int ExitCode(int code) => code == 130 && Received != 0 ? 128 + Received : code;

    private static void Handle(PosixSignalContext context)
    {
        var number = context.Signal == PosixSignal.SIGTERM ? 15 : 2;
        if (Interlocked.CompareExchange(ref _signal, number, 0) != 0) return; // a second signal: default action (terminate)
        context.Cancel = true;
        Console.Error.WriteLine($"{(number == 15 ? "SIGTERM" : "SIGINT")}: stopping at the next safe point (send it again to stop at once)...");
        Source.Cancel();
    }

    private sealed class Registrations(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var r in items) r.Dispose();
        }
    }
}
