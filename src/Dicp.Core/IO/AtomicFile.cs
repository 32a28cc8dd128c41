using System.Text;

namespace Dicp.IO;

/// <summary>
/// Writes files atomically: the content goes to a uniquely named temporary file in the target's directory, is flushed
/// to disk, and then replaces the target with a single rename. Readers see either the old file or the complete new
/// one, never a partial write, and a failed write leaves the old file untouched.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> atomically with the content that <paramref name="write"/> puts into a stream.
    /// </summary>
    /// <param name="path">The file to create or replace. Its parent directory is created if missing.</param>
    /// <param name="write">
    /// Fills the stream with the file's content. It must not close or dispose the stream; the caller does that after
    /// flushing it to disk.
    /// </param>
    /// <remarks>
    /// The temporary file is named <c>.{name}.{guid}.tmp</c> and lives next to the target so that the final
    /// <see cref="File.Move(string, string, bool)"/> is a rename within one file system. If <paramref name="write"/>,
    /// the flush or the rename throws, the temporary file is deleted and the exception propagates.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a directory.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> or <paramref name="write"/> is <c>null</c>.</exception>
    /// <exception cref="IOException">The file could not be written or replaced.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);

        var fullPath = Path.GetFullPath(path);
        var name = Path.GetFileName(fullPath);
        if (name.Length == 0) throw new ArgumentException($"'{path}' does not name a file.", nameof(path));
        var directory = Path.GetDirectoryName(fullPath)
                        ?? throw new ArgumentException($"'{path}' has no parent directory.", nameof(path));
        Directory.CreateDirectory(directory);

        var tempPath = Path.Combine(directory, $".{name}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 81920))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tempPath, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }
    }

    /// <summary>Writes <paramref name="contents"/> as UTF-8 (without a byte-order mark) to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The file to create or replace. Its parent directory is created if missing.</param>
    /// <param name="contents">The text to write.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a directory.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> or <paramref name="contents"/> is <c>null</c>.</exception>
    /// <exception cref="IOException">The file could not be written or replaced.</exception>
    public static void WriteAllText(string path, string contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        var bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetBytes(contents);
        WriteAllBytes(path, bytes);
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The file to create or replace. Its parent directory is created if missing.</param>
    /// <param name="bytes">The content to write.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a directory.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> or <paramref name="bytes"/> is <c>null</c>.</exception>
    /// <exception cref="IOException">The file could not be written or replaced.</exception>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, stream => stream.Write(bytes, 0, bytes.Length));
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original exception is the one worth reporting.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
