"""The latency distributions of the request section as a PNG (matplotlib, Debian's python3-matplotlib).
Without matplotlib the plot is skipped with a message; the sample files stay for a later plot."""
import os


def read_samples(path):
    with open(path) as f:
        return [float(line) for line in f if line.strip()]


def latency_png(out, sample_files, rates):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  latency plot skipped: python3-matplotlib is not installed (apt-get install python3-matplotlib)",
              flush=True)
        return None
    labels = {"ours": "sidecar chain (outbound -> inbound)", "haproxy": "HAProxy chain",
              "backend": "join server alone"}
    fig, (cdf, tail) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, path in sample_files.items():
        if not os.path.exists(path):
            continue
        values = read_samples(path)
        if not values:
            continue
        values.sort()
        n = len(values)
        rate = rates.get(name, rates.get("ours"))
        label = f"{labels.get(name, name)}, {rate:.0f}/s, n={n}"
        style = "--" if name == "backend" else "-"
        cdf.plot(values, [(i + 1) / n for i in range(n)], style, label=label)
        # Tail: latency against "fraction slower than", log scale, so p99 and p99.9 are readable.
        tail.plot([1 - i / n for i in range(n)], values, style, label=label)
    cdf.set_xscale("log")
    cdf.set_xlabel("latency from intended send time (ms, log)")
    cdf.set_ylabel("fraction of requests")
    cdf.set_title("CDF at 50% of each chain's own maximum rate")
    cdf.grid(True, which="both", alpha=0.3)
    cdf.legend(fontsize=8)
    tail.set_xscale("log")
    tail.invert_xaxis()
    tail.set_xlim(1, 1e-4)
    tail.set_xlabel("fraction of requests slower (log): 1e-2 = p99, 1e-3 = p99.9")
    tail.set_ylabel("latency (ms)")
    tail.set_title("tail")
    tail.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"  latency plot: {out}", flush=True)
    return out
