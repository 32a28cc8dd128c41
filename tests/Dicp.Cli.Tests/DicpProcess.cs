using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Dicp.Cli.Tests;

/// <summary>Runs the real <c>dicp</c> executable (<c>dotnet dicp.dll</c> from the test's output folder) as a separate process.</summary>
internal sealed partial class DicpProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new(), _stderr = new();

    /// <summary>Starts <c>dicp ARGS</c> in <paramref name="workingDirectory"/>.</summary>
    public DicpProcess(string workingDirectory, params string[] args) : this(null, workingDirectory, args) { }

    /// <summary>Starts <c>dicp ARGS</c> in <paramref name="workingDirectory"/> with <paramref name="environment"/> added to the inherited variables.</summary>
    public DicpProcess(IReadOnlyDictionary<string, string>? environment, string workingDirectory, params string[] args)
    {
        // The tests started with SIGINT ignored (e.g. `bash test.sh &` from a script) would pass that on to dicp, and the
        // signal tests would see nothing: coreutils' env restores the default disposition, then execs dotnet (same pid).
        var psi = new ProcessStartInfo(SigIntIgnored ? "env" : "dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        if (SigIntIgnored) { psi.ArgumentList.Add("--default-signal=INT"); psi.ArgumentList.Add("dotnet"); }
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dicp.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The test host runs under MSBuild/VSTest; a nested dotnet must not inherit their settings.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH").ToList())
            psi.Environment.Remove(key);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        Arguments = string.Join(' ', args);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.Append(e.Data).Append('\n'); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.Append(e.Data).Append('\n'); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Arguments { get; }

    /// <summary>Whether this process has SIGINT ignored (Linux: bit 1 of SigIgn in /proc/self/status), which children inherit.</summary>
    private static bool SigIntIgnored { get; } = ReadSigIntIgnored();

    private static bool ReadSigIntIgnored()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0; // SIGINT = 2
        }
        catch (IOException) { return false; }
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public bool HasExited => _process.HasExited;

    /// <summary>Runs <c>dicp ARGS</c> to the end; returns exit code, stdout and stderr.</summary>
    public static (int Code, string Stdout, string Stderr) Run(string workingDirectory, params string[] args)
    {
        using var p = new DicpProcess(workingDirectory, args);
        return p.Wait();
    }

    /// <summary>Runs <c>dicp ARGS</c> with extra environment variables to the end; returns exit code, stdout and stderr.</summary>
    public static (int Code, string Stdout, string Stderr) Run(IReadOnlyDictionary<string, string> environment, string workingDirectory, params string[] args)
    {
        using var p = new DicpProcess(environment, workingDirectory, args);
        return p.Wait();
    }

    /// <summary>Waits for the process (at most 10 minutes) and returns its exit code.</summary>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dicp {Arguments} did not finish in 10 minutes:\n{Stdout}\n{Stderr}");
        }
        _process.WaitForExit(); // drains the output readers
        return _process.ExitCode;
    }

    /// <summary>Waits for the exit (at most 10 minutes) and returns (exit code, stdout, stderr).</summary>
    public (int Code, string Stdout, string Stderr) Wait()
    {
        var code = WaitForExit();
        return (code, Stdout, Stderr);
    }

    /// <summary>Waits until standard output contains <paramref name="text"/>; false if the process ends or the timeout passes first.</summary>
    public bool WaitForOutput(string text, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (Stdout.Contains(text, StringComparison.Ordinal)) return true;
            if (_process.HasExited) return Stdout.Contains(text, StringComparison.Ordinal);
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>Sends the POSIX signal named INT, TERM or KILL.</summary>
    public void Signal(string signal) => Signal(signal switch
    {
        "INT" => 2,
        "KILL" => 9,
        "TERM" => 15,
        _ => throw new ArgumentException($"unknown signal '{signal}'", nameof(signal)),
    });

    /// <summary>Sends a POSIX signal (2 SIGINT, 9 SIGKILL, 15 SIGTERM) to the process.</summary>
    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}.");
    }

    /// <summary>Waits until <paramref name="condition"/> holds (polling), failing after <paramref name="seconds"/> or when the process exits first.</summary>
    public void WaitUntil(Func<bool> condition, string what, int seconds = 300)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (_process.HasExited) throw new InvalidOperationException($"dicp {Arguments} exited ({_process.ExitCode}) before {what}:\n{Stdout}\n{Stderr}");
            if (watch.Elapsed.TotalSeconds > seconds) throw new TimeoutException($"dicp {Arguments}: no {what} after {seconds} s.");
            Thread.Sleep(20);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
