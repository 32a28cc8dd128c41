using Dicp.Tensors;

namespace Dicp.Cli;

/// <summary>
/// The toy sequence task of the engine demonstration: <c>a₁ … a_L SEP a₁ … a_L</c> with random digits aᵢ; after the
/// separator the model must copy the first half, which a causal Transformer can only do by attending back (an
/// induction-style pattern). Loss is measured on the copied half only.
/// </summary>
internal sealed class CopyTask(int length, int digits)
{
    public const int Ignore = -100;

    public int Length { get; } = length;
    public int Digits { get; } = digits;
    public int Separator => Digits;
    public int VocabSize => Digits + 1;
    public int SeqLen => 2 * Length;

    /// <summary>Inputs (B, 2L) and next-token targets (B, 2L), targets ignored before the separator's successor.</summary>
    public (int[] Inputs, int[] Targets) Batch(int batch, Generator g)
    {
        var inputs = new int[batch * SeqLen];
        var targets = new int[batch * SeqLen];
        for (var b = 0; b < batch; b++)
        {
            var seq = new int[2 * Length + 1];
            for (var i = 0; i < Length; i++) seq[i] = seq[Length + 1 + i] = g.NextInt(Digits);
            seq[Length] = Separator;
            for (var t = 0; t < SeqLen; t++)
            {
                inputs[b * SeqLen + t] = seq[t];
                targets[b * SeqLen + t] = t >= Length ? seq[t + 1] : Ignore;
            }
        }
        return (inputs, targets);
    }
}
