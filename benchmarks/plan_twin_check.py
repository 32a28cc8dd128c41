#!/usr/bin/python3
"""Structural check of torch_twin.naive_beam_step on a fake grid model with known dynamics (goal (6,4)):
imagined tokens chain, the query state is the last predicted s', the window stays 79 tokens, the sequence counts
match 3 + 15 + 75 + 6 * 150, and the first actions from (4,4) and (8,4) are 0 and 1 (from (6,0) the goal is 4 steps
away, beyond what K = 10 keeps when all early rewards tie, so any action may win there, as in the reference).
Run: /usr/bin/python3 benchmarks/plan_twin_check.py"""
import sys, torch, torch.nn.functional as F
sys.path.insert(0, __import__("os").path.dirname(__file__))
import torch_twin as tt

class Fake(torch.nn.Module):
    """Grid dynamics as logits: reward class 1 when the move enters (6,4), next-state class = the cell entered."""
    def __init__(self):
        super().__init__(); self.calls = []
    def forward(self, context, qs, qa):
        n = context.shape[0]
        x, y = torch.div(qs, 9, rounding_mode="floor"), qs % 9
        dx = torch.tensor([1, -1, 0, 0, 0])[qa]; dy = torch.tensor([0, 0, 1, -1, 0])[qa]
        x2, y2 = (x + dx).clamp(0, 8), (y + dy).clamp(0, 8)
        goal = ((x2 == 6) & (y2 == 4)).long()
        r = F.one_hot(goal, 2).float() * 10
        s = F.one_hot(x2 * 9 + y2, 81).float() * 10
        self.calls.append(n)
        d = len(self.calls) - 2  # imagined tokens at this call (call 0 = policy, call 1 = depth 0)
        if d > 0:
            im = context[:, -d:]
            assert torch.equal(im[:, 1:, 0:2], im[:, :-1, 8:10]), "imagined path not chained"
            last = im[:, -1, 8:10]
            assert torch.equal(last[:, 0] * 9 + last[:, 1], qs.float()), "query state is not the last s'"
            # the imagined rewards are the model's own predictions: 1 exactly when s' is the goal
            assert torch.equal(im[:, :, 7], ((im[:, :, 8] == 6) & (im[:, :, 9] == 4)).float())
            assert context.shape[1] == 79
        return torch.zeros(n, 5), r, s

torch.manual_seed(0)
g = torch.Generator().manual_seed(3)
ctx = tt._grid_context(3, g)
obs = torch.tensor([[4., 4.], [8., 4.], [6., 0.]])
m = Fake()
first, seqs, fw = tt.naive_beam_step(m, ctx, obs, 10, 5, 8, g)
assert first.tolist()[:2] == [0, 1] and seqs == 993 and fw == 9, (first.tolist(), seqs, fw)
print("plan_twin_check ok", first.tolist(), seqs, fw, m.calls)
