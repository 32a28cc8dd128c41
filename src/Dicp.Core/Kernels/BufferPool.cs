namespace Dicp.Kernels;

/// <summary>
/// A process-wide pool of float arrays in exact-size buckets (every size, down to one element): op outputs, gradients
/// and saved activations are rented from it and returned when their tensor's <see cref="Dicp.Tensors.TensorScope"/>
/// ends or their graph node is freed, so a warm training loop allocates no arrays (and triggers no collections).
/// The floats it keeps are bounded (<see cref="FloatPool.DefaultLimitFloats"/>): a loop whose shapes change every
/// step (an evaluation whose context grows from 1 to n_transit transitions) would otherwise keep up to 64 arrays of
/// every size it ever saw; past the bound the least recently used sizes are let go to the garbage collector.
/// </summary>
internal static class BufferPool
{
    /// <summary>Every non-empty array is pooled, down to the one-element storage of a loss, so a warm step allocates none.</summary>
    public const int MinPooled = 1;

    /// <summary>The shared pool.</summary>
    public static FloatPool Shared { get; } = new(FloatPool.DefaultLimitFloats());

    /// <summary>An array of exactly <paramref name="size"/> elements, zeroed when <paramref name="clear"/>.</summary>
    public static float[] Rent(int size, bool clear) => Shared.Rent(size, clear);

    /// <summary>Gives an array back; it must not be used afterwards.</summary>
    public static void Return(float[]? a) => Shared.Return(a);
}

/// <summary>
/// Exact-size buckets of float arrays holding at most <see cref="LimitFloats"/> floats in all: a returned array that
/// would pass the limit first evicts whole buckets, least recently used first (never its own); an array larger than
/// the limit, or one more than 64 of its size, is not kept.
/// </summary>
internal sealed class FloatPool(long limitFloats)
{
    private const int MaxPerBucket = 64;

    private sealed class Bucket
    {
        public readonly Stack<float[]> Arrays = new();
        public long LastUse;
    }

    private readonly Dictionary<int, Bucket> _buckets = [];
    private readonly Lock _gate = new();
    private long _retained, _clock;

    /// <summary>The most floats the pool keeps.</summary>
    public long LimitFloats { get; } = limitFloats > 0 ? limitFloats : throw new ArgumentOutOfRangeException(nameof(limitFloats), "The pool's limit must be positive.");

    /// <summary>The floats the pool keeps now.</summary>
    public long RetainedFloats { get { lock (_gate) return _retained; } }

    /// <summary>The sizes the pool keeps arrays of now.</summary>
    public int Sizes { get { lock (_gate) return _buckets.Count; } }

    /// <summary>
    /// A quarter of the memory the runtime may use (physical memory or the container's limit), at least 64 Mi floats
    /// (256 MiB): the largest training step of the shipped configurations keeps its working set pooled within it.
    /// </summary>
    public static long DefaultLimitFloats() => Math.Max(64L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4 / sizeof(float));

    /// <summary>An array of exactly <paramref name="size"/> elements, zeroed when <paramref name="clear"/>.</summary>
    public float[] Rent(int size, bool clear)
    {
        if (size < BufferPool.MinPooled) return [];
        float[]? a = null;
        lock (_gate)
        {
            if (_buckets.TryGetValue(size, out var bucket) && bucket.Arrays.Count > 0)
            {
                a = bucket.Arrays.Pop();
                _retained -= size;
                bucket.LastUse = ++_clock;
            }
        }
        if (a is null) return GC.AllocateUninitializedArray<float>(size) is var fresh && clear ? Clear(fresh) : fresh;
        return clear ? Clear(a) : a;
    }

    /// <summary>Gives an array back; it must not be used afterwards.</summary>
    public void Return(float[]? a)
    {
        if (a is null || a.Length < BufferPool.MinPooled || a.Length > LimitFloats) return;
        lock (_gate)
        {
            if (!_buckets.TryGetValue(a.Length, out var bucket)) _buckets[a.Length] = bucket = new Bucket();
            bucket.LastUse = ++_clock;
            if (bucket.Arrays.Count >= MaxPerBucket) return;
            while (_retained + a.Length > LimitFloats)
            {
                if (!EvictLeastRecentlyUsed(except: a.Length)) return; // only this size is held: keep what is there
            }
            bucket.Arrays.Push(a);
            _retained += a.Length;
        }
    }

    /// <summary>Drops every array of the least recently used size other than <paramref name="except"/>; false if there is none.</summary>
    private bool EvictLeastRecentlyUsed(int except)
    {
        var victim = -1;
        var oldest = long.MaxValue;
        foreach (var (size, bucket) in _buckets)
        {
            if (size != except && bucket.LastUse < oldest) (victim, oldest) = (size, bucket.LastUse);
        }
        if (victim < 0) return false;
        _retained -= (long)victim * _buckets[victim].Arrays.Count;
        _buckets.Remove(victim);
        return true;
    }

    private static float[] Clear(float[] a)
    {
        Array.Clear(a);
        return a;
    }
}
