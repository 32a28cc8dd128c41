namespace Dicp.Tensors;

/// <summary>Shape arithmetic and the checks that turn bad shapes into clear exceptions.</summary>
internal static class ShapeUtil
{
    public static int Numel(ReadOnlySpan<int> shape, string paramName)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Shape {Format(shape)} has a negative dimension.", paramName);
            n *= d;
            if (n > Array.MaxLength) throw new ArgumentException($"Shape {Format(shape)} has more than {Array.MaxLength} elements.", paramName);
        }
        return (int)n;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public static int Axis(int axis, int rank)
    {
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} is out of range for a tensor of rank {rank}.");
        return a;
    }

    public static void CheckSame(Tensor a, Tensor b, string op)
    {
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new ArgumentException($"{op}: shapes {Format(a.Shape)} and {Format(b.Shape)} must be equal.");
    }

    public static void CheckRankAtLeast(Tensor t, int rank, string op, string what)
    {
        if (t.Rank < rank) throw new ArgumentException($"{op}: {what} needs rank ≥ {rank}, got shape {Format(t.Shape)}.");
    }

    /// <summary>Product of dims [start, end).</summary>
    public static int Prod(ReadOnlySpan<int> shape, int start, int end)
    {
        var n = 1;
        for (var i = start; i < end; i++) n *= shape[i];
        return n;
    }

    /// <summary>Replaces the last dimension.</summary>
    public static int[] WithLast(ReadOnlySpan<int> shape, int last)
    {
        var s = shape.ToArray();
        s[^1] = last;
        return s;
    }
}
