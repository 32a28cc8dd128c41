using System.Runtime.ExceptionServices;

namespace Dicp.Kernels;

/// <summary>
/// A lightweight <c>Parallel.For</c> over persistent worker threads for the engine's kernels: a call costs a few
/// microseconds and allocates nothing (the loop body is a struct, <see cref="IParallelBody"/>), where
/// <c>Parallel.For</c> queues tasks and allocates loop state on every call (at batch 64 a training step makes ~150
/// such calls).
/// </summary>
/// <remarks>
/// ProcessorCount − 1 background workers and the calling thread claim indices from a shared counter. One loop runs at a
/// time: a loop started inside a loop body runs serially on that thread, and a loop started by another thread while one
/// is in flight falls back to <c>Parallel.For</c> (which allocates). Which thread runs an index never changes results:
/// every kernel that uses it writes disjoint outputs per index. The first exception of a body is rethrown on the caller.
/// </remarks>
internal static class ParallelLoop
{
    private static readonly int WorkerCount = Math.Max(0, Environment.ProcessorCount - 1);
    private static readonly Lock Gate = new();
    private static readonly SemaphoreSlim Wake = new(0);
    private static Action<int>? _body;
    private static int _next, _end, _open, _running, _started, _sleeping, _generation;
    private const long SpinTicks = 100; // µs a worker keeps polling for the next loop before it blocks (ops come back to back)
    private static ExceptionDispatchInfo? _error;
    [ThreadStatic] private static bool _inLoop;

    /// <summary>Runs <paramref name="body"/>(i) for i in [<paramref name="fromInclusive"/>, <paramref name="toExclusive"/>), in parallel.</summary>
    public static void For(int fromInclusive, int toExclusive, Action<int> body) =>
        For(fromInclusive, toExclusive, new DelegateBody(body));

    private static long _contended;

    /// <summary>How many loops so far found another thread's loop in flight and ran through <c>Parallel.For</c> (which allocates): a diagnostic for allocation tests.</summary>
    public static long ContendedLoops => Interlocked.Read(ref _contended);

    /// <summary>
    /// Runs <c>body.Run(i)</c> for i in [<paramref name="fromInclusive"/>, <paramref name="toExclusive"/>), in parallel,
    /// without allocating: the body is a struct holding the loop's arguments instead of a closure.
    /// </summary>
    public static void For<TBody>(int fromInclusive, int toExclusive, TBody body) where TBody : struct, IParallelBody
    {
        var n = toExclusive - fromInclusive;
        if (n <= 0) return;
        if (n == 1 || WorkerCount == 0 || _inLoop)
        {
            for (var i = fromInclusive; i < toExclusive; i++) body.Run(i);
            return;
        }
        if (!Gate.TryEnter())
        {
            Interlocked.Increment(ref _contended);
            var copy = body;
            Parallel.For(fromInclusive, toExclusive, i => copy.Run(i));
            return;
        }
        try
        {
            BodySlot<TBody>.Body = body; // read by the workers through the cached BodySlot<TBody>.Invoke
            Run(fromInclusive, toExclusive, BodySlot<TBody>.Invoke);
        }
        finally
        {
            BodySlot<TBody>.Body = default; // keep no arrays alive
            Gate.Exit();
        }
    }

    /// <summary>
    /// Runs <c>body.Run(start, end)</c> over contiguous ranges covering [0, <paramref name="count"/>): serially when
    /// <paramref name="count"/>·<paramref name="itemCost"/> is below 2¹⁵ or fewer than 8 items, else in up to
    /// 4·ProcessorCount ranges in parallel. Items must be independent (results never depend on the split).
    /// </summary>
    public static void ForRanges<TBody>(int count, int itemCost, TBody body) where TBody : struct, IRangeBody
    {
        if ((long)count * itemCost < 1 << 15 || count < 8)
        {
            body.Run(0, count);
            return;
        }
        var chunks = Math.Min(count, Environment.ProcessorCount * 4);
        For(0, chunks, new RangeChunks<TBody>(body, (count + chunks - 1) / chunks, count));
    }

    /// <summary>Runs a loop on the workers and the caller; the caller holds <see cref="Gate"/>.</summary>
    private static void Run(int fromInclusive, int toExclusive, Action<int> body)
    {
        EnsureWorkers();
        _error = null;
        _body = body;
        _end = toExclusive;
        Volatile.Write(ref _next, fromInclusive);
        Volatile.Write(ref _open, 1);
        Interlocked.Increment(ref _generation);
        var sleeping = Volatile.Read(ref _sleeping);
        if (sleeping > 0) Wake.Release(Math.Min(sleeping, toExclusive - fromInclusive - 1));
        RunItems();
        Volatile.Write(ref _open, 0);
        Interlocked.MemoryBarrier();
        var spin = new SpinWait();
        while (Volatile.Read(ref _running) != 0) spin.SpinOnce(sleep1Threshold: -1);
        _body = null;
        _error?.Throw();
    }

    /// <summary>The body of the loop in flight, in a static slot per body type (one loop runs at a time under <see cref="Gate"/>).</summary>
    private static class BodySlot<TBody> where TBody : struct, IParallelBody
    {
        public static TBody Body;
        public static readonly Action<int> Invoke = static i => Body.Run(i);
    }

    /// <summary>Chunk c of <see cref="ForRanges"/>: items [c·per, min(count, (c + 1)·per)).</summary>
    private readonly struct RangeChunks<TBody>(TBody body, int per, int count) : IParallelBody where TBody : struct, IRangeBody
    {
        private readonly TBody _body = body;

        public void Run(int index)
        {
            int start = index * per, end = Math.Min(count, start + per);
            var b = _body;
            if (start < end) b.Run(start, end);
        }
    }

    /// <summary>Adapts a delegate to <see cref="IParallelBody"/>.</summary>
    private readonly struct DelegateBody(Action<int> body) : IParallelBody
    {
        public void Run(int index) => body(index);
    }

    private static void RunItems()
    {
        _inLoop = true;
        try
        {
            var body = _body!;
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _end) body(i);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            Volatile.Write(ref _next, _end); // stop handing out indices
        }
        finally
        {
            _inLoop = false;
        }
    }

    private static void EnsureWorkers()
    {
        if (Volatile.Read(ref _started) != 0) return;
        for (var w = 0; w < WorkerCount; w++)
            new Thread(WorkerMain) { IsBackground = true, Name = $"Dicp kernel worker {w}" }.Start();
        Volatile.Write(ref _started, 1);
    }

    private static void WorkerMain()
    {
        var seen = Volatile.Read(ref _generation);
        while (true)
        {
            if (!SpinUntilNewLoop(seen))
            {
                Interlocked.Increment(ref _sleeping);
                if (Volatile.Read(ref _generation) == seen) Wake.Wait(); // a loop posted meanwhile is picked up at once
                Interlocked.Decrement(ref _sleeping);
            }
            seen = Volatile.Read(ref _generation);
            Interlocked.Increment(ref _running);
            if (Volatile.Read(ref _open) != 0) RunItems(); // a late or spurious wake-up after the loop closed does nothing
            Interlocked.Decrement(ref _running);
        }
    }

    /// <summary>Polls for a loop newer than <paramref name="seen"/> for about <see cref="SpinTicks"/> µs.</summary>
    private static bool SpinUntilNewLoop(int seen)
    {
        var deadline = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks * System.Diagnostics.Stopwatch.Frequency / 1_000_000;
        var i = 0;
        while (Volatile.Read(ref _generation) == seen)
        {
            Thread.SpinWait(20);
            if ((++i & 15) == 0 && System.Diagnostics.Stopwatch.GetTimestamp() > deadline) return false;
        }
        return true;
    }
}
