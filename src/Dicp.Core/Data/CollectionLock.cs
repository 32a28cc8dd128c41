namespace Dicp.Data;

/// <summary>
/// An exclusive lock on a history directory, held while a collector reads and rewrites its manifest: an advisory lock
/// (<c>flock</c>) on the empty file <see cref="FileName"/>, taken by opening it without sharing. The operating system
/// drops the lock when the process dies, so a killed collector never leaves the directory locked; on a network file
/// system the lock needs the file system's lock service (NFSv4, Lustre, GPFS and CephFS provide it).
/// </summary>
internal sealed class CollectionLock : IDisposable
{
    /// <summary>The lock file's name (it stays in the directory, empty).</summary>
    public const string FileName = ".collect.lock";

    private readonly FileStream _stream;

    private CollectionLock(FileStream stream) => _stream = stream;

    /// <summary>Waits until the lock of <paramref name="directory"/> is free and takes it.</summary>
    /// <exception cref="IOException">The lock file cannot be created, or another process held the lock for longer than <paramref name="timeout"/>.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public static CollectionLock Acquire(string directory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, FileName);
        if (Directory.Exists(path)) throw new IOException($"'{path}' is a directory; it must be the collection's lock file.");
        var deadline = DateTime.UtcNow + timeout;
        var delay = 10;
        while (true)
        {
            try
            {
                return new CollectionLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (File.Exists(path) && DateTime.UtcNow < deadline)
            {
                // Held by another collector: wait and retry.
            }
            catch (IOException e) when (File.Exists(path))
            {
                throw new IOException($"Could not lock '{path}': another collector has held it for over {timeout.TotalSeconds:F0} s.", e);
            }
            cancellationToken.ThrowIfCancellationRequested();
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 200);
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _stream.Dispose();
}
