using System.Diagnostics;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Dicp.Cli.Tests;

/// <summary>
/// Packs the three libraries under a fresh prerelease version into a temporary feed, then builds and runs
/// <c>samples/Dicp.Samples.PackageConsumer</c> against those packages (not the projects).
/// </summary>
public sealed class PackageConsumerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _feed = Path.Combine(Path.GetTempPath(), "dicp-feed-" + Guid.NewGuid().ToString("N"));

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public void Dispose()
    {
        if (Directory.Exists(_feed)) Directory.Delete(_feed, recursive: true);
    }

    [Fact]
    public void ConsumerBuildsAndRunsAgainstFreshlyPackedPackages()
    {
        var repo = RepositoryRoot();
        // A version no cache has seen, so the consumer can only restore the packages packed here.
        var suffix = "consumertest." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);
        // --no-build packs what the test run already built (no second build racing the test run's outputs).
        Run(repo, $"pack Dicp.sln -c {Configuration} --no-build -o \"{_feed}\" --version-suffix {suffix}");
        var packages = Directory.GetFiles(_feed, "*.nupkg").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(new[] { "Dicp.Core", "Dicp.Environments", "Dicp.Planning" }.Select(p => $"{p}.0.1.0-{suffix}.nupkg"), packages);

        var consumer = Path.Combine(repo, "samples", "Dicp.Samples.PackageConsumer");
        var obj = Path.Combine(consumer, "obj");
        var bin = Path.Combine(_feed, "bin") + Path.DirectorySeparatorChar;
        Run(consumer, $"build -c Release -p:DicpVersion=0.1.0-{suffix} -p:RestoreAdditionalProjectSources=\"{_feed}\" -p:OutputPath=\"{bin}\"");

        // The consumer resolved the three libraries as packages of the fresh version.
        using var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(obj, "project.assets.json")));
        var libraries = assets.RootElement.GetProperty("libraries");
        foreach (var id in new[] { "Dicp.Core", "Dicp.Environments", "Dicp.Planning" })
            Assert.Equal("package", libraries.GetProperty($"{id}/0.1.0-{suffix}").GetProperty("type").GetString());

        var stdout = Run(bin, $"\"{Path.Combine(bin, "Dicp.Samples.PackageConsumer.dll")}\"");
        Assert.Contains("dicp-ad with", stdout);
        Assert.Contains("planner beam", stdout);
        Assert.Contains("returns on goal 38:", stdout);
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Dicp.sln"))) return d.FullName;
        throw new InvalidOperationException($"No Dicp.sln above {AppContext.BaseDirectory}.");
    }

    private string Run(string workingDirectory, string arguments)
    {
        var psi = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The test host runs under MSBuild/VSTest; a nested dotnet must not inherit their settings.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH").ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) p.Kill(entireProcessTree: true);
        output.WriteLine($"dotnet {arguments}\n{stdout}\n{stderr.Result}");
        Assert.True(p.ExitCode == 0, $"dotnet {arguments} exited with {p.ExitCode}:\n{stdout}\n{stderr.Result}");
        return stdout;
    }
}
