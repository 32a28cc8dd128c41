namespace Dicp.Models;

/// <summary>
/// A token prefix encoded once by the backbone: per layer the rotated keys and values of its P tokens, transposed per
/// head as (H, hs, P), and the final hidden state of its last token.
/// </summary>
/// <remarks>Memory: 2·layers·d·P floats (80 KB for d 32, 4 layers, P 79).</remarks>
internal sealed class PrefixEncoding
{
    public PrefixEncoding(int layers, int length, int dModel)
    {
        Length = length;
        Keys = new float[layers][];
        Values = new float[layers][];
        for (var i = 0; i < layers; i++) { Keys[i] = new float[dModel * length]; Values[i] = new float[dModel * length]; }
        LastHidden = new float[dModel];
    }

    /// <summary>P, the prefix tokens (0 for an empty prefix).</summary>
    public int Length { get; }

    /// <summary>Per layer, rotated keys (H, hs, P).</summary>
    public float[][] Keys { get; }

    /// <summary>Per layer, values (H, hs, P).</summary>
    public float[][] Values { get; }

    /// <summary>(d) the backbone's output at the last prefix token (zeros when P = 0).</summary>
    public float[] LastHidden { get; }
}

/// <summary>Identifies a cached prefix of one environment: how many leading real transitions the window dropped, and (DPT) the query state's bits.</summary>
internal readonly record struct PrefixKey(int Dropped, string Query);
