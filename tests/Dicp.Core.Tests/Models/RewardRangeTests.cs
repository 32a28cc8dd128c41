using Dicp.Models;
using Dicp.Tensors;
using Xunit;

namespace Dicp.Tests.Models;

/// <summary>The regressed reward's clip range [RewardMin, RewardMax]: values, gradients, decoding and validation.</summary>
public class RewardRangeTests
{
    [Fact]
    public void ClampRewardClipsToTheRangeAndPassesGradientsOnlyInside()
    {
        var r = new Tensor([-7f, -3f, 0.5f, 12f], [4], requiresGrad: true);
        var y = ModelSupport.ClampReward(r, -5f, 10f);
        Assert.Equal([-5f, -3f, 0.5f, 10f], y.Data);
        Dicp.Tensors.Ops.Sum(y).Backward();
        Assert.Equal([0f, 1f, 1f, 0f], r.Grad!);

        var reference = ModelSupport.ClampReward(new Tensor([-7f, -3f, 0.5f, 12f], [4]), 0f, 10f); // the reference's [0, max]
        Assert.Equal([0f, 0f, 0.5f, 10f], reference.Data);
    }

    [Fact]
    public void DecodeRewardUsesTheConfiguredRange()
    {
        var negative = new ModelConfig(StateClasses: 0, ActionCount: 0, ActionSize: 2, RewardClasses: 0, RewardMin: -5f, RewardMax: 1f);
        Assert.Equal(-3f, ModelSupport.DecodeReward(negative, [-3f]));
        Assert.Equal(-5f, ModelSupport.DecodeReward(negative, [-9f]));
        Assert.Equal(0f, ModelSupport.DecodeReward(negative with { RewardMin = 0f }, [-3f]));
        Assert.Equal(1f, ModelSupport.DecodeReward(negative, [4f]));
        Assert.Equal(1f, ModelSupport.DecodeReward(new ModelConfig(), [0.2f, 0.9f])); // categorical: the argmax class
    }

    [Fact]
    public void RewardMinMustBeBelowRewardMax()
    {
        var bad = new ModelConfig(StateClasses: 0, ActionCount: 0, ActionSize: 2, RewardClasses: 0, RewardMin: 2f, RewardMax: 1f);
        var e = Assert.Throws<ArgumentException>(() => InContextModels.Validate(bad));
        Assert.Contains("RewardMin", e.Message);
        Assert.Equal(-1.5f, ModelConfigJson.Deserialize("""{"model":"ad","state_classes":0,"action_count":0,"action_size":2,"reward_classes":0,"reward_min":-1.5}""").RewardMin);
    }
}
