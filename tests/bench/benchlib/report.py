"""The results table: Markdown for the README, CSV for tools, JSON with every raw measurement."""
import csv
import json
import os
from dataclasses import dataclass


@dataclass
class Row:
    section: str
    metric: str
    ours: float
    baseline: float
    target: str
    met: object  # True, False or None (no target)
    unit: str
    fraction: bool = False

    def value(self, number):
        if number is None:
            return "n/a"
        if self.fraction:
            return f"{100 * number:.0f}%"
        return f"{number:.3g}" if abs(number) < 100 else f"{number:.0f}"

    def ratio(self):
        if self.ours is None or not self.baseline:
            return "n/a"
        return f"{self.ours / self.baseline:.2f}x"

    def verdict(self):
        return "" if self.met is None else ("met" if self.met else "**missed**")


def markdown(rows, machine):
    lines = [f"Machine: {machine['nproc']} cores, {machine['cpu']}; {machine['openssl']}; {machine['haproxy']}; "
             f"{machine['workers']} worker thread(s) each; run {machine['date']} ({machine['duration_s']} s).", "",
             "| section | metric | unit | ours | baseline (HAProxy) | ours / baseline | target | |",
             "|---|---|---|---:|---:|---:|---|---|"]
    for row in rows:
        lines.append(f"| {row.section} | {row.metric} | {row.unit} | {row.value(row.ours)} | "
                     f"{row.value(row.baseline)} | {row.ratio()} | {row.target} | {row.verdict()} |")
    return "\n".join(lines) + "\n"


def write(directory, rows, machine, notes):
    with open(os.path.join(directory, "latest.md"), "w") as f:
        f.write(markdown(rows, machine))
    with open(os.path.join(directory, "latest.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["section", "metric", "unit", "ours", "baseline", "ratio", "target", "met"])
        for row in rows:
            writer.writerow([row.section, row.metric, row.unit, row.ours, row.baseline, row.ratio(), row.target,
                             "" if row.met is None else row.met])
    if "profile_text" in notes:
        with open(os.path.join(directory, "perf-handshake.txt"), "w") as f:
            f.write(notes["profile_text"])
    with open(os.path.join(directory, "latest.json"), "w") as f:
        json.dump({"machine": machine, "raw": notes}, f, indent=1, default=str)
