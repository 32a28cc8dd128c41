using System.Diagnostics;
using Xunit;

namespace Dicp.Cli.Tests;

/// <summary>
/// The shell tools that drive the long Darkroom runs, run with a stand-in for <c>dicp</c> that records its calls and
/// makes the files each step is skipped on: what is checked is the tools' own logic (which steps run, how often, and
/// how they answer bad arguments), not the library's.
/// </summary>
public sealed class ToolScriptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dicp-tools-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Tool(string name) => Path.Combine(Path.GetDirectoryName(RunConfigTests.ConfigsDirectory())!, "tools", name);

    // A fake dicp: appends its arguments to $RUNS/calls; `collect` takes a second (so two invocations overlap) and
    // writes OUT/manifest.json, `train` writes OUT/model.safetensors and `evaluate` writes OUT.
    private string FakeDicp()
    {
        var path = Path.Combine(_dir, "fake-dicp");
        File.WriteAllText(path, """
            #!/usr/bin/env bash
            echo "$*" >> "$RUNS/calls"
            cmd=$1; shift; out=
            while [ $# -gt 0 ]; do case $1 in --out) out=$2; shift;; esac; shift; done
            case $cmd in
              collect) sleep 1; mkdir -p "$out"; echo '{}' > "$out/manifest.json";;
              train) mkdir -p "$out"; : > "$out/model.safetensors";;
              evaluate) : > "$out";;
            esac
            """.ReplaceLineEndings("\n"));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private Process Start(string script, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        psi.ArgumentList.Add(Tool(script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    private static (int ExitCode, string Stderr) Finish(Process p)
    {
        // Both streams are drained asynchronously, so that a tool that hangs fails at the timeout instead of blocking a read.
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "the tool did not finish within 60 s");
        _ = stdout.Result;
        return (p.ExitCode, stderr.Result);
    }

    [Fact]
    public void TwoPaperScaleInvocationsStartedTogetherCollectTheHistoriesOnce()
    {
        if (OperatingSystem.IsWindows()) return; // the tools are bash scripts for the Linux machines that run the long jobs
        var runs = Path.Combine(_dir, "runs");
        var env3 = new Dictionary<string, string> { ["DICP"] = FakeDicp(), ["RUNS"] = runs, ["SPLIT"] = "3" };
        var env4 = new Dictionary<string, string>(env3) { ["SPLIT"] = "4" };
        using var a = Start("darkroom-paper-scale.sh", env3, "ad");
        using var b = Start("darkroom-paper-scale.sh", env4, "ad");
        var (ra, ea) = Finish(a);
        var (rb, eb) = Finish(b);
        Assert.True(ra == 0, ea);
        Assert.True(rb == 0, eb);
        var calls = File.ReadAllLines(Path.Combine(runs, "calls"));
        // Split 0's full collection once (both need it; without the lock both would make it), then each split's own.
        Assert.Single(calls, c => c.StartsWith("collect --env darkroom --out data/darkroom -q", StringComparison.Ordinal));
        foreach (var s in new[] { 3, 4 })
        {
            Assert.Single(calls, c => c.StartsWith($"collect --env darkroom --out data/darkroom-split{s} --split-seed {s}", StringComparison.Ordinal));
            Assert.Single(calls, c => c.StartsWith("train ", StringComparison.Ordinal) && c.Contains($"--out runs/ad-darkroom-split{s}", StringComparison.Ordinal));
            Assert.Single(calls, c => c.StartsWith($"evaluate --run runs/ad-darkroom-split{s} --planner none", StringComparison.Ordinal));
        }
        Assert.Equal(7, calls.Length);

        // Rerun: every output exists, so nothing is called again.
        using var c = Start("darkroom-paper-scale.sh", env3, "ad");
        Assert.Equal(0, Finish(c).ExitCode);
        Assert.Equal(7, File.ReadAllLines(Path.Combine(runs, "calls")).Length);
    }

    [Theory]
    [InlineData("darkroom-paper-scale.sh", "no-such-model")]
    [InlineData("darkroom-paper-scale.sh", "all", "ad")]
    [InlineData("carry-runs.sh", "watch", "0")]
    [InlineData("carry-runs.sh", "watch", "30", "extra")]
    [InlineData("carry-runs.sh", "bogus")]
    public void BadArgumentsGetOneLineAndExitCode2(string script, params string[] args)
    {
        if (OperatingSystem.IsWindows()) return;
        var env = new Dictionary<string, string> { ["DICP"] = FakeDicp(), ["RUNS"] = Path.Combine(_dir, "runs"), ["CARRY"] = Path.Combine(_dir, "carry") };
        using var p = Start(script, env, args);
        var (rc, stderr) = Finish(p);
        Assert.Equal(2, rc);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(Path.Combine(_dir, "runs", "calls")), "a refused invocation must not call dicp");
    }
}
