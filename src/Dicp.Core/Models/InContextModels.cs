namespace Dicp.Models;

/// <summary>Builds in-context models from a <see cref="ModelConfig"/>.</summary>
public static class InContextModels
{
    /// <summary>Creates a freshly initialised model.</summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="seed">Seeds the initialisation and the model's dropout generator.</param>
    /// <exception cref="ArgumentException">The configuration is invalid (the message names the field).</exception>
    public static ITrainableInContextModel Create(ModelConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        // Contract placeholder between branches: the models branch replaces this body with the real factory.
        throw new NotSupportedException($"Model family '{config.Model}' is not available in this build (seed {seed}).");
    }
}
