"""The `ser-ari evaluate` table of models/README.md from the commands' JSON output, one file per set:
  python3 scripts/evaluate-table.py "CREMA-D test actors (14)=crema.json" "EmoDB (de, 10)=emodb.json" ...
A set whose name starts with "xcorpus:" also joins the mean-over-corpora line printed at the end."""
import json, sys

print('| set | clips (no speech) | clips/s | H s | history windows (mean) | probs | adjusted | adjusted recall ANG/DIS/FEA/HAP/NEU/SAD |')
print('| --- | ---: | ---: | ---: | ---: | --- | --- | --- |')
means = {}
for arg in sys.argv[1:]:
    name, path = arg.rsplit('=', 1)
    e = json.load(open(path))
    for i, r in enumerate(e['results']):
        a = r['adjusted']
        rec = '/'.join('–' if c['support'] == 0 else f"{c['recall']:.2f}" for c in a['perClass'])
        fmt = lambda m: f"{m['accuracy'] * 100:.1f} / {m['macroF1']:.3f} / {m['ece']:.3f}"
        head = f"| {name.removeprefix('xcorpus:')} | {e['clips']} ({e['noSpeech']}) | {e['clipsPerSecond']:.0f} |" if i == 0 else '|  |  |  |'
        print(f"{head} {r['history']} | {r['meanHistoryWindows']:.1f} | {fmt(r)} | {fmt(a)} | {rec} |")
        if name.startswith('xcorpus:'):
            means.setdefault(r['history'], []).append((r['accuracy'], a['accuracy'], r['ece'], a['ece']))
for h, v in means.items():
    n = len(v)
    print(f"\nxcorpus H {h}: mean accuracy probs {sum(x[0] for x in v) / n * 100:.1f}%, adjusted {sum(x[1] for x in v) / n * 100:.1f}%; "
          f"ECE probs {min(x[2] for x in v):.3f}-{max(x[2] for x in v):.3f}, adjusted {min(x[3] for x in v):.3f}-{max(x[3] for x in v):.3f}")
