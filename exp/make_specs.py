import sys, re
# The default spec as it was before session 6 made the relabelled start and the snapshot
# zoo its defaults: every variant below is measured against it.
base = open('exp/base-noise.yaml').read()
def spec(name, robustness=None, replace=None, extra=''):
    s = base.replace('name: fashion-tshirt-to-trouser\n', f'name: exp-{name}\n')
    for old, new in (replace or {}).items():
        assert old in s, old
        s = s.replace(old, new)
    s += extra
    if robustness:
        s += 'robustness:\n' + ''.join(f'  {l}\n' for l in robustness)
    open(f'exp/specs/{name}.yaml', 'w').write(s)
spec('default')
spec('stepscale', ['step_scale: [0.5, 2]'])
spec('steplr', replace={'initial_step_size: 0.02': 'initial_step_size: 0.05', 'step_size_learning_rate: 0.01': 'step_size_learning_rate: 0.05'})
spec('margin', ['outer_loss: margin', 'margin: 2'])
spec('cvar', ['victim_cvar: 0.5'])
spec('waug', ['weight_augmentation: 0.1'])
spec('sam', ['sharpness_radius: 0.01'])
spec('kl', ['retain_kl: 1'])
spec('aug', ['augment: {shift: 2}'])
spec('vpi8', replace={'victims_per_iteration: 4': 'victims_per_iteration: 8'})
spec('mix', replace={'zoo: fashion-lenet\n': 'zoo: fashion-lenet-mix\n', 'zoo_spec: victims/fashion-lenet.yaml': 'zoo_spec: victims/fashion-lenet-mix.yaml'})
spec('val', ['validation_victims: 4', 'validate_every: 100'])
spec('m5kl', ['outer_loss: margin', 'margin: 5', 'retain_kl: 1'])
spec('combo', ['outer_loss: margin', 'margin: 5', 'retain_kl: 2'], replace={'retain_weight: 1.5': 'retain_weight: 1.0'})
spec('real', replace={'images_per_class: 10 ': 'initial_images: real\nimages_per_class: 10 '})
spec('realclip', replace={'images_per_class: 10 ': 'initial_images: real\nclip_pixels: true\nimages_per_class: 10 '})
spec('relab', replace={'images_per_class: 10 ': 'initial_images: relabelled\nimages_per_class: 10 '})
# The default zoo's 16 training runs with their epoch-2 and epoch-3 snapshots (48 crafting
# victims, no extra training): fashion-lenet-wide's first 16 runs, which share the default
# zoo's seeds; the folder is assembled by hand from that zoo for this experiment.
spec('snap16', replace={'zoo: fashion-lenet\n': 'zoo: fashion-lenet-snap16\n', 'zoo_spec: victims/fashion-lenet.yaml   # trained first if the zoo is missing\n': ''})
spec('relab-s1', replace={'images_per_class: 10 ': 'initial_images: relabelled\nimages_per_class: 10 ', 'seed: 0\n': 'seed: 1\n'})
spec('relabsnap', replace={'images_per_class: 10 ': 'initial_images: relabelled\nimages_per_class: 10 ', 'zoo: fashion-lenet\n': 'zoo: fashion-lenet-snap16\n', 'zoo_spec: victims/fashion-lenet.yaml   # trained first if the zoo is missing\n': ''})
spec('default-s1', replace={'seed: 0\n': 'seed: 1\n'})
# Issue 13, session 6: the best combination (relabelled start, snapshot zoo) under another
# seed, and its collateral/strength trade-offs.
relabsnap = {'images_per_class: 10 ': 'initial_images: relabelled\nimages_per_class: 10 ', 'zoo: fashion-lenet\n': 'zoo: fashion-lenet-snap16\n', 'zoo_spec: victims/fashion-lenet.yaml   # trained first if the zoo is missing\n': ''}
spec('relabsnap-s1', replace={**relabsnap, 'seed: 0\n': 'seed: 1\n'})
spec('relabsnap-rw3', replace={**relabsnap, 'retain_weight: 1.5 ': 'retain_weight: 3.0 '})
spec('relabsnap-vpi8', replace={**relabsnap, 'victims_per_iteration: 4': 'victims_per_iteration: 8'})
spec('relabsnap-kl', replace=relabsnap, extra='robustness:\n  retain_kl: 1\n')
spec('relabsnap-val', replace=relabsnap, extra='robustness:\n  validation_victims: 8\n  validate_every: 100\n')
# 96 crafting victims: the wide zoo's first 32 runs (default recipe) with their epoch-2/3 snapshots.
spec('relabwide', replace={**relabsnap, 'zoo: fashion-lenet-snap16\n': 'zoo: fashion-lenet-wide\n'})
