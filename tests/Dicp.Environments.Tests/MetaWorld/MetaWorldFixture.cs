using Dicp.Environments.MetaWorld;

namespace Dicp.Environments.Tests.MetaWorld;

/// <summary>Locates Meta-World's assets (<c>../shared/metaworld/assets_v2</c> next to the repository, or <c>$DICP_METAWORLD_ASSETS</c>).</summary>
internal static class MetaWorldAssets
{
    public static string Root { get; } = Find();

    public static MetaWorldOptions Options(int horizon = 100, bool partiallyObservable = true)
        => new() { AssetRoot = Root, Horizon = horizon, PartiallyObservable = partiallyObservable };

    private static string Find()
    {
        var env = Environment.GetEnvironmentVariable("DICP_METAWORLD_ASSETS");
        if (!string.IsNullOrEmpty(env)) return env;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Dicp.sln"))) dir = dir.Parent;
        if (dir?.Parent is null) throw new InvalidOperationException("Cannot find the repository root (Dicp.sln) above the test folder.");
        return Path.Combine(dir.Parent.FullName, "shared", "metaworld", "assets_v2");
    }
}
