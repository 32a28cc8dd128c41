using System.Runtime.InteropServices;

namespace Dicp.IO;

/// <summary>
/// Hard links, with a copy where a link is impossible (another volume, a file system without links). Used to share
/// read-only data files between directories, e.g. one collection's task histories under another train/test split.
/// </summary>
internal static partial class FileLink
{
    /// <summary>
    /// Makes <paramref name="destination"/> the same file as <paramref name="source"/>: a hard link made under a temporary
    /// name <c>.{name}.{guid}.tmp</c> (as <see cref="AtomicFile"/> names its temporaries) and renamed, so the destination
    /// appears complete or not at all; a copy through the same temporary when linking fails.
    /// </summary>
    /// <returns>True when linked, false when copied.</returns>
    /// <exception cref="IOException">The destination exists, or the copy or rename failed.</exception>
    public static bool LinkOrCopy(string source, string destination)
    {
        var full = Path.GetFullPath(destination);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var linked = TryLink(Path.GetFullPath(source), temp);
        try
        {
            if (!linked) File.Copy(source, temp);
            File.Move(temp, full, overwrite: false);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // Best effort: the original exception is the one worth reporting.
            }
            throw;
        }
        return linked;
    }

    private static bool TryLink(string existing, string newPath)
    {
        try
        {
            return OperatingSystem.IsWindows() ? CreateHardLink(newPath, existing, 0) : Link(existing, newPath) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string newPath);

    [LibraryImport("kernel32.dll", EntryPoint = "CreateHardLinkW", StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool CreateHardLink(string newPath, string existing, nint securityAttributes);
}
