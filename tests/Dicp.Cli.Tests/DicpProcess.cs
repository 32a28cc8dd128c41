using System.Diagnostics;

namespace Dicp.Cli.Tests;

/// <summary>Runs the real <c>dicp</c> executable (the built <c>dicp.dll</c> next to the tests) as a child process.</summary>
internal sealed class DicpProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;
    private readonly System.Text.StringBuilder _stdout = new();
    private readonly object _gate = new();

    /// <summary>Starts <c>dicp ARGS</c> in <paramref name="workingDirectory"/>.</summary>
    public DicpProcess(string workingDirectory, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "dicp.dll");
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The test host runs under MSBuild/VSTest; the child must not inherit their settings.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_gate) _stdout.AppendLine(e.Data);
        };
        _process.BeginOutputReadLine();
        _stderr = _process.StandardError.ReadToEndAsync();
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Standard output so far.</summary>
    public string Stdout
    {
        get
        {
            lock (_gate) return _stdout.ToString();
        }
    }

    /// <summary>Waits until standard output contains <paramref name="text"/> (or the process ends, or the timeout passes).</summary>
    public bool WaitForOutput(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (Stdout.Contains(text, StringComparison.Ordinal)) return true;
            if (_process.HasExited) return Stdout.Contains(text, StringComparison.Ordinal);
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>Sends a POSIX signal (INT, TERM, KILL) with the system's <c>kill</c>.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {_process.Id}") { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    /// <summary>Waits for the exit and returns (exit code, stdout, stderr).</summary>
    public (int Code, string Stdout, string Stderr) Wait(TimeSpan? timeout = null)
    {
        if (!_process.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dicp did not exit in time; output so far:\n{Stdout}");
        }
        _process.WaitForExit(); // drains the asynchronous output
        return (_process.ExitCode, Stdout, _stderr.Result);
    }

    /// <summary>Runs <c>dicp ARGS</c> to the end.</summary>
    public static (int Code, string Stdout, string Stderr) Run(string workingDirectory, params string[] args)
    {
        using var p = new DicpProcess(workingDirectory, args);
        return p.Wait();
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
