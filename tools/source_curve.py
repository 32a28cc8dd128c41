#!/usr/bin/env python3
"""The source algorithm's own learning curve from Dicp history files, as a results file `dicp plot` reads.

Usage: tools/source_curve.py DATA_DIR --tasks 50-59 --episodes 20 --out source.json [--success-reward 10] [--label "PPO (source)"]

Each stream of each listed task is one run; its first EPISODES episodes (episode length from the file's `dones`)
give `returns` and, with --success-reward R, `successes` (an episode succeeded when some step's reward is >= R).
Meta-World v2 Reach and Push pay exactly 10 when and only when their success criterion holds (tcp / puck within
0.05 of the goal), so R = 10 recovers their success flags; other tasks need the flags recorded. Standard library only.
"""
import argparse, json, os, struct, sys, array


def load(path):
    """Every tensor of a safetensors file as {key: (array, shape)} (F32, I32 and U8 tensors)."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for key, v in header.items():
        if key == '__metadata__':
            continue
        a, b = v['data_offsets']
        arr = array.array({'F32': 'f', 'I32': 'i', 'U8': 'B'}[v['dtype']])
        arr.frombytes(data[a:b])
        tensors[key] = (arr, v['shape'])
    return tensors


def tasks_of(spec):
    out = []
    for part in spec.split(','):
        lo, _, hi = part.partition('-')
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data'); p.add_argument('--tasks', required=True); p.add_argument('--episodes', type=int, required=True)
    p.add_argument('--out', required=True); p.add_argument('--success-reward', type=float)
    p.add_argument('--label', default='PPO (source)')
    a = p.parse_args()
    returns, successes, steps_per_episode = [], [], None
    for t in tasks_of(a.tasks):
        path = os.path.join(a.data, f'task-{t:05d}.safetensors')
        if not os.path.exists(path):
            sys.exit(f'error: {path} does not exist (collect task {t} first)')
        h = load(path)
        rewards, (streams, steps) = h['rewards'][0], h['rewards'][1]
        dones = h['dones'][0]
        for s in range(streams):
            ends = [i + 1 for i in range(steps) if dones[s * steps + i]]
            if len(ends) < a.episodes:
                sys.exit(f'error: {path} stream {s} has {len(ends)} episodes, fewer than --episodes {a.episodes}')
            run_r, run_s, start = [], [], 0
            for end in ends[:a.episodes]:
                ep = rewards[s * steps + start:s * steps + end]
                run_r.append(float(sum(ep)))
                run_s.append(a.success_reward is not None and max(ep) >= a.success_reward)
                if steps_per_episode not in (None, end - start):
                    sys.exit(f'error: {path} stream {s}: episodes of different lengths ({steps_per_episode}, {end - start})')
                steps_per_episode, start = end - start, end
            returns.append(run_r); successes.append(run_s)
    result = {'label': a.label, 'model': 'source', 'planner': 'none', 'episodes': a.episodes, 'tasks': len(returns),
              'steps_per_episode': steps_per_episode, 'returns': returns,
              'mean_return_per_episode': [sum(r[k] for r in returns) / len(returns) for k in range(a.episodes)],
              'source_tasks': a.tasks, 'data': os.path.abspath(a.data)}
    if a.success_reward is not None:
        result['successes'] = successes
        result['success_rate_per_episode'] = [sum(s[k] for s in successes) / len(successes) for k in range(a.episodes)]
        result['cumulative_success_rate_per_episode'] = [sum(any(s[:k + 1]) for s in successes) / len(successes) for k in range(a.episodes)]
        result['success_criterion'] = f'reward >= {a.success_reward} at some step'
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, a.out)
    print(f'wrote {a.out}: {len(returns)} runs x {a.episodes} episodes')


if __name__ == '__main__':
    main()
