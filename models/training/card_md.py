"""Render the model card's figures (models/README.md, between the GENERATED markers) from <name>.json,
so that no number in the card is typed by hand.

    /usr/bin/python3 models/training/card_md.py models/ser-cnn.json models/README.md
"""
import json
import sys
from pathlib import Path

START, END = "<!-- GENERATED FROM THE CARD JSON: do not edit by hand -->", "<!-- END GENERATED -->"


def classification_report(m: dict, labels: list[str]) -> str:
    rows = ["              precision    recall  f1-score   support", ""]
    for l in labels:
        c = m["perClass"][l]
        rows.append(f"         {l}       {c['precision']:.2f}      {c['recall']:.2f}      {c['f1']:.2f}      {c['support']:>4}")
    n = sum(m["perClass"][l]["support"] for l in labels)
    mp = sum(m["perClass"][l]["precision"] for l in labels) / len(labels)
    mr = sum(m["perClass"][l]["recall"] for l in labels) / len(labels)
    wp = sum(m["perClass"][l]["precision"] * m["perClass"][l]["support"] for l in labels) / n
    wr = sum(m["perClass"][l]["recall"] * m["perClass"][l]["support"] for l in labels) / n
    wf = sum(m["perClass"][l]["f1"] * m["perClass"][l]["support"] for l in labels) / n
    rows += ["", f"    accuracy                           {m['accuracy']:.2f}      {n:>4}",
             f"   macro avg       {mp:.2f}      {mr:.2f}      {m['macroF1']:.2f}      {n:>4}",
             f"weighted avg       {wp:.2f}      {wr:.2f}      {wf:.2f}      {n:>4}"]
    return "```\n" + "\n".join(rows) + "\n```"


def confusion(m: dict, labels: list[str]) -> str:
    head = "| true \\ predicted | " + " | ".join(labels) + " |"
    sep = "| --- |" + " ---: |" * len(labels)
    body = [f"| **{l}** | " + " | ".join(str(v) for v in row) + " |" for l, row in zip(labels, m["confusion"])]
    return "\n".join([head, sep, *body])


def pooled(m: dict, labels: list[str]) -> str:
    """Precision and recall of a group of labels taken as one (a prediction anywhere in the group
    counts as a hit for a clip anywhere in it)."""
    groups = {"FEA+SAD (distress)": ["FEA", "SAD"], "ANG+DIS (hostility)": ["ANG", "DIS"],
              "negativity (ANG+DIS+FEA+SAD)": ["ANG", "DIS", "FEA", "SAD"]}
    cm = m["confusion"]
    rows = ["| signal | precision | recall |", "| --- | ---: | ---: |"]
    for name, g in groups.items():
        idx = [labels.index(x) for x in g]
        hit = sum(cm[i][j] for i in idx for j in idx)
        predicted = sum(cm[i][j] for i in range(len(labels)) for j in idx)
        actual = sum(cm[i][j] for i in idx for j in range(len(labels)))
        rows.append(f"| {name} | {hit / predicted:.2f} | {hit / actual:.2f} |")
    return "\n".join(rows)


def render(card: dict) -> str:
    labels = card["labels"]
    t, v, r = card["metrics"]["test"], card["metrics"]["val"], card["metrics"]["robustness"]
    split = card["split"]
    tr = card["training"]
    lines = [
        START,
        f"**Held-out test actors ({len(split['test'])} actors, {sum(c['support'] for c in t['perClass'].values())} clips), "
        f"8 kHz mu-law, whole clips:** accuracy **{t['accuracy'] * 100:.1f}%**, macro-F1 **{t['macroF1']:.3f}**, "
        f"expected calibration error **{t['ece']:.3f}** (uncalibrated network {card['metrics']['testUncalibratedEce']:.3f}; "
        f"calibration `{card['training'].get('calibration', 'nll')}`: temperature {card['temperature']:.3f}"
        f"{' and a per-class bias' if any(card.get('classBias', {}).values()) else ''}, fitted on the validation actors).",
        "",
        "Per class, in the format of the original study's tables (scikit-learn's classification report):",
        "",
        classification_report(t, labels),
        "",
        "Confusion matrix (rows: true label, columns: predicted):",
        "",
        confusion(t, labels),
        "",
        "Robustness, same test clips degraded before the model:",
        "",
        "| condition | accuracy | drop (points) | macro-F1 | ECE |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| clean (mu-law, as recorded) | {t['accuracy'] * 100:.1f}% | - | {t['macroF1']:.3f} | {t['ece']:.3f} |",
    ]
    names = {"alaw": "A-law instead of mu-law", "loss5": "5% of 20 ms packets lost (zero-filled, as our jitter buffer conceals)",
             "snr20": "coloured noise at 20 dB SNR, then mu-law"}
    for k, name in names.items():
        lines.append(f"| {name} | {r[k]['accuracy'] * 100:.1f}% | {r[k]['drop'] * 100:.1f} | {r[k]['macroF1']:.3f} | {r[k]['ece']:.3f} |")
    cands = card["metrics"].get("calibrationCandidates")
    if cands:
        lines += [
            "",
            "Calibrations compared on the same network (all fitted on the validation actors):",
            "",
            "| calibration | val accuracy | val macro-F1 | val ECE | test accuracy | test macro-F1 | test ECE | lowest test class recall |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, c in cands.items():
            cv, te = c["val"], c["test"]
            lines.append(f"| {name} | {cv['accuracy'] * 100:.1f}% | {cv['macroF1']:.3f} | {cv['ece']:.3f} | {te['accuracy'] * 100:.1f}% | "
                         f"{te['macroF1']:.3f} | {te['ece']:.3f} | {te['minRecall']:.2f} |")
        lines += ["", card["metrics"]["calibrationChoice"]]
    lines += ["", "Pooled signals, as the rules use them (from the test confusion matrix):", "", pooled(t, labels)]
    sel = card.get("selection")
    if sel:
        lines += [
            "",
            f"Candidates trained for this model, chosen by: {sel['criterion']} (`models/training/select.py`). "
            + ("The test columns never rank candidates; they only pass or fail each against the gate: "
               + "; ".join(sel["gate"]) + "." if sel.get("gate") else "The test columns were not used to choose."),
            "",
            "| candidate | parameters | val accuracy | val macro-F1 | val ECE | test accuracy | test macro-F1 | test ECE | lowest test class recall | gate | command |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
        ]
        for c in sel["candidates"]:
            cv, te = c["val"], c["test"]
            name = f"**{c['candidate']}** (ships)" if c["candidate"] == sel["chosen"] else c["candidate"]
            args = c["command"].replace("/usr/bin/python3 models/training/train.py", "").strip() or "(defaults)"
            lines.append(f"| {name} | {c['parameters']:,} | {cv['accuracy'] * 100:.1f}% | {cv['macroF1']:.3f} | {cv['ece']:.3f} | "
                         f"{te['accuracy'] * 100:.1f}% | {te['macroF1']:.3f} | {te['ece']:.3f} | {te['minRecall']:.2f} | "
                         f"{gate_cell(c.get('gateFailures'))} | `{args}` |")
    lines += [
        "",
        f"Validation actors ({len(split['val'])}), calibrated: accuracy {v['accuracy'] * 100:.1f}%, macro-F1 {v['macroF1']:.3f}, ECE {v['ece']:.3f}.",
        "",
        f"Size: {card['parameters']:,} parameters, ONNX file {card['fileBytes'] / 1e6:.2f} MB. "
        f"Trained {tr['epochs']} epochs (best validation epoch {tr.get('bestEpoch') or tr['members_history'][0]['bestEpoch']}) in {tr['seconds'] / 60:.0f} minutes on this "
        f"2-core machine, seed {tr['seed']}, torch {tr['torch']}. Command: `{card['command']}`.",
        END,
    ]
    return "\n".join(lines)


def gate_cell(failures: list[str] | None) -> str:
    if failures is None:
        return "-"  # chosen before the gate existed
    return "fails: " + "; ".join(failures) if failures else "passes"


def main() -> None:
    card = json.loads(Path(sys.argv[1]).read_text())
    md_path = Path(sys.argv[2])
    md = md_path.read_text()
    a, b = md.index(START), md.index(END) + len(END)
    md_path.write_text(md[:a] + render(card) + md[b:])


if __name__ == "__main__":
    main()
