using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;
using Xunit.Abstractions;

namespace Dicp.Cli.Tests;

/// <summary>
/// Packs the libraries and the <c>dicp</c> tool under a fresh prerelease version into a feed outside the repository, then,
/// as a user would from their own project: builds and runs a copy of <c>samples/Dicp.Samples.PackageConsumer</c> (outside
/// the repository, so the repository's nuget.config and build props play no part) against that feed, and installs the
/// tool from it. Everything — feed, consumer, tool, and the NuGet package folder (<c>NUGET_PACKAGES</c>) — lives in one
/// unique temporary folder that is deleted afterwards: the user's global package folder is never written, and
/// concurrent runs cannot collide.
/// </summary>
public sealed partial class PackageConsumerTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Libraries = ["Dicp.Core", "Dicp.Environments", "Dicp.Planning"];
    // Packed too, not consumed by the sample: the TorchSharp backend and the importers of the authors' files.
    private static readonly string[] Extensions = ["Dicp.Interop", "Dicp.TorchSharp"];
    private static readonly string[] Packages = ["Dicp.Cli", .. Libraries, .. Extensions];

    private readonly string _root = Directory.CreateTempSubdirectory("dicp-consumer-").FullName;

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public void Dispose()
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 5)
            {
                Thread.Sleep(500);
            }
        }
    }

    [Fact]
    public void ConsumerAndToolInstallFromAFeedOutsideTheRepositoryWithAnIsolatedPackageFolder()
    {
        var repo = RepositoryRoot();
        string feed = Path.Combine(_root, "feed"), packages = Path.Combine(_root, "nuget-packages"), consumer = Path.Combine(_root, "consumer");
        var globalFolder = GlobalPackagesFolder();
        // A version no cache has seen, so the consumer can only restore the packages packed here.
        var version = "0.1.0-consumertest." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture)
            + ".r" + Path.GetFileName(_root).Replace("dicp-consumer-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        var suffix = version["0.1.0-".Length..];

        // --no-build packs what the test run already built (no second build racing the test run's outputs).
        Run(repo, packages, "pack", "Dicp.sln", "-c", Configuration, "--no-build", "-o", feed, "--version-suffix", suffix);
        var packed = Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(Packages.Select(p => $"{p}.{version}.nupkg").Order(), packed);
        foreach (var id in Libraries) CheckMetadata(Path.Combine(feed, $"{id}.{version}.nupkg"), id);

        // The user's own project: a copy of the sample in a folder of its own, with the feed added the documented way.
        Directory.CreateDirectory(consumer);
        foreach (var f in new[] { "Dicp.Samples.PackageConsumer.csproj", "Program.cs" })
            File.Copy(Path.Combine(repo, "samples", "Dicp.Samples.PackageConsumer", f), Path.Combine(consumer, f));
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), "<configuration><packageSources /></configuration>");
        Run(consumer, packages, "nuget", "add", "source", feed, "--name", "dicp", "--configfile", "nuget.config");
        // The libraries' own dependencies (System.Numerics.Tensors, …) come from the machine's sources; the folder the
        // test run restored into serves them too, so no download is needed.
        if (globalFolder is not null && Directory.Exists(globalFolder))
            Run(consumer, packages, "nuget", "add", "source", globalFolder, "--name", "local-cache", "--configfile", "nuget.config");
        Run(consumer, packages, "build", "-c", "Release", $"-p:DicpVersion={version}");

        // The consumer resolved the three libraries as packages of the fresh version, into the isolated package folder.
        using (var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(consumer, "obj", "project.assets.json"))))
        {
            var libraries = assets.RootElement.GetProperty("libraries");
            foreach (var id in Libraries)
                Assert.Equal("package", libraries.GetProperty($"{id}/{version}").GetProperty("type").GetString());
            Assert.Equal(Path.GetFullPath(packages).TrimEnd('/') + "/",
                assets.RootElement.GetProperty("project").GetProperty("restore").GetProperty("packagesPath").GetString()!.TrimEnd('/') + "/");
        }
        Assert.True(Directory.Exists(Path.Combine(packages, "dicp.core", version)));

        var dll = Path.Combine(consumer, "bin", "Release", "net10.0", "Dicp.Samples.PackageConsumer.dll");
        var stdout = Run(consumer, packages, dll);
        Assert.Contains("Dicp.Core 0.1.0", stdout); // the assembly built by the test run, packed as is (--no-build)
        // collect → train → save → load → evaluate ran through (the loaded model kept the trained configuration).
        Assert.Contains("dicp-ad with", stdout);
        Assert.Contains("(n_transit 8), planner beam", stdout);
        Assert.Matches(@"returns on goal 38: -?\d+(\.\d+)?, -?\d+(\.\d+)?", stdout);

        // The dicp tool installs from the same feed and runs without the SDK's build.
        var tools = Path.Combine(_root, "tools");
        Run(_root, packages, "tool", "install", "--tool-path", tools, "--add-source", feed, "Dicp.Cli", "--version", version);
        var tasks = RunExe(Path.Combine(tools, OperatingSystem.IsWindows() ? "dicp.exe" : "dicp"), packages, "tasks", "darkroom", "--test");
        Assert.StartsWith("{\"index\":38,\"task\":[4,2]}", tasks);

        // Nothing of this version reached the user's global package folder.
        if (globalFolder is not null)
            foreach (var id in Packages)
                Assert.False(Directory.Exists(Path.Combine(globalFolder, id.ToLowerInvariant(), version)), $"{id} {version} leaked into {globalFolder}");
    }

    /// <summary>The sample shows the whole workflow (collect, train, save, load, evaluate with a planner) in at most 25 lines of code.</summary>
    [Fact]
    public void TheSampleIsAtMost25LinesOfCode()
    {
        var code = File.ReadAllLines(Path.Combine(RepositoryRoot(), "samples", "Dicp.Samples.PackageConsumer", "Program.cs"))
            .Where(l => l.Trim() is { Length: > 0 } t && !t.StartsWith("//", StringComparison.Ordinal) && !t.StartsWith("using ", StringComparison.Ordinal)).ToArray();
        Assert.InRange(code.Length, 1, 25);
        foreach (var step in new[] { "new HistoryCollector(", "new Trainer(", ".Save(", "InContextModels.Load(", "Planners.Create(", "InContextEvaluator.Run(" })
            Assert.Contains(code, l => l.Contains(step, StringComparison.Ordinal));
    }

    /// <summary>Description, readme (Meta-World, scene files), license, and XML docs that cite no file the package lacks.</summary>
    private static void CheckMetadata(string nupkg, string id)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        string Meta(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
        Assert.True(Meta("description").Length > 60, $"{id}: description '{Meta("description")}'");
        Assert.Equal("README.md", Meta("readme"));
        Assert.Equal("MIT", Meta("license"));
        Assert.DoesNotContain(nuspec.Descendants().Where(e => e.Name.LocalName == "dependency"), d => d.Attribute("id")?.Value is "MathNet.Numerics" or "ScottPlot");

        using (var reader = new StreamReader(zip.GetEntry("README.md")!.Open()))
        {
            var readme = reader.ReadToEnd();
            Assert.Contains("Meta-World", readme);
            Assert.Contains("scene files", readme);
        }
        var docs = zip.Entries.Single(e => e.FullName == $"lib/net10.0/{id}.xml");
        using (var reader = new StreamReader(docs.Open()))
        {
            var cited = FileReference().Matches(reader.ReadToEnd()).Select(m => m.Value).Distinct().ToArray();
            Assert.True(cited.Length == 0, $"{id}'s XML docs cite files the package lacks: {string.Join(", ", cited)}");
        }
    }

    [GeneratedRegex(@"[\w./-]+\.(md|py|yaml)\b|§")]
    private static partial Regex FileReference();

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Dicp.sln"))) return d.FullName;
        throw new InvalidOperationException($"No Dicp.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>The user's global package folder (where the test run restored), or null when unknown.</summary>
    private static string? GlobalPackagesFolder()
    {
        var env = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrEmpty(env)) return Path.GetFullPath(env);
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return home.Length > 0 ? Path.Combine(home, ".nuget", "packages") : null;
    }

    private string Run(string workingDirectory, string packages, params string[] arguments) => Start("dotnet", workingDirectory, packages, arguments);

    private string RunExe(string exe, string packages, params string[] arguments) => Start(exe, _root, packages, arguments);

    private string Start(string file, string workingDirectory, string packages, string[] arguments)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        if (file == "dotnet" && arguments[0] is "build" or "pack") psi.ArgumentList.Add("--disable-build-servers");
        // The test host runs under MSBuild/VSTest; a nested dotnet must not inherit their settings.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH").ToList())
            psi.Environment.Remove(key);
        psi.Environment["NUGET_PACKAGES"] = packages;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) p.Kill(entireProcessTree: true);
        var line = $"{file} {string.Join(' ', psi.ArgumentList)}";
        output.WriteLine($"{line}\n{stdout}\n{stderr.Result}");
        Assert.True(p.ExitCode == 0, $"{line} exited with {p.ExitCode}:\n{stdout}\n{stderr.Result}");
        return stdout;
    }
}
