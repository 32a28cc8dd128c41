using System.Text.Json;
using Dicp.Models;

namespace Dicp.Cli;

/// <summary>
/// How the commands report failures: a user error (bad file, option, key or value) is one line <c>error: …</c> and exit
/// code 2; anything else is one line <c>internal error: …</c> and exit code 1. The stack trace is printed only with
/// <c>--verbose</c>.
/// </summary>
internal static class CliErrors
{
    /// <summary>Exit code of a user error.</summary>
    public const int UserError = 2;

    /// <summary>Whether <paramref name="e"/> is caused by the input (files, options, configuration) rather than a defect.</summary>
    public static bool IsUserError(Exception e) => e is ConfigException or IOException or UnauthorizedAccessException or InvalidDataException
        or ArgumentException or NotSupportedException or FormatException or JsonException or Nn.StateDictException;

    /// <summary>Prints <paramref name="e"/> as one line (plus its stack trace with --verbose) and returns the exit code.</summary>
    public static int Report(Exception e)
    {
        var user = IsUserError(e);
        var message = e is UnauthorizedAccessException ? $"{e.Message} (permission denied, or a directory where a file belongs)" : e.Message;
        Console.Error.WriteLine((user ? "error: " : $"internal error ({e.GetType().Name}): ") + OneLine(message)
            + (user || Verbose ? "" : " (run with --verbose for the stack trace)"));
        if (Verbose) Console.Error.WriteLine(e);
        return user ? UserError : 1;
    }

    /// <summary>Whether <c>--verbose</c> was given.</summary>
    private static bool Verbose => CliOutput.MinimumLevel == Microsoft.Extensions.Logging.LogLevel.Debug;

    // One line, without the " (Parameter 'name')" that ArgumentException appends (the messages name the option or key).
    private static string OneLine(string s) => System.Text.RegularExpressions.Regex.Replace(s.ReplaceLineEndings(" "), @" \(Parameter '[^']*'\)$", "").Trim();
}
