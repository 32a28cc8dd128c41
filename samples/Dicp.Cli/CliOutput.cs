using System.CommandLine;
using Microsoft.Extensions.Logging;

namespace Dicp.Cli;

/// <summary>The global <c>--quiet</c> / <c>--verbose</c> switches: how much the commands print.</summary>
internal static class CliOutput
{
    /// <summary><c>--quiet</c>: only results, warnings and errors (no progress, no information logs).</summary>
    public static Option<bool> QuietOption { get; } = new("--quiet", "-q") { Description = "Print only results, warnings and errors.", Recursive = true };

    /// <summary><c>--verbose</c>: debug logs too.</summary>
    public static Option<bool> VerboseOption { get; } = new("--verbose", "-v") { Description = "Print debug logs too.", Recursive = true };

    /// <summary>Whether progress and information messages are suppressed.</summary>
    public static bool Quiet { get; private set; }

    /// <summary>The lowest log level the console loggers print.</summary>
    public static LogLevel MinimumLevel { get; private set; } = LogLevel.Information;

    /// <summary>Reads the switches of a parsed command line.</summary>
    /// <exception cref="ArgumentException">Both switches are given.</exception>
    public static void Configure(ParseResult parse)
    {
        bool quiet = parse.GetValue(QuietOption), verbose = parse.GetValue(VerboseOption);
        if (quiet && verbose) throw new ArgumentException("--quiet and --verbose exclude each other.");
        Quiet = quiet;
        MinimumLevel = quiet ? LogLevel.Warning : verbose ? LogLevel.Debug : LogLevel.Information;
    }

    /// <summary>Writes a progress or information line unless quiet.</summary>
    public static void Info(string line)
    {
        if (!Quiet) Console.Out.WriteLine(line);
    }
}
