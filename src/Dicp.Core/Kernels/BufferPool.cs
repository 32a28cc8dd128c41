namespace Dicp.Kernels;

/// <summary>
/// A process-wide pool of float arrays in exact-size buckets (every size, down to one element): op outputs, gradients
/// and saved activations are rented from it and returned when their tensor's <see cref="Dicp.Tensors.TensorScope"/>
/// ends or their graph node is freed, so a warm training loop allocates no arrays (and triggers no collections).
/// </summary>
internal static class BufferPool
{
    /// <summary>Every non-empty array is pooled, down to the one-element storage of a loss, so a warm step allocates none.</summary>
    public const int MinPooled = 1;
    private const int MaxPerBucket = 64;
    private static readonly Dictionary<int, Stack<float[]>> Buckets = [];
    private static readonly Lock Gate = new();

    /// <summary>An array of exactly <paramref name="size"/> elements, zeroed when <paramref name="clear"/>.</summary>
    public static float[] Rent(int size, bool clear)
    {
        if (size < MinPooled) return [];
        float[]? a = null;
        lock (Gate)
        {
            if (Buckets.TryGetValue(size, out var stack) && stack.Count > 0) a = stack.Pop();
        }
        if (a is null) return GC.AllocateUninitializedArray<float>(size) is var fresh && clear ? Clear(fresh) : fresh;
        return clear ? Clear(a) : a;
    }

    /// <summary>Gives an array back; it must not be used afterwards.</summary>
    public static void Return(float[]? a)
    {
        if (a is null || a.Length < MinPooled) return;
        lock (Gate)
        {
            if (!Buckets.TryGetValue(a.Length, out var stack)) Buckets[a.Length] = stack = new Stack<float[]>();
            if (stack.Count < MaxPerBucket) stack.Push(a);
        }
    }

    private static float[] Clear(float[] a)
    {
        Array.Clear(a);
        return a;
    }
}
