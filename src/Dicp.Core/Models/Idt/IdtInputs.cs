using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// How IDT turns one kind of value into a d-sized token: a lookup table for categorical values (grid cells, discrete
/// actions, reward classes) or a linear map for continuous ones.
/// </summary>
/// <remarks>Values are row-major floats, <see cref="Width"/> per row; a categorical row is mapped to its class first.</remarks>
internal sealed class IdtInput
{
    private readonly Embedding? _table;
    private readonly Linear? _linear;
    private readonly Func<ReadOnlySpan<float>, int>? _classOf;

    private IdtInput(Embedding? table, Linear? linear, Func<ReadOnlySpan<float>, int>? classOf, int width) =>
        (_table, _linear, _classOf, Width) = (table, linear, classOf, width);

    /// <summary>Floats per value.</summary>
    public int Width { get; }

    /// <summary>A categorical input: <paramref name="classOf"/> maps a row of <paramref name="width"/> floats to a row of <paramref name="table"/>.</summary>
    public static IdtInput Categorical(Embedding table, int width, Func<ReadOnlySpan<float>, int> classOf) => new(table, null, classOf, width);

    /// <summary>A continuous input: <paramref name="linear"/> applied to rows of <c>linear.InFeatures</c> floats.</summary>
    public static IdtInput Continuous(Linear linear) => new(null, linear, null, linear.InFeatures);

    /// <summary>Embeds <c>prod(shape)</c> rows of values: (shape…, Width) floats → (shape…, d).</summary>
    public Tensor Forward(ReadOnlySpan<float> values, params int[] shape)
    {
        var rows = 1;
        foreach (var s in shape) rows *= s;
        if (values.Length < rows * Width)
            throw new ArgumentException($"IDT input: {values.Length} floats cannot hold {rows} values of {Width} floats.", nameof(values));
        if (_table is not null)
        {
            var ids = new int[rows];
            for (var r = 0; r < rows; r++) ids[r] = _classOf!(values.Slice(r * Width, Width));
            return _table.Forward(ids, shape);
        }
        return _linear!.Forward(new Tensor(values[..(rows * Width)].ToArray(), [.. shape, Width]));
    }
}
