namespace Dicp.IO;

/// <summary>
/// An exclusive lock on a directory, held by one process at a time: an advisory lock (<c>flock</c>) on an empty file in
/// the directory, taken by opening it without sharing. The operating system drops the lock when the process dies, so a
/// killed process never leaves the directory locked; on a network file system the lock needs the file system's lock
/// service (NFSv4, Lustre, GPFS and CephFS provide it). The lock file stays in the directory, empty.
/// </summary>
internal sealed class DirectoryLock : IDisposable
{
    private readonly FileStream _stream;

    private DirectoryLock(FileStream stream) => _stream = stream;

    /// <summary>Whether the lock is still held (not yet disposed: the lock file's stream is open).</summary>
    public bool IsHeld => _stream.CanRead;

    /// <summary>
    /// Waits up to <paramref name="timeout"/> until the lock file <paramref name="fileName"/> of <paramref name="directory"/>
    /// is free and takes it (a zero timeout tries once).
    /// </summary>
    /// <param name="directory">The directory (it must exist).</param>
    /// <param name="fileName">The lock file's name inside it.</param>
    /// <param name="holder">What holds such a lock, for the message ("collector", "training process").</param>
    /// <param name="timeout">How long to wait for another process's lock.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="IOException">The lock file's path is a directory, it cannot be created, or another process held the lock past the timeout.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public static DirectoryLock Acquire(string directory, string fileName, string holder, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, fileName);
        if (Directory.Exists(path)) throw new IOException($"'{path}' is a directory; it must be the {holder}'s lock file.");
        var deadline = DateTime.UtcNow + timeout;
        var delay = 10;
        while (true)
        {
            try
            {
                return new DirectoryLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (File.Exists(path) && DateTime.UtcNow < deadline)
            {
                // Held by another process: wait and retry.
            }
            catch (IOException e) when (File.Exists(path))
            {
                throw new IOException($"'{directory}' is in use: another {holder} holds its lock '{path}' (waited {timeout.TotalSeconds:0.#} s); " +
                    "wait for it to finish or stop it, then run again.", e);
            }
            cancellationToken.ThrowIfCancellationRequested();
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 200);
        }
    }

    /// <summary>
    /// Whether another process holds the lock file <paramref name="fileName"/> of <paramref name="directory"/> now. The probe
    /// takes the lock for an instant when it is free, so holders should acquire with a short timeout rather than none.
    /// </summary>
    public static bool IsHeldElsewhere(string directory, string fileName)
    {
        var path = Path.Combine(directory, fileName);
        if (!File.Exists(path)) return false;
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException) when (File.Exists(path))
        {
            return true;
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _stream.Dispose();
}
