"""Familiarity / out-of-domain signal candidates for issue 14, on the cached windows of
scripts/caller-baseline-windows.ts. Familiar = CREMA-D test actors, unfamiliar = each xcorpus set.
Per window and per call (the window's score averaged with H=30 history windows of the same speaker).
AUROC (probability that a CREMA-D window scores higher than an xcorpus one), and accuracy by bucket.
  python3 scripts/familiarity-measure.py [/tmp/ser-cb/windows.jsonl]
"""
import json, sys, random
import numpy as np

rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else '/tmp/ser-cb/windows.jsonl')]
rows = [r for r in rows if r['speechRatio'] >= 0.25]
LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD']
train = [r for r in rows if r['corpus'] == 'crema-d' and r['part'] == 'train']
ref_logp = np.mean([r['logp'] for r in train], axis=0)
ref_p = np.mean([np.exp(r['logp']) for r in train], axis=0)
tilt_tr = np.array([r['tilt'] for r in train]); db_tr = np.array([r['dbfs'] for r in train])

def centred(logp):
    x = np.asarray(logp); return (x - x.mean())[:5]   # softmax-invariant, 5 free dimensions
Xtr = np.array([centred(r['logp']) for r in train]); ytr = np.array([LABELS.index(r['label']) for r in train])
mu = np.array([Xtr[ytr == c].mean(0) for c in range(6)])
cov = sum(np.cov((Xtr[ytr == c] - mu[c]).T) * (ytr == c).sum() for c in range(6)) / len(Xtr) + 1e-3 * np.eye(5)
icov = np.linalg.inv(cov)
def maha_min(logp):
    d = centred(logp) - mu
    return float(np.min(np.einsum('ci,ij,cj->c', d, icov, d)))

def feats(r):
    p = np.exp(r['logp'])
    return {
        '-maha_min': -maha_min(r['logp']),
        'maxprob': p.max(),
        'neg_entropy': float(np.sum(p * np.log(p + 1e-12))),
        'tilt_z': -abs((r['tilt'] - tilt_tr.mean()) / tilt_tr.std()),
        'dbfs_z': -abs((r['dbfs'] - db_tr.mean()) / db_tr.std()),
    }

def auroc(pos, neg):
    pos = np.asarray(pos); neg = np.asarray(neg)
    allv = np.concatenate([pos, neg]); ranks = allv.argsort().argsort() + 1.0
    # ties: average ranks
    from collections import defaultdict
    d = defaultdict(list)
    for v, rk in zip(allv, ranks): d[v].append(rk)
    ranks = np.array([np.mean(d[v]) for v in allv])
    return (ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))

by_spk = {}
for r in rows: by_spk.setdefault(r['speaker'], []).append(r)
rng = random.Random(7)
MODE = sys.argv[2] if len(sys.argv) > 2 else 'mixed'
HH = int(sys.argv[3]) if len(sys.argv) > 3 else 30
def call_feats(r, H=None):
    H = H or HH
    others = [o for o in by_spk[r['speaker']] if o['file'] != r['file'] and (MODE == 'mixed' or o['label'] == r['label'])]
    rng.shuffle(others); hist = others[:H]
    if not hist: return None
    f = {k: np.mean([feats(o)[k] for o in hist + [r]]) for k in feats(r)}
    m_logp = np.mean([o['logp'] for o in hist], axis=0)
    m_p = np.mean([np.exp(o['logp']) for o in hist], axis=0)
    f['-drift_logp'] = -float(np.sqrt(np.mean((m_logp - ref_logp) ** 2)))
    f['-drift_KL'] = -float(np.sum(m_p * np.log(m_p / ref_p)))
    return f

sets = {'crema-d test': [r for r in rows if r['corpus'] == 'crema-d' and r['part'] == 'test']}
for c in ['emodb', 'emovo', 'nemo', 'ased']: sets[c] = [r for r in rows if r['corpus'] == c]
W = {s: [feats(r) for r in v] for s, v in sets.items()}
C = {s: [f for f in (call_feats(r) for r in v) if f] for s, v in sets.items()}
print('| score | level | ' + ' | '.join(f'AUROC vs {c}' for c in list(sets)[1:]) + ' | AUROC vs all xcorpus |')
print('|---|---|' + '---:|' * 5)
for level, D in (('window', W), (f'call H={HH} {MODE}', C)):
    for k in D['crema-d test'][0]:
        pos = [f[k] for f in D['crema-d test']]
        out = [auroc(pos, [f[k] for f in D[c]]) for c in list(sets)[1:]]
        allneg = [f[k] for c in list(sets)[1:] for f in D[c]]
        print(f'| {k} | {level} | ' + ' | '.join(f'{a:.3f}' for a in out) + f' | {auroc(pos, allneg):.3f} |')
np.save('/tmp/ser-cb/maha.npy', {'mu': mu, 'icov': icov})
json.dump({'mu': mu.tolist(), 'icov': icov.tolist(), 'refLogp': ref_logp.tolist(), 'refP': ref_p.tolist()}, open('/tmp/ser-cb/familiarity-ref.json', 'w'))
# accuracy of the raw model by bucket of the call-level score, all sets pooled
key = sys.argv[4] if len(sys.argv) > 4 else '-maha_min'
pool = []
for s_, v in sets.items():
    for r, f in zip(v, (call_feats(r) for r in v)):
        if f: pool.append((f[key], int(np.argmax(r['logp'])) == LABELS.index(r['label']), s_))
vals = np.array([p[0] for p in pool]); qs = np.quantile(vals, [0, .2, .4, .6, .8, 1])
print(f'\naccuracy by quintile of call-level {key} ({MODE}, H={HH}), all sets pooled:')
print('| quintile | range | windows | accuracy | share CREMA-D |'); print('|---|---|---:|---:|---:|')
for i in range(5):
    sel = [p for p in pool if qs[i] <= p[0] <= qs[i + 1]]
    print(f'| {i+1} | {qs[i]:.2f} .. {qs[i+1]:.2f} | {len(sel)} | {100*np.mean([p[1] for p in sel]):.1f}% | {100*np.mean([p[2]=="crema-d test" for p in sel]):.0f}% |')

# The shipped map: familiarity = share of CREMA-D validation-actor calls (H=30, mixed and same-emotion
# history pooled) whose mean distance is at least this call's. Quantiles go into ser-cnn.json.
if MODE == 'mixed' and HH == 30:
    val = [r for r in rows if r['corpus'] == 'crema-d' and r['part'] == 'val']
    def call_mean(r, mode, H=30):
        others = [o for o in by_spk[r['speaker']] if o['file'] != r['file'] and (mode == 'mixed' or o['label'] == r['label'])]
        rng.shuffle(others)
        return float(np.mean([maha_min(o['logp']) for o in others[:H] + [r]]))
    vd = np.array([call_mean(r, m) for r in val for m in ('mixed', 'same')])
    qgrid = np.linspace(0, 1, 41)
    quant = np.quantile(vd, qgrid)
    def fam(d): return float(1 - np.interp(d, quant, qgrid))
    json.dump({'mu': mu.tolist(), 'icov': icov.tolist(), 'quantiles': quant.tolist()}, open('/tmp/ser-cb/familiarity-ref.json', 'w'))
    print('\nfamiliarity (1 - ECDF of CREMA-D validation calls) by set, H=30, mixed | same-emotion history:')
    print('| set | median familiarity | share >= 0.05 | share >= 0.2 | raw accuracy of windows >= 0.05 | raw accuracy < 0.05 |'); print('|---|---:|---:|---:|---:|---:|')
    for mode in ('mixed', 'same'):
        for s_, v in sets.items():
            F = np.array([fam(call_mean(r, mode)) for r in v]); ok = np.array([int(np.argmax(r['logp'])) == LABELS.index(r['label']) for r in v])
            hi = ok[F >= 0.05]; lo = ok[F < 0.05]
            print(f'| {s_} ({mode}) | {np.median(F):.2f} | {np.mean(F >= 0.05):.2f} | {np.mean(F >= 0.2):.2f} | {100*hi.mean() if len(hi) else float("nan"):.1f}% | {100*lo.mean() if len(lo) else float("nan"):.1f}% |')
