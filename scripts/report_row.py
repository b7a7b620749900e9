#!/usr/bin/env python3
"""One table row from run folders' report.json files (issue 13's frontier table).

usage: scripts/report_row.py NAME HELDOUT_RUN [FOREIGN_RUN] [--craft-seconds S] [--header]
HELDOUT_RUN / FOREIGN_RUN: a folder holding report.json (or a folder whose only
subfolder does, as `amnesia evaluate --reports-dir X` writes). Prints a Markdown row:
held-out ASR mean ± std, min, other classes' mean drop, the worst single other class's
drop (mean over victims, per class), foreign-recipe ASR mean / min, ASR at step ×0.5 / ×2
(held-out), the learned step size, and the crafting time.
"""
import json, os, sys

def load(path):
    if os.path.isfile(os.path.join(path, 'report.json')):
        return json.load(open(os.path.join(path, 'report.json')))
    subs = [d for d in os.listdir(path) if os.path.isfile(os.path.join(path, d, 'report.json'))]
    if len(subs) != 1:
        sys.exit(f'{path}: expected one report.json, found {len(subs)}')
    return json.load(open(os.path.join(path, subs[0], 'report.json')))

def pct(x): return f'{100 * x:.1f}'

def main(argv):
    header = '--header' in argv
    argv = [a for a in argv if a != '--header']
    craft = None
    if '--craft-seconds' in argv:
        i = argv.index('--craft-seconds'); craft = float(argv[i + 1]); del argv[i:i + 2]
    if header:
        print('| variant | n | held-out ASR mean ± std | min | other drop (pt) | worst class (pt) | foreign ASR mean / min (n) | ASR step ×0.5 / ×2 | η | craft |')
        print('|---|---|---|---|---|---|---|---|---|---|')
    if len(argv) < 2: return
    name, heldout = argv[0], load(argv[1])
    s = heldout['results']['heldout']['summary']
    k = heldout['threat_model']['forget_class']
    names = heldout['dataset']['class_names']
    drops = [(b['mean'] - a['mean'], names[c]) for c, (b, a) in enumerate(zip(s['before']['per_class'], s['after']['per_class'])) if c != k]
    worst = max(drops)
    asr = s['after']['asr']
    rob = heldout.get('robustness') or {}
    foreign = '–'
    if len(argv) > 2:
        f = load(argv[2])['results']['heldout']['summary']['after']['asr']
        foreign = f"{pct(f['mean'])} / {pct(f['min'])} ({f['count']})" if 'count' in f else f"{pct(f['mean'])} / {pct(f['min'])}"
    n = asr.get('count', len(heldout['results']['heldout']['victims']))
    eta = ','.join(f'{x:.3f}' for x in heldout['poison']['learned_step_sizes'])
    print(f"| {name} | {n} | {pct(asr['mean'])} ± {pct(asr['std'])} | {pct(asr['min'])} | {pct(s['other_accuracy_drop']['mean'])} | "
          f"{pct(worst[0])} ({worst[1]}) | {foreign} | {pct(rob['asr_step_x0.5']['mean'])} / {pct(rob['asr_step_x2']['mean'])} | {eta} | "
          f"{'' if craft is None else f'{craft:.0f} s'} |")

main(sys.argv[1:])
