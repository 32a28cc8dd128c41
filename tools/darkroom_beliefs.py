#!/usr/bin/env python3
"""Where a DICP model believes the Darkroom goal is, and how often its training data supports that belief.

Usage:
  tools/darkroom_beliefs.py trace TRACE.csv
  tools/darkroom_beliefs.py data DATA_DIR MODEL_CARD [--cells 8,8 8,7 8,1]

`trace` reads the step file of `dicp evaluate --planner beam --trace TRACE.csv` on Darkroom. At every planned step it
walks the best imagined path (actions 0: x+1, 1: x-1, 2: y+1, 3: y-1, 4: stay, clipped to the 9 x 9 grid) to the
first step whose predicted reward is at least 0.5: the cell the planner is heading for as the goal. Per task it
prints when the goal was first reached and the cells planned for, and over all tasks it counts the plans by whether
that cell is the task's goal, whether the context (the last n_transit - 1 = 79 real transitions) holds a reward, and
how often the context shows that very cell reached with reward 0 (which, Darkroom's reward being 1 exactly on
reaching the goal, proves it is not the goal).

`data` asks the same question of the learning histories the model was trained on (the train tasks listed in the
shipped model's model-card.json): over every step with a full 79-transition context that holds no reward, how often
is the reached cell the goal (reward 1), split into the given cells and all others and by how often the context shows
the reached cell with reward 0. Standard library only; the full collection (73 tasks x 100 streams x 1000 steps) takes
about 10 s.
"""
import argparse, collections, csv, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from source_curve import load  # noqa: E402  (the safetensors reader, standard library only)

MOVES = {0: (1, 0), 1: (-1, 0), 2: (0, 1), 3: (0, -1), 4: (0, 0)}
CONTEXT = 79  # real transitions before the query in a window of n_transit 80


def clip(v):
    return max(0, min(8, v))


def bucket(zero_visits):
    return '0' if zero_visits == 0 else '1-4' if zero_visits < 5 else '5+'


def trace(path):
    rows = list(csv.DictReader(open(path, newline='')))
    if not rows or 'predicted_rewards' not in rows[0]:
        sys.exit(f'{path}: not a dicp evaluate --trace file (no predicted_rewards column)')
    by_task = collections.defaultdict(list)
    for r in rows:
        by_task[int(r['task'])].append(r)
    total = collections.Counter()
    for task in sorted(by_task):
        goal = divmod(task, 9)
        context, heading, found, counts = [], collections.Counter(), None, collections.Counter()
        for r in by_task[task]:
            if r['planned'] == '1':
                x, y = int(float(r['obs_0'])), int(float(r['obs_1']))
                for a, p in zip(r['planned_actions'].split(), r['predicted_rewards'].split()):
                    dx, dy = MOVES[int(float(a))]
                    x, y = clip(x + dx), clip(y + dy)
                    if float(p) >= 0.5:
                        window = context[-CONTEXT:]
                        zero = sum(1 for cell, reward in window if cell == (x, y) and reward == 0)
                        key = ('goal' if (x, y) == goal else 'not the goal',
                               'reward in context' if any(reward > 0 for _, reward in window) else 'no reward in context',
                               f'cell reached with reward 0 in context: {bucket(zero)}')
                        counts[key] += 1
                        heading[(x, y)] += 1
                        break
            reward = float(r['reward'])
            if reward > 0 and found is None:
                found = (int(r['episode']) + 1, int(r['step']) + 1)
            context.append(((int(float(r['next_obs_0'])), int(float(r['next_obs_1']))), reward))
        first = f'episode {found[0]}, step {found[1]}' if found else 'never'
        cells = ', '.join(f'({c[0]}, {c[1]}) {n}' for c, n in heading.most_common(4))
        print(f'task {task} goal ({goal[0]}, {goal[1]}): first reward {first}; planned for {cells}')
        total.update(counts)
    print('plans heading for a cell, over all tasks:')
    for key in sorted(total):
        print(f'  {total[key]:6d}  ' + '; '.join(key))


def data(root, card, cells):
    with open(card) as f:
        tasks = json.load(f)['data']['train_tasks']
    stats = collections.Counter()
    for task in tasks:
        tensors = load(os.path.join(root, f'task-{task:05d}.safetensors'))
        (ns, _), (rw, (streams, steps)) = tensors['next_states'], tensors['rewards']
        for s in range(streams):
            window, rewards, zero = collections.deque(), 0.0, collections.Counter()
            for i in range(steps):
                k = s * steps + i
                cell, reward = (int(ns[2 * k]), int(ns[2 * k + 1])), rw[k]
                if i >= CONTEXT and rewards == 0:
                    stats[('listed cells' if cell in cells else 'other cells', bucket(zero[cell]), reward > 0)] += 1
                window.append((cell, reward))
                rewards += reward
                if reward == 0:
                    zero[cell] += 1
                if len(window) > CONTEXT:
                    old, old_reward = window.popleft()
                    rewards -= old_reward
                    if old_reward == 0:
                        zero[old] -= 1
    print(f'{len(tasks)} train tasks; steps with a full context holding no reward, by the reached cell '
          f'(listed: {" ".join(f"({x}, {y})" for x, y in cells)}) and how often the context shows it with reward 0:')
    for group in ('listed cells', 'other cells'):
        for b in ('0', '1-4', '5+'):
            hit, miss = stats[(group, b, True)], stats[(group, b, False)]
            if hit + miss:
                print(f'  {group}, reached with reward 0 in context {b:>3} times: {hit + miss:6d} steps, goal {hit:5d} ({hit / (hit + miss):.1%})')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='command', required=True)
    t = sub.add_parser('trace')
    t.add_argument('file')
    d = sub.add_parser('data')
    d.add_argument('root')
    d.add_argument('card')
    d.add_argument('--cells', nargs='+', default=['8,8', '8,7', '8,1'])
    a = p.parse_args()
    if a.command == 'trace':
        trace(a.file)
    else:
        data(a.root, a.card, {tuple(int(v) for v in c.split(',')) for c in a.cells})


if __name__ == '__main__':
    main()
