#!/usr/bin/env python3
"""Generate golden fixtures for Dicp's IDT / DICP-IDT model with PyTorch.

Run from the repository root with Debian's python3 (torch 1.13 + numpy):

    /usr/bin/python3 tools/make_idt_fixtures.py

It writes tests/Dicp.Core.Tests/Fixtures/idt.safetensors with the writer and the
backbone blocks of tools/make_fixtures.py, and re-reads it to check the round
trip.  Output is byte-deterministic.

The model is written from the specification (docs/models.md, section IDT), with
the reference's parameter names:

  reviewing_decisions.transformer.blocks.{i}.*, .embed_state, .embed_action,
      .embed_reward, .embed_next_state (Embedding on grids, Linear otherwise),
      .predict_z Linear(d, 2 dz)
  h_decision_transformer.transformer.*, .embed_return Linear(1, d),
      .embed_state, .embed_z Linear(2 dz, d), .pred_z_dist Linear(d, 2 dz)
  decisions_to_go.transformer.*, .embed_z Linear(dz, d), .embed_state,
      .embed_action, .embed_reward, .pred_action, [.pred_next_state, .pred_reward]

Window of n = K c steps.  q = reviewing(segment) from the last of its c tokens
(s + a + r + s'); p = making([R_k, s_k, q_k] per segment) read at the state
tokens; z_k = mean(p_k) + eps_k * exp(logvar(p_k) / 2), one eps per segment
(given as an input), shared by the segment's steps; decisions_to_go on
[z, s, a, r] per step, action from the state token, reward / next state from
the action token.  Loss over every step: action (+ lambda (reward + next state)).

Cases (prefix "<case>."): idt_grid, dicp_idt_grid (label smoothing 0.1,
lambda 0.5), dicp_idt_cont (Gaussian NLL, clipped reward MSE, next-state MSE),
idt_cont_mse (MSE action head).  Per case: initial weights, inputs (states,
actions, rewards, next_states, returns_to_go, noise), outputs (out.reviewed_z,
out.predicted_z, out.z, out.actions, out.rewards, out.next_states), loss,
metric.<name>, grad.<param>; metadata "<case>.config" (ModelConfig JSON) and
"<case>.keys".  Forward/backward run in float64 from float32 weights/inputs.
"""

import copy
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (writer, Fixture, Block)

B, C, K = 2, 3, 2
N = C * K
D, LAYERS, HEADS, INNER, DZ = 16, 2, 2, 32, 3


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.blocks = nn.ModuleList([mf.Block(cfg["embedding_dim"], cfg["heads"], cfg["inner"]) for _ in range(cfg["layers"])])

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


def cell(s):
    return (s[..., 0] * 9 + s[..., 1]).long()


class Inputs:
    """Embedding constructors and lookups shared by the three modules."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.grid = cfg["state_classes"] > 0
        self.discrete = cfg["action_count"] > 0
        self.cat_reward = cfg["reward_classes"] > 0

    def state_module(self):
        c = self.cfg
        return nn.Embedding(c["state_classes"], c["embedding_dim"]) if self.grid else nn.Linear(c["observation_size"], c["embedding_dim"])

    def action_module(self):
        c = self.cfg
        return nn.Embedding(c["action_count"], c["embedding_dim"]) if self.discrete else nn.Linear(c["action_size"], c["embedding_dim"])

    def reward_module(self):
        c = self.cfg
        return nn.Embedding(c["reward_classes"], c["embedding_dim"]) if self.cat_reward else nn.Linear(1, c["embedding_dim"])

    def state(self, m, s):
        return m(cell(s)) if self.grid else m(s)

    def action(self, m, a):
        return m(a[..., 0].long()) if self.discrete else m(a)

    def reward(self, m, r):
        return m(r.round().long()) if self.cat_reward else m(r[..., None])


class ReviewingDecisions(nn.Module):
    def __init__(self, cfg, io):
        super().__init__()
        self.io = io
        self.transformer = Transformer(cfg)
        self.embed_state = io.state_module()
        self.embed_action = io.action_module()
        self.embed_reward = io.reward_module()
        self.embed_next_state = io.state_module()
        self.predict_z = nn.Linear(cfg["embedding_dim"], 2 * cfg["latent_dim"])

    def forward(self, s, a, r, s2):  # (B, K, c, .) -> (B, K, 2 dz)
        io = self.io
        x = io.state(self.embed_state, s) + io.action(self.embed_action, a) + io.reward(self.embed_reward, r) + io.state(self.embed_next_state, s2)
        b, k, c, d = x.shape
        h = self.transformer(x.reshape(b * k, c, d))
        return self.predict_z(h[:, -1]).reshape(b, k, -1)


class MakingDecisions(nn.Module):
    def __init__(self, cfg, io):
        super().__init__()
        self.io = io
        d = cfg["embedding_dim"]
        self.transformer = Transformer(cfg)
        self.embed_return = nn.Linear(1, d)
        self.embed_state = io.state_module()
        self.embed_z = nn.Linear(2 * cfg["latent_dim"], d)
        self.pred_z_dist = nn.Linear(d, 2 * cfg["latent_dim"])

    def forward(self, rtg, s, zd):  # rtg (B, K), s (B, K, O), zd (B, K, 2 dz)
        x = torch.stack([self.embed_return(rtg[..., None]), self.io.state(self.embed_state, s), self.embed_z(zd)], dim=2)
        b, k, _, d = x.shape
        h = self.transformer(x.reshape(b, 3 * k, d)).reshape(b, k, 3, d)
        return self.pred_z_dist(h[:, :, 1])


class DecisionsToGo(nn.Module):
    def __init__(self, cfg, io):
        super().__init__()
        self.io = io
        self.cfg = cfg
        d = cfg["embedding_dim"]
        self.transformer = Transformer(cfg)
        self.embed_z = nn.Linear(cfg["latent_dim"], d)
        self.embed_state = io.state_module()
        self.embed_action = io.action_module()
        self.embed_reward = io.reward_module()
        a_out = (cfg["action_count"] if io.discrete else 2 * cfg["action_size"] if cfg["learn_variance"] else cfg["action_size"])
        self.pred_action = nn.Linear(d, a_out)
        if cfg["dynamics"]:
            self.pred_next_state = nn.Linear(d, cfg["state_classes"] if io.grid else cfg["observation_size"])
            self.pred_reward = nn.Linear(d, cfg["reward_classes"] if io.cat_reward else 1)

    def forward(self, z, s, a, r):  # z (B, K, dz) one per segment or (B, K, c, dz) one per step; s (B, K, c, O) ...
        io = self.io
        b, k, c = s.shape[0], s.shape[1], s.shape[2]
        ze = self.embed_z(z) if z.dim() == 4 else self.embed_z(z)[:, :, None].expand(-1, -1, c, -1)
        x = torch.stack([ze, io.state(self.embed_state, s), io.action(self.embed_action, a), io.reward(self.embed_reward, r)], dim=3)
        d = x.shape[-1]
        h = self.transformer(x.reshape(b * k, 4 * c, d)).reshape(b, k * c, 4, d)
        out = {"actions": self.pred_action(h[:, :, 1])}
        if self.cfg["dynamics"]:
            out["rewards"] = self.pred_reward(h[:, :, 2])
            out["next_states"] = self.pred_next_state(h[:, :, 2])
        return out


class Idt(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        io = Inputs(cfg)
        self.io = io
        self.reviewing_decisions = ReviewingDecisions(cfg, io)
        self.h_decision_transformer = MakingDecisions(cfg, io)
        self.decisions_to_go = DecisionsToGo(cfg, io)
        with torch.no_grad():  # non-trivial norm weights
            for t in (self.reviewing_decisions, self.h_decision_transformer, self.decisions_to_go):
                for blk in t.transformer.blocks:
                    blk.norm_1.weight.copy_(1.0 + 0.1 * torch.randn_like(blk.norm_1.weight))
                    blk.norm_2.weight.copy_(1.0 + 0.1 * torch.randn_like(blk.norm_2.weight))

    def forward(self, s, a, r, s2, rtg, eps):
        c = self.cfg["segment_length"]
        seg = lambda t: t.reshape(t.shape[0], -1, c, *t.shape[2:])  # noqa: E731  (B, n, .) -> (B, K, c, .)
        q = self.reviewing_decisions(seg(s), seg(a), seg(r), seg(s2))
        p = self.h_decision_transformer(seg(rtg)[:, :, 0], seg(s)[:, :, 0], q)
        dz = self.cfg["latent_dim"]
        if eps.dim() == 4:  # one eps per low-level step (B, K, c, dz), as the reference's get_gaussian_sample
            z = p[..., None, :dz] + eps * (p[..., None, dz:] / 2).exp()
        else:  # one eps per segment (B, K, dz)
            z = p[..., :dz] + eps * (p[..., dz:] / 2).exp()
        out = self.decisions_to_go(z, seg(s), seg(a), seg(r))
        out.update(reviewed_z=q, predicted_z=p, z=z)
        return out

    def loss(self, out, s, a, r, s2):
        cfg = self.cfg
        ls = cfg["label_smoothing"]
        metrics = {}
        acts = out["actions"]
        if self.io.discrete:
            y = a[..., 0].long().reshape(-1)
            logits = acts.reshape(-1, acts.shape[-1])
            la = F.cross_entropy(logits, y, label_smoothing=ls)
            metrics["action_accuracy"] = (logits.argmax(-1) == y).double().mean()
        else:
            A = cfg["action_size"]
            if cfg["learn_variance"]:
                la = F.gaussian_nll_loss(acts[..., :A], a, acts[..., A:].exp(), full=True, eps=1e-6)
            else:
                la = F.mse_loss(acts, a)
        metrics["action_loss"] = la
        total = la
        if cfg["dynamics"]:
            if self.io.cat_reward:
                yr = r.round().long().reshape(-1)
                lg = out["rewards"].reshape(-1, out["rewards"].shape[-1])
                lr_ = F.cross_entropy(lg, yr, label_smoothing=ls)
                metrics["reward_accuracy"] = (lg.argmax(-1) == yr).double().mean()
            else:
                lr_ = F.mse_loss(out["rewards"].clamp(0.0, cfg["reward_max"]), r[..., None])
            if self.io.grid:
                ys = cell(s2).reshape(-1)
                lg = out["next_states"].reshape(-1, out["next_states"].shape[-1])
                ln = F.cross_entropy(lg, ys, label_smoothing=ls)
                metrics["next_state_accuracy"] = (lg.argmax(-1) == ys).double().mean()
            else:
                ln = F.mse_loss(out["next_states"], s2)
            metrics["reward_loss"] = lr_
            metrics["next_state_loss"] = ln
            total = total + cfg["dynamics_coefficient"] * (lr_ + ln)
        metrics["loss"] = total
        return total, metrics


def config(dynamics, grid=True, **kw):
    cfg = dict(model="idt", dynamics=dynamics, return_to_go=False,
               observation_size=2 if grid else 3, state_classes=81 if grid else 0,
               action_count=5 if grid else 0, action_size=1 if grid else 2,
               reward_classes=2 if grid else 0, reward_max=10.0 if grid else 1.5,
               n_transit=N, embedding_dim=D, layers=LAYERS, heads=HEADS, inner=INNER,
               dropout=0.0, dynamics_coefficient=1.0, label_smoothing=0.0,
               learn_variance=True, segment_length=C, latent_dim=DZ, latent_noise_per_step=False)
    cfg.update(kw)
    return cfg


def make_batch(cfg):
    if cfg["state_classes"] > 0:
        s = torch.randint(0, 9, (B, N, 2)).float()
        s2 = torch.randint(0, 9, (B, N, 2)).float()
        a = torch.randint(0, 5, (B, N, 1)).float()
        r = torch.randint(0, 2, (B, N)).float()
    else:
        s = torch.randn(B, N, 3)
        s2 = torch.randn(B, N, 3)
        a = torch.rand(B, N, 2) * 2 - 1
        r = torch.rand(B, N) * 2.0   # some rewards above reward_max = 1.5
    rtg = torch.rand(B, N) * 5
    eps = torch.randn(B, K, C, DZ) if cfg["latent_noise_per_step"] else torch.randn(B, K, DZ)
    return s, a, r, s2, rtg, eps


def make_case(fx, name, cfg):
    model = Idt(cfg)
    batch = make_batch(cfg)
    for k, p in model.named_parameters():
        fx.put("%s.%s" % (name, k), p)
    for k, v in zip(["states", "actions", "rewards", "next_states", "returns_to_go", "noise"], batch):
        fx.put("%s.%s" % (name, k), v)
    m64 = copy.deepcopy(model).double()
    d64 = [t.double() for t in batch]
    out = m64(*d64)
    total, metrics = m64.loss(out, *d64[:4])
    params = list(m64.parameters())
    grads = torch.autograd.grad(total, params)
    for k, v in out.items():
        fx.put("%s.out.%s" % (name, k), v)
    fx.put("%s.loss" % name, total)
    for k, v in metrics.items():
        fx.put("%s.metric.%s" % (name, k), v)
    for (k, _), g in zip(m64.named_parameters(), grads):
        fx.put("%s.grad.%s" % (name, k), g)
    fx.meta("%s.config" % name, json.dumps(cfg, sort_keys=True))
    fx.meta("%s.keys" % name, " ".join(k for k, _ in model.named_parameters()))


def main():
    torch.manual_seed(0)
    fx = mf.Fixture()
    cases = [
        ("idt_grid", config(False)),
        ("dicp_idt_grid", config(True, label_smoothing=0.1, dynamics_coefficient=0.5)),
        ("dicp_idt_cont", config(True, grid=False)),
        ("idt_cont_mse", config(False, grid=False, learn_variance=False)),
        # last, so that the cases above keep their random draws: a fresh eps per low-level step (the default)
        ("dicp_idt_grid_step", config(True, latent_noise_per_step=True)),
        ("idt_cont_step", config(False, grid=False, latent_noise_per_step=True)),
    ]
    for name, cfg in cases:
        make_case(fx, name, cfg)
    fx.meta("cases", " ".join(n for n, _ in cases))
    path = fx.save("idt.safetensors")
    print("%s %d bytes, %d tensors; self-check OK" % (os.path.relpath(path, mf.REPO_ROOT), os.path.getsize(path), len(fx.tensors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
