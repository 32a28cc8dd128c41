using Dicp.Tensors;

namespace Dicp.Autograd;

/// <summary>
/// The backward pass of one op: reads <c>y.Grad</c> and accumulates into the gradients of <paramref name="inputs"/>,
/// using what the forward pass saved.
/// </summary>
/// <remarks>
/// Ops pass a <c>static</c> lambda (the compiler caches it, so recording allocates no closure) and keep everything the
/// backward pass needs in <typeparamref name="TSaved"/>, usually a tuple of the forward's locals.
/// </remarks>
/// <typeparam name="TSaved">What the forward pass saved for backward.</typeparam>
/// <param name="y">The op's output.</param>
/// <param name="inputs">The op's inputs, as recorded.</param>
/// <param name="saved">The saved values.</param>
internal delegate void BackwardFn<TSaved>(Tensor y, ReadOnlySpan<Tensor> inputs, TSaved saved);
