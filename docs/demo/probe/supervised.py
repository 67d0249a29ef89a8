# A supervised probe (not StarGAN training): the official G, with E for the style of a reference of the
# target tone, trained with L1 to the real emoji in the target tone, the pairs our unsupervised training never
# sees. Scored on the held-out emoji as metrics.jsonl scores the EMA G (reference-guided, outside / inside the
# changed region, mean L1 in [0, 1]). Debian python3 with python3-torch:
#   node --import tsx docs/demo/probe/dump.ts /tmp/probe
#   /usr/bin/python3 docs/demo/probe/supervised.py /tmp/probe BASE ITERS LR [SEED]
# Prints a JSON line every tenth of the run; the learning rate is constant, then falls linearly to 0 over the second half.
import os, sys, json, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../../shared/anchors'))
import numpy as np, torch
from torch_ref import Generator, StyleEncoder
torch.set_num_threads(1)
data = sys.argv[1]; base = int(sys.argv[2]); iters = int(sys.argv[3]); lr = float(sys.argv[4]); seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
torch.manual_seed(seed); rng = np.random.default_rng(seed)
m = json.load(open(f'{data}/meta.json')); n = m['n']; K = len(m['domains'])
tr = np.stack([np.fromfile(f'{data}/train{d}.f32', np.float32).reshape(-1, 3, 32, 32) for d in range(K)])  # K,256,3,32,32
va = np.stack([np.fromfile(f'{data}/val{d}.f32', np.float32).reshape(-1, 3, 32, 32) for d in range(K)])
reg = {d: np.fromfile(f'{data}/region{d}.u8', np.uint8).reshape(n, 32, 32) for d in range(1, K)}
G = Generator(32, base, 64, 64); E = StyleEncoder(32, base, 64, 64, K)
def he(mod):
    if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
        torch.nn.init.kaiming_normal_(mod.weight, mode='fan_in', nonlinearity='relu')
        if mod.bias is not None: torch.nn.init.zeros_(mod.bias)
G.apply(he); E.apply(he)
opt = torch.optim.Adam(list(G.parameters()) + list(E.parameters()), lr=lr, betas=(0.0, 0.99), weight_decay=1e-4)
T = torch.from_numpy(tr); V = torch.from_numpy(va); N = tr.shape[1]
def evaluate():
    G.eval(); E.eval(); res = []
    with torch.no_grad():
        src = V[0]
        for d in range(1, K):
            refs = T[d][[(7 * i + 13 * d + 3) % N for i in range(n)]]
            out = G(src, E(refs, torch.full((n,), d, dtype=torch.long))).numpy()
            err = np.abs(out - va[d]).mean(1) / 2  # n,32,32 in [0,1] units; unclamped (our metrics clamp, which can only lower it)
            r = reg[d].astype(bool)
            res.append((err[~r].mean(), err[r].mean()))
    G.train(); E.train()
    return np.mean([a for a, _ in res]), np.mean([b for _, b in res])
t0 = time.time()
for it in range(1, iters + 1):
    for g in opt.param_groups: g['lr'] = lr * min(1.0, 2 * (1 - it / iters))  # constant, then linear to 0 over the second half
    i = rng.integers(0, N, 8); ds = rng.integers(0, K, 8); dt = rng.integers(0, K, 8); j = rng.integers(0, N, 8)
    x = T[ds, i]; y = T[dt, i]; ref = T[dt, j]
    out = G(x, E(ref, torch.from_numpy(dt).long()))
    loss = (out - y).abs().mean()
    opt.zero_grad(); loss.backward(); opt.step()
    if it % (iters // 10) == 0:
        o, ins = evaluate()
        print(json.dumps({'base': base, 'it': it, 'loss': round(loss.item(), 4), 'held_outside': round(float(o), 4), 'held_inside': round(float(ins), 4), 's': round(time.time() - t0)}), flush=True)
