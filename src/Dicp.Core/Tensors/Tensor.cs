using System.Runtime.CompilerServices;
using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

/// <summary>
/// A dense, row-major float32 tensor with an optional gradient, the unit of Dicp's reverse-mode autodiff engine.
/// </summary>
/// <remarks>
/// Storage is a managed <c>float[]</c> (no <see cref="IDisposable"/>); its first <see cref="Size"/> elements hold the
/// values in row-major order of <see cref="Shape"/>. Tensors produced by an operation while gradients are being
/// recorded (see <see cref="GradMode"/>) remember the operation that made them, and <see cref="Backward()"/> walks that
/// graph in reverse topological order, accumulating <c>∂loss/∂t</c> into each <see cref="Grad"/>.
/// Reshapes share storage; every other operation returns fresh storage.
/// </remarks>
public partial class Tensor
{
    private int[] _shape;
    private float[]? _data;
    private bool _ownsStorage;

    /// <summary>Creates a tensor over existing storage.</summary>
    /// <param name="data">Row-major values; at least <c>prod(shape)</c> long.</param>
    /// <param name="shape">The dimensions; each must be non-negative.</param>
    /// <param name="requiresGrad">Whether gradients should flow into this tensor (a leaf).</param>
    /// <exception cref="ArgumentException">The shape has a negative dimension or the storage is too short.</exception>
    public Tensor(float[] data, ReadOnlySpan<int> shape, bool requiresGrad = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        _shape = shape.ToArray();
        Size = ShapeUtil.Numel(_shape, nameof(shape));
        if (data.Length < Size)
            throw new ArgumentException($"Storage holds {data.Length} elements but shape {ShapeUtil.Format(_shape)} needs {Size}.", nameof(data));
        _data = data;
        RequiresGrad = requiresGrad;
    }

    /// <summary>An op result over <paramref name="data"/> (already validated by the caller).</summary>
    private Tensor(float[] data, ReadOnlySpan<int> shape, int size, bool ownsStorage)
    {
        _shape = shape.ToArray();
        Size = size;
        _data = data;
        _ownsStorage = ownsStorage;
    }

    /// <summary>The row-major storage. Only the first <see cref="Size"/> elements are meaningful.</summary>
    /// <exception cref="ObjectDisposedException">The tensor was an op result inside a <see cref="TensorScope"/> that has ended.</exception>
    public float[] Data => _data ?? throw new ObjectDisposedException(nameof(Tensor),
        $"{this}: its storage went back to the buffer pool when its TensorScope ended; read results inside the scope or Clone() them.");

    /// <summary>The gradient of the last <see cref="Backward()"/> with respect to this tensor, or <c>null</c>.</summary>
    public float[]? Grad { get; internal set; }

    /// <summary>Whether this tensor takes part in gradient recording.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>Number of elements, <c>prod(Shape)</c>.</summary>
    public int Size { get; private set; }

    /// <summary>The dimensions.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>An optional name (parameters carry their state-dict key).</summary>
    public string? Name { get; set; }

    /// <summary>The operation that produced this tensor while recording, or <c>null</c> for leaves.</summary>
    internal Node? GradFn { get; set; }

    /// <summary>Whether this tensor is a leaf of the graph (created by the user, not by a recorded op).</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>Dimension <paramref name="axis"/>; negative values count from the end.</summary>
    public int Dim(int axis) => _shape[ShapeUtil.Axis(axis, _shape.Length)];

    /// <summary>The values as a span of length <see cref="Size"/>.</summary>
    public Span<float> Span => Data.AsSpan(0, Size);

    /// <summary>The gradient as a span, allocating zeros on first use.</summary>
    internal Span<float> GradSpan => EnsureGrad().AsSpan(0, Size);

    /// <summary>Returns the gradient storage, renting zeros from the pool on first use.</summary>
    internal float[] EnsureGrad() => Grad ??= BufferPool.Rent(Size, clear: true);

    /// <summary>
    /// The gradient storage for a backward kernel that can either overwrite or accumulate: on first use the array is
    /// rented without clearing and <paramref name="accumulate"/> is false (the kernel must write every element), which
    /// saves clearing it and reading the zeros back.
    /// </summary>
    internal float[] GradForWrite(out bool accumulate)
    {
        accumulate = Grad is not null;
        return Grad ??= BufferPool.Rent(Size, clear: false);
    }

    /// <summary>Element at a flat row-major index.</summary>
    [IndexerName("At")]
    public float this[int index]
    {
        get => Span[index];
        set => Span[index] = value;
    }

    /// <summary>Returns the value of a one-element tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor has more than one element.</exception>
    public float Item()
    {
        if (Size != 1) throw new InvalidOperationException($"Item() needs a one-element tensor, got shape {ShapeUtil.Format(_shape)}.");
        return Data[0];
    }

    /// <summary>Copies the values into a new array.</summary>
    public float[] ToArray() => Span.ToArray();

    /// <summary>Sets the gradient to <c>null</c>, giving its storage back to the pool (do not keep references to an old <see cref="Grad"/>).</summary>
    public void ZeroGrad()
    {
        BufferPool.Return(Grad);
        Grad = null;
    }

    /// <summary>A new leaf sharing this tensor's storage but detached from the graph.</summary>
    public Tensor Detach() => View(this, _shape);

    /// <summary>A deep copy of the values as a new leaf.</summary>
    public Tensor Clone() => new(Span.ToArray(), _shape, RequiresGrad);

    /// <summary>Copies values from <paramref name="source"/>, which must have the same shape.</summary>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ShapeUtil.CheckSame(this, source, nameof(CopyFrom));
        source.Span.CopyTo(Span);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"Tensor{ShapeUtil.Format(_shape)}{(Name is null ? "" : " " + Name)}{(RequiresGrad ? " requires_grad" : "")}";

    // ---------------------------------------------------------------- factories

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => new(new float[ShapeUtil.Numel(shape, nameof(shape))], shape);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Zeros(shape);
        t.Span.Fill(value);
        return t;
    }

    /// <summary>A tensor holding a copy of <paramref name="values"/> with the given shape.</summary>
    public static Tensor FromArray(ReadOnlySpan<float> values, params int[] shape)
    {
        var n = ShapeUtil.Numel(shape, nameof(shape));
        if (values.Length != n)
            throw new ArgumentException($"{values.Length} values do not fill shape {ShapeUtil.Format(shape)} ({n} elements).", nameof(values));
        return new Tensor(values.ToArray(), shape);
    }

    /// <summary>A one-element tensor of shape <c>[]</c>.</summary>
    public static Tensor Scalar(float value) => new([value], []);

    /// <summary>Zeroed storage for an op result, rented from the pool and tracked by the current <see cref="TensorScope"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Tensor Empty(ReadOnlySpan<int> shape) => Owned(shape, clear: true);

    /// <summary>Like <see cref="Empty"/> for ops that overwrite every element: the values start undefined.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Tensor Uninitialized(ReadOnlySpan<int> shape) => Owned(shape, clear: false);

    private static Tensor Owned(ReadOnlySpan<int> shape, bool clear)
    {
        var size = ShapeUtil.Numel(shape, "shape");
        return Result(BufferPool.Rent(size, clear), shape, size, ownsStorage: true);
    }

    /// <summary>A tensor sharing <paramref name="source"/>'s storage with another shape (tracked by the current scope as a view).</summary>
    internal static Tensor View(Tensor source, ReadOnlySpan<int> shape)
    {
        var size = ShapeUtil.Numel(shape, "shape");
        if (size > source.Size) throw new ArgumentException($"A view of shape {ShapeUtil.Format(shape)} does not fit in {source}.", nameof(shape));
        return Result(source.Data, shape, size, ownsStorage: false);
    }

    /// <summary>
    /// An op result: inside a <see cref="TensorScope"/> a recycled tensor object of the same rank (tracked by the
    /// scope), otherwise a new one.
    /// </summary>
    private static Tensor Result(float[] data, ReadOnlySpan<int> shape, int size, bool ownsStorage)
    {
        if (!TensorScope.IsActive) return new Tensor(data, shape, size, ownsStorage);
        var t = TensorScope.TakeRecycled(shape.Length);
        if (t is null) t = new Tensor(data, shape, size, ownsStorage);
        else t.Reinitialize(data, shape, size, ownsStorage);
        TensorScope.Track(t);
        return t;
    }

    /// <summary>Turns a recycled op result (released, same rank) into a fresh one.</summary>
    private void Reinitialize(float[] data, ReadOnlySpan<int> shape, int size, bool ownsStorage)
    {
        if (_shape.Length == shape.Length) shape.CopyTo(_shape);
        else _shape = shape.ToArray();
        Size = size;
        _data = data;
        _ownsStorage = ownsStorage;
        RequiresGrad = false;
        Name = null;
    }

    /// <summary>
    /// Called when the owning scope ends: storage and gradient go back to the buffer pool, the graph node back to its
    /// pool; afterwards the scope may recycle this object as a later op result.
    /// </summary>
    internal void ReleaseStorage()
    {
        if (_ownsStorage) BufferPool.Return(_data);
        _data = null;
        _ownsStorage = false;
        BufferPool.Return(Grad);
        Grad = null;
        if (GradFn is { } node && !ReferenceEquals(node, Node.Released)) node.Recycle();
        GradFn = null;
    }
}
