#!/usr/bin/env python3
"""Table and SVG chart of bench/peers/run.sh's results (python3 stdlib only).

    report.py RESULTS.jsonl PERFORMANCE_MD SVG_OUT HEADER_TEXT_FILE

Medians over the repetitions of samples/s and of test accuracy per (network, batch, system,
precision, threads); PyTorch is shown at its best thread setting; the ratio is nerve fp32's
samples/s over the row's. Replaces the part of PERFORMANCE_MD between the two marker
lines (appended when missing)."""
import json, statistics, sys
from collections import defaultdict

BEGIN = "<!-- bench/peers/run.sh: begin (generated, do not edit by hand) -->"
END = "<!-- bench/peers/run.sh: end -->"


def main():
    res, md, svg, hdr = sys.argv[1:5]
    rows = [json.loads(l) for l in open(res) if l.strip().startswith("{")]
    errors = [r for r in rows if "error" in r]
    rows = [r for r in rows if "error" not in r]
    g = defaultdict(list)
    for r in rows:
        g[(r["sizes"], r["batch"], r["system"], r["precision"], r["threads"])].append(r)
    med = {}
    for k, rs in g.items():
        acc = [r["test_acc"] for r in rs if r["complete"]]
        med[k] = {"sps": statistics.median(r["samples_per_s"] for r in rs), "n": len(rs),
                  "acc": statistics.median(acc) if acc else None, "complete": len(acc),
                  "kernel": rs[0]["kernel"], "data": rs[0]["data"], "epochs": rs[0]["epochs"]}
    # best thread setting per (sizes, batch, system, precision)
    best = {}
    for k, v in med.items():
        kk = k[:4]
        if kk not in best or v["sps"] > best[kk][1]["sps"]:
            best[kk] = (k[4], v)
    order = [("nerve", "fp32"), ("nerve", "bf16"), ("onednn", "fp32"), ("onednn", "bf16"),
             ("pytorch", "fp32"), ("pytorch", "bf16"), ("fann", "fp32")]
    names = {"nerve": "nerve", "onednn": "oneDNN primitives loop", "pytorch": "PyTorch", "fann": "FANN"}
    nets = sorted({k[0] for k in best}, key=lambda s: sum(int(x) for x in s.split("-")))
    batches = sorted({k[1] for k in best})
    out = [BEGIN, "", open(hdr).read().rstrip(), ""]
    out.append("| network | batch | system | precision | threads | samples/s (median) | nerve fp32 / it "
               "| test accuracy % (median) | runs |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    chart = []
    for net in nets:
        for b in batches:
            ref = best.get((net, b, "nerve", "fp32"))
            for sysname, prec in order:
                k = (net, b, sysname, prec)
                if k not in best:
                    continue
                th, v = best[k]
                ratio = f"{ref[1]['sps'] / v['sps']:.2f}" if ref and v["sps"] > 0 else "-"
                acc = f"{v['acc']:.2f}" if v["acc"] is not None else "- (stopped at the time cap)"
                out.append(f"| {net} | {b} | {names[sysname]} | {prec} | {th} | {v['sps']:.0f} | {ratio} | {acc} "
                           f"| {v['n']} ({v['complete']} complete) |")
                chart.append((net, b, f"{names[sysname]} {prec}", v["sps"]))
    out.append("")
    out.append("Kernels each system reported (first run of each):")
    out.append("")
    seen = set()
    rank = {sp: i for i, sp in enumerate(order)}
    for k, v in sorted(med.items(), key=lambda kv: rank.get((kv[0][2], kv[0][3]), 99)):
        key = (k[2], k[3])
        if key in seen:
            continue
        seen.add(key)
        out.append(f"- {names[k[2]]} {k[3]}: {v['kernel']}")
    for e in errors[:1]:
        out.append(f"- {names.get(e['system'], e['system'])} {e['precision']}: could not run: {e['error']}")
    out += ["", f"Chart: [peers.svg](peers.svg) (samples/s per system and batch, log scale).", "", END]
    text = open(md).read()
    block = "\n".join(out) + "\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END) + 1:]
    else:
        text = text.rstrip() + "\n\n## Peers side by side (bench/peers/run.sh)\n\n" + block
    open(md, "w").write(text)
    write_svg(svg, chart, nets, batches)


def write_svg(path, chart, nets, batches):
    import math
    systems = []
    for _, _, s, _ in chart:
        if s not in systems:
            systems.append(s)
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    groups = [(n, b) for n in nets for b in batches]
    bw, gap, left, top, h = 14, 24, 70, 40, 300
    width = left + len(groups) * (len(systems) * bw + gap) + 220
    vals = [v for *_, v in chart if v > 0]
    lo, hi = 10 ** math.floor(math.log10(min(vals))), 10 ** math.ceil(math.log10(max(vals)))
    y = lambda v: top + h - h * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + h + 70}" font-family="sans-serif" font-size="11">',
         f'<text x="{left}" y="20" font-size="14">Training samples/s per system and batch (log scale; bench/peers/run.sh)</text>']
    e = lo
    while e <= hi:
        s.append(f'<line x1="{left}" x2="{width - 210}" y1="{y(e):.1f}" y2="{y(e):.1f}" stroke="#ddd"/>'
                 f'<text x="{left - 5}" y="{y(e) + 4:.1f}" text-anchor="end">{e:g}</text>')
        e *= 10
    x = left + gap / 2
    for n, b in groups:
        for i, sysname in enumerate(systems):
            v = next((v for nn, bb, ss, v in chart if (nn, bb, ss) == (n, b, sysname)), None)
            if v:
                s.append(f'<rect x="{x + i * bw:.1f}" y="{y(v):.1f}" width="{bw - 2}" height="{top + h - y(v):.1f}" '
                         f'fill="{colours[i % len(colours)]}"><title>{sysname}, {n}, batch {b}: {v:.0f}/s</title></rect>')
        cx = x + len(systems) * bw / 2
        s.append(f'<text x="{cx:.1f}" y="{top + h + 16}" text-anchor="middle">{n}</text>'
                 f'<text x="{cx:.1f}" y="{top + h + 30}" text-anchor="middle">batch {b}</text>')
        x += len(systems) * bw + gap
    for i, sysname in enumerate(systems):
        s.append(f'<rect x="{width - 200}" y="{top + i * 18}" width="12" height="12" fill="{colours[i % len(colours)]}"/>'
                 f'<text x="{width - 183}" y="{top + i * 18 + 10}">{sysname}</text>')
    s.append("</svg>")
    open(path, "w").write("\n".join(s) + "\n")


if __name__ == "__main__":
    main()
