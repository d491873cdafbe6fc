#!/usr/bin/env python3
"""Turns the raw results of scripts/bench.sh into BENCHMARKS.md.

Input: a TSV with one line per measured wrk run (scenario, server, round,
requests, bytes, duration_us, p99_us, rss_kib, errors), the machine's
description as --set key=value, and optionally criterion's output directory.

Figures per server are medians over the rounds (peak RSS: the largest of
the rounds). Ratios are medians of per-round ratios: both servers of a
ratio ran in the same round, minutes apart at most, so drift of the
machine cancels out better than in a ratio of medians.

The sweeps' points are scenarios named `sweep-conns:<connections>` and
`sweep-size:<bytes>`; with matplotlib importable (bench.sh runs this with
the python of target/bench-venv), their curves are drawn as SVG files into
--plots and linked from the report.
"""

import argparse
import csv
import json
import os
import statistics
import sys

# name: (title, the point's name, what a point is measured in)
SWEEPS = {
    "sweep-conns": ("How it scales with connections: 1 KiB GET (wrk)", "connections", "req/s"),
    "sweep-size": ("How it scales with file size: GET, 1 connection (wrk)", "file size", "MB/s"),
}
# The servers of the sweeps, in the order and colours of the plots.
SWEEP_SERVERS = {"demo": "tab:red", "servedir": "tab:blue", "actix": "tab:green", "nginx": "tab:gray"}

# name: (title, the metric ratios compare, reference columns)
SCENARIOS = {
    "small": ("1 KiB GET, {connections} connections (wrk)", "req/s", ["servedir", "actix", "nginx"]),
    "medium": ("1 MiB GET, 4 connections (wrk)", "MB/s", ["servedir", "actix", "nginx"]),
    "large1": ("{large} single stream, 1 connection (wrk)", "MB/s", ["servedir", "actix", "nginx"]),
    "large8": ("{large}, 8 clients at once (wrk)", "MB/s", ["servedir", "actix", "nginx"]),
    "relay": ("HttpDownload relay of {large}, 1 connection (wrk)", "MB/s", ["nginx"]),
    "cond": (
        "HEAD and 304 against a full GET of 1 KiB, {connections} connections (oha)",
        "req/s",
        ["get"],
    ),
    "s3large": ("Object store (moto): {large} object, 1 connection (wrk)", "MB/s", ["s3-direct"]),
    "s3small": ("Object store (moto): 1 KiB object, {connections} connections (wrk)", "req/s", ["s3-direct"]),
    "zip-small": ("zip of 1,000 files of 1 KiB, 4 connections (wrk)", "req/s", ["nginx-zip"]),
    "zip-large": ("zip of 4 files of 256 MiB, 1 connection (wrk)", "MB/s", ["nginx-zip"]),
    "cached": ("a {large} remote file, 1 connection (wrk)", "MB/s", ["nginx"]),
    "static-small": (
        "Static files: 1 KiB stylesheet by its hashed name, {connections} connections (wrk)",
        "req/s",
        ["servedir-pc", "actix", "nginx"],
    ),
    "static-large": (
        "Static files: {static_large} file by its hashed name, 1 connection (wrk)",
        "MB/s",
        ["servedir-pc", "actix", "nginx"],
    ),
}

LABELS = {
    "demo": "demo `/path/` (axum-download)",
    "servedir": "axum + tower-http ServeDir",
    "actix": "actix-web + actix-files",
    "nginx": "nginx direct",
    "nginx-nn": "nginx direct, `tcp_nopush off` (reference)",
    "nginx-demo": "nginx → demo `/nginx/` (X-Accel-Redirect)",
    "nginx-demo-ka": "nginx → demo `/nginx/`, upstream keep-alive (diagnosis)",
    "demo-relay": "demo `/http/` (HttpDownload from nginx direct)",
    "s3-direct": "the store direct (moto, presigned GET)",
    "demo-s3": "demo `/s3/` (ObjectStoreStorage, streamed by the app)",
    "nginx-demo-s3": "nginx → demo `/s3-nginx/` (nginx fetches from the store)",
    "demo-archive": "demo `/archive/` (ArchiveDownload, zip made per request)",
    "nginx-zip": "nginx direct, the zip made beforehand with `zip -0`",
    "demo-cached": "demo `/cached/` (RemoteCache of nginx direct, filled)",
    "demo-static": "demo `/static/` (`StaticFiles` layer, table and byte cache)",
    "servedir-pc": "axum + ServeDir, `precompressed_br` + `precompressed_gzip`",
}
REF_NAMES = {
    "demo": "demo `/path/`",
    "servedir": "ServeDir",
    "actix": "actix-files",
    "nginx": "nginx direct",
    "servedir-pc": "ServeDir (precompressed)",
    "get": "the same server's GET",
    "s3-direct": "the store direct",
    "nginx-zip": "nginx + `zip -0`",
}

RSS_LIMIT_MIB = 24


def load(path):
    runs = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            seconds = int(row["duration_us"]) / 1e6
            run = {
                "req/s": int(row["requests"]) / seconds,
                "MB/s": int(row["bytes"]) / seconds / 1e6,
                "p99_ms": int(row["p99_us"]) / 1000 if int(row["p99_us"]) >= 0 else None,
                "rss_mib": int(row["rss_kib"]) / 1024,
                "errors": int(row["errors"]),
            }
            runs.setdefault(row["scenario"], {}).setdefault(row["server"], {})[
                int(row["round"])
            ] = run
    return runs


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(runs, scenario, server, refs, metric):
    """Median over rounds of server / (best of refs in that round)."""
    table = runs.get(scenario, {})
    mine = table.get(server)
    if not mine or any(ref not in table for ref in refs):
        return None
    values = []
    for rnd, run in mine.items():
        best = [table[ref][rnd][metric] for ref in refs if rnd in table[ref]]
        if len(best) == len(refs) and max(best) > 0:
            values.append(run[metric] / max(best))
    return median(values)


def fmt_num(value, digits=0):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def fmt_ratio(value):
    return "—" if value is None else f"{value:.2f}×"


def reference(server, ref):
    """The row a ratio column compares `server` with: HEAD and 304 are
    compared with the GET of the same server."""
    if ref == "get":
        return server.removesuffix("-head").removesuffix("-304")
    return ref


def summary(rounds):
    """A row's figures over its rounds: medians, the largest peak RSS and
    the sum of the errors."""
    vals = list(rounds.values())
    return {
        "req/s": median(v["req/s"] for v in vals),
        "MB/s": median(v["MB/s"] for v in vals),
        "p99_ms": median(v["p99_ms"] for v in vals),
        "rss_mib": max(v["rss_mib"] for v in vals),
        "errors": sum(v["errors"] for v in vals),
    }


def fmt_ms(value):
    return "—" if value is None else f"{value:,.2f} ms"


def markdown_table(header, rows, left=1):
    """A table whose first `left` columns are aligned left, the figures right."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("| " + " | ".join(["---"] * left + ["---:"] * (len(header) - left)) + " |")
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines + [""]


def scenario_title(name, info):
    large = f"{info.get('large_mib', '512')} MiB"
    return SCENARIOS[name][0].format(
        large=large,
        connections=info.get("connections", "?"),
        static_large=f"{info.get('static_large_mib', '64')} MiB",
    )


def scenario_table(runs, name, info):
    if name == "cond":
        return cond_table(runs, info)
    _title, metric, refs = SCENARIOS[name]
    table = runs[name]
    header = ["server", "req/s", "MB/s", "p99 latency", "peak RSS", "errors"]
    header += [f"{metric} ÷ {REF_NAMES[r]}" for r in refs]
    rows = []
    for server, rounds in table.items():
        figures = summary(rounds)
        rss = figures["rss_mib"]
        cells = [
            LABELS.get(server, server),
            fmt_num(figures["req/s"]),
            fmt_num(figures["MB/s"], 1),
            fmt_ms(figures["p99_ms"]),
            f"{rss:.1f} MiB" if rss > 0 else "—",
            str(figures["errors"]),
        ]
        for ref in refs:
            other = reference(server, ref)
            same = other == server or other not in table
            cells.append("—" if same else fmt_ratio(ratio(runs, name, server, [other], metric)))
        rows.append(cells)
    return [f"### {scenario_title(name, info)}", ""] + markdown_table(header, rows)


def cond_table(runs, info):
    """One line per server: its GET, HEAD and 304, and HEAD and 304 against
    its own GET."""
    table = runs["cond"]
    servers = [s for s in table if not s.endswith(("-head", "-304"))]
    header = ["server", "304 asked with", "GET req/s", "HEAD req/s", "304 req/s", "HEAD ÷ GET", "304 ÷ GET"]
    header += ["p99 GET / HEAD / 304", "errors"]
    rows = []
    for server in servers:
        kinds = [server, f"{server}-head", f"{server}-304"]
        figures = [summary(table[k]) if k in table else None for k in kinds]
        cells = [LABELS.get(server, server), f"`{info.get('condition_' + server, '?')}`"]
        cells += [fmt_num(f["req/s"]) if f else "—" for f in figures]
        cells += [fmt_ratio(ratio(runs, "cond", k, [server], "req/s")) for k in kinds[1:]]
        cells.append(" / ".join(fmt_ms(f["p99_ms"]).removesuffix(" ms") if f else "—" for f in figures) + " ms")
        cells.append(str(sum(f["errors"] for f in figures if f)))
        rows.append(cells)
    return [f"### {scenario_title('cond', info)}", ""] + markdown_table(header, rows, left=2)


def sweep_points(runs, sweep):
    """The measured points of a sweep, ascending: (value, scenario name)."""
    prefix = sweep + ":"
    return sorted((int(name[len(prefix):]), name) for name in runs if name.startswith(prefix))


def fmt_point(sweep, value):
    if sweep == "sweep-conns":
        return f"{value:,}"
    for unit, size in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]:
        if value >= size and value % size == 0:
            return f"{value // size:,} {unit}"
    return f"{value:,} B"


def sweep_figures(runs, sweep):
    """{server: [(point, summary), ...]} for the servers of a sweep."""
    curves = {}
    for value, name in sweep_points(runs, sweep):
        for server, rounds in runs[name].items():
            curves.setdefault(server, []).append((value, summary(rounds)))
    order = list(SWEEP_SERVERS)
    return dict(sorted(curves.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def sweep_table(runs, sweep, info, plot_links):
    """A sweep's section: a line per point, a column per server (the
    point's figure and p99), the demo against the faster peer, and its
    plots."""
    title, point_name, metric = SWEEPS[sweep]
    curves = sweep_figures(runs, sweep)
    servers = list(curves)
    peers = [s for s in ("servedir", "actix") if s in servers]
    header = [point_name] + [REF_NAMES.get(s, s) for s in servers]
    if "demo" in servers and peers:
        header.append(f"demo ÷ faster of {' and '.join(REF_NAMES[p] for p in peers)}")
    digits = 0 if metric == "req/s" else 1
    rows = []
    for value, name in sweep_points(runs, sweep):
        cells = [fmt_point(sweep, value)]
        for server in servers:
            figures = dict(curves[server]).get(value)
            if figures is None:
                cells.append("—")
                continue
            errors = f" ({figures['errors']} errors)" if figures["errors"] else ""
            cells.append(f"{fmt_num(figures[metric], digits)} · {fmt_ms(figures['p99_ms'])}{errors}")
        if len(header) > len(servers) + 1:
            cells.append(fmt_ratio(ratio(runs, name, "demo", peers, metric)))
        rows.append(cells)
    lines = [f"### {title}", "", f"Each cell: {metric} · p99 latency."]
    curl_points = [p for p in info.get("curl_points", "").split() if p.startswith(sweep + ":")]
    if curl_points:
        points = ", ".join(
            f"{REF_NAMES.get(row, row)} at {fmt_point(sweep, int(name.split(':')[1]))}"
            for name, row in (p.split("/", 1) for p in curl_points)
        )
        lines.append(
            f"Measured with curl ({info.get('curl_downloads', '3')} downloads in a row; p99 = the"
            f" slowest) because wrk finished fewer than 2 requests in its time: {points}."
        )
    lines.append("")
    lines += markdown_table(header, rows, left=0)
    for alt, link in plot_links.get(sweep, []):
        lines.append(f"![{alt}]({link})")
    if plot_links.get(sweep):
        lines.append("")
    return lines


def plot_sweeps(runs, plots_dir, out_dir):
    """Draws each measured sweep as two SVG files (its figure and p99 against
    the points, one line per server) and returns {sweep: [(alt, link)]},
    the links relative to the report; {} when matplotlib is missing."""
    sweeps = [s for s in SWEEPS if sweep_points(runs, s)]
    if not sweeps:
        return {}
    try:
        import matplotlib
    except ImportError:
        print("report.py: no matplotlib, so no plots", file=sys.stderr)
        return {}
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    # Text as text and no date: small files that only change with the figures.
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "axum-download-bench"})
    os.makedirs(plots_dir, exist_ok=True)
    links = {}
    for sweep in sweeps:
        _title, point_name, metric = SWEEPS[sweep]
        curves = sweep_figures(runs, sweep)
        points = [value for value, _ in sweep_points(runs, sweep)]
        for key, ylabel, slug in [(metric, metric, metric.replace("/", "-per-").lower()), ("p99_ms", "p99 latency (ms)", "p99")]:
            fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
            for server, figures in curves.items():
                xs = [v for v, f in figures if f[key] is not None]
                ys = [f[key] for v, f in figures if f[key] is not None]
                ax.plot(xs, ys, marker="o", label=REF_NAMES.get(server, server).replace("`", ""),
                        color=SWEEP_SERVERS.get(server))
            ax.set_xscale("log")
            if sweep == "sweep-size" or key == "p99_ms":
                ax.set_yscale("log")
            else:
                ax.set_ylim(bottom=0)
                ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
            # Ticks at the measured points only, labelled as in the tables.
            ax.set_xticks(points, [fmt_point(sweep, v) for v in points])
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.set_xlabel(point_name + " (log)")
            ax.set_ylabel(ylabel + (" (log)" if ax.get_yscale() == "log" else ""))
            ax.set_title(f"{ylabel} against {point_name}")
            ax.grid(True, which="major", alpha=0.3)
            ax.legend()
            name = f"{sweep}-{slug}.svg"
            path = os.path.join(plots_dir, name)
            fig.savefig(path, metadata={"Date": None})
            plt.close(fig)
            links.setdefault(sweep, []).append(
                (f"{ylabel} against {point_name}", os.path.relpath(path, out_dir))
            )
    return links


def targets(runs):
    """(target, measured, goal, met) rows."""
    rows = []

    def add(text, value, goal_text, ok):
        if value is None:
            if goal_text:  # references are left out when not measured
                rows.append((text, "not measured", goal_text, "—"))
        else:
            met = "" if not goal_text else "yes" if ok(value) else "**no**"
            rows.append((text, fmt_ratio(value), goal_text, met))

    def peak_rss(scenario, server, text):
        measured = runs.get(scenario, {}).get(server)
        if measured:
            peak = max(v["rss_mib"] for v in measured.values())
            ok = "yes" if 0 < peak <= RSS_LIMIT_MIB else "**no**"
            rows.append((text, f"{peak:.1f} MiB", f"≤ {RSS_LIMIT_MIB} MiB", ok))

    # The downloads' own targets first, then the static files', the
    # hand-off's, the relay's and the object store's.
    add(
        "1 KiB GET req/s: demo ÷ actix-files",
        ratio(runs, "small", "demo", ["actix"], "req/s"),
        "≥ 1.2×",
        lambda v: v >= 1.2,
    )
    add(
        "1 KiB GET req/s: demo ÷ nginx direct",
        ratio(runs, "small", "demo", ["nginx"], "req/s"),
        "≥ 0.8×",
        lambda v: v >= 0.8,
    )
    for kind in ("HEAD", "304"):
        add(
            f"{kind} req/s ÷ the demo's own 1 KiB GET req/s",
            ratio(runs, "cond", f"demo-{kind.lower()}", ["demo"], "req/s"),
            "≥ 1.5×",
            lambda v: v >= 1.5,
        )
    add(
        "1 MiB GET MB/s: demo ÷ actix-files",
        ratio(runs, "medium", "demo", ["actix"], "MB/s"),
        "≥ 1.1×",
        lambda v: v >= 1.1,
    )
    add(
        "512 MiB single stream MB/s: demo ÷ faster of actix-files and ServeDir",
        ratio(runs, "large1", "demo", ["actix", "servedir"], "MB/s"),
        "≥ 1.0×",
        lambda v: v >= 1.0,
    )
    demo8 = runs.get("large8", {}).get("demo")
    if demo8:
        peak = max(v["rss_mib"] for v in demo8.values())
        rows.append(
            (
                "peak RSS of the demo while 8 clients download 512 MiB each",
                f"{peak:.1f} MiB",
                f"≤ {RSS_LIMIT_MIB} MiB",
                "yes" if 0 < peak <= RSS_LIMIT_MIB else "**no**",
            )
        )
    else:
        rows.append(("peak RSS of the demo, 8 clients × 512 MiB", "not measured", f"≤ {RSS_LIMIT_MIB} MiB", "—"))
    add(
        "static 1 KiB req/s: demo `/static/` ÷ faster of ServeDir (precompressed) and actix-files",
        ratio(runs, "static-small", "demo-static", ["servedir-pc", "actix"], "req/s"),
        "≥ 1.0×",
        lambda v: v >= 1.0,
    )
    add(
        "static 1 KiB req/s: demo `/static/` ÷ nginx direct",
        ratio(runs, "static-small", "demo-static", ["nginx"], "req/s"),
        "≥ 0.8×",
        lambda v: v >= 0.8,
    )
    add(
        "static large MB/s: demo `/static/` ÷ faster of ServeDir (precompressed) and actix-files",
        ratio(runs, "static-large", "demo-static", ["servedir-pc", "actix"], "MB/s"),
        "≥ 1.0×",
        lambda v: v >= 1.0,
    )
    add(
        "hand-off, 512 MiB MB/s: nginx → demo ÷ nginx direct",
        ratio(runs, "large1", "nginx-demo", ["nginx"], "MB/s"),
        "≥ 0.9×",
        lambda v: v >= 0.9,
    )
    add(
        "(reference) the same ÷ nginx direct with `tcp_nopush off`",
        ratio(runs, "large1", "nginx-demo", ["nginx-nn"], "MB/s"),
        "",
        lambda v: v >= 0.9,
    )
    add(
        "hand-off, 1 KiB req/s: nginx → demo ÷ nginx direct",
        ratio(runs, "small", "nginx-demo", ["nginx"], "req/s"),
        "aim ≥ 0.3×",
        lambda v: v >= 0.3,
    )
    if "nginx-demo-ka" in runs.get("small", {}):
        add(
            "(diagnosis) the same with upstream keep-alive to the demo",
            ratio(runs, "small", "nginx-demo-ka", ["nginx"], "req/s"),
            "aim ≥ 0.3×",
            lambda v: v >= 0.3,
        )
    add(
        "HttpDownload relay of 512 MiB MB/s ÷ the upstream (nginx) direct",
        ratio(runs, "relay", "demo-relay", ["nginx"], "MB/s"),
        "≥ 0.8×",
        lambda v: v >= 0.8,
    )
    add(
        "(reference) the same ÷ nginx direct with `tcp_nopush off`",
        ratio(runs, "relay", "demo-relay", ["nginx-nn"], "MB/s"),
        "",
        lambda v: v >= 0.8,
    )
    peak_rss("relay", "demo-relay", "HttpDownload relay: peak RSS of the demo (bounded memory)")
    for scenario, what, metric in [("s3large", "512 MiB object MB/s", "MB/s"), ("s3small", "1 KiB object req/s", "req/s")]:
        add(
            f"object store, {what}: demo `/s3/` relay ÷ the store direct",
            ratio(runs, scenario, "demo-s3", ["s3-direct"], metric),
            "≥ 0.8×",
            lambda v: v >= 0.8,
        )
        add(
            f"object store, {what}: nginx hand-off (`/s3-nginx/`) ÷ the store direct",
            ratio(runs, scenario, "nginx-demo-s3", ["s3-direct"], metric),
            "≥ 0.9×",
            lambda v: v >= 0.9,
        )
    peak_rss("s3large", "demo-s3", "object store relay of 512 MiB: peak RSS of the demo")
    return rows


def micro_rows(directory):
    rows = []
    for dirpath, _dirs, files in os.walk(directory):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            name = json.load(f)["full_id"]
        with open(os.path.join(dirpath, "estimates.json")) as f:
            estimates = json.load(f)
        rows.append((name, estimates["median"]["point_estimate"]))
    return sorted(rows)


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--plots", default="", help="directory for the sweeps' SVG plots")
    parser.add_argument("--micro", default="")
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()
    info = dict(pair.split("=", 1) for pair in args.set)
    runs = load(args.results)

    out = ["# Benchmarks", ""]
    out.append(
        "Written by `./scripts/bench.sh`"
        + (" in quick mode (`BENCH_QUICK=1`): a smoke run, not figures to quote" if info.get("quick") == "1" else "")
        + "; rerun it rather than editing this file. Every figure below comes from"
        " one run of the script, on the machine described here, with the servers"
        " measured in alternation."
    )
    out += ["", "## Machine", "", "| | |", "| --- | --- |"]
    for key, label in [
        ("cpu", "CPU"),
        ("nproc", "cores (nproc)"),
        ("memory", "memory"),
        ("kernel", "kernel"),
        ("rustc", "rustc"),
        ("wrk", "load generator"),
        ("oha", "load generator (HEAD and 304)"),
        ("nginx", "nginx"),
        ("date", "run started"),
        ("commit", "axum-download at"),
    ]:
        if key == "oha" and not info.get(key):
            continue
        out.append(f"| {label} | {info.get(key, '?')} |")
    out.append(
        f"| load average (1, 5, 15 min) | {info.get('load_before', '?')} before,"
        f" {info.get('load_after', '?')} after |"
    )
    out += [
        "",
        "## Method",
        "",
        "- Servers, all on loopback over the same temporary media directory:"
        " the demo (`examples/demo`, release build; `/path/` streams from the"
        " application, `/nginx/` hands off with `X-Accel-Redirect`, `/http/`"
        " relays with `HttpDownload`), `bench/peers/servedir` (axum 0.8 +"
        " tower-http `ServeDir`, defaults), `bench/peers/actix` (actix-web +"
        " actix-files `Files`/`NamedFile`, default workers), nginx serving the"
        " directory itself, and nginx in front of the demo from"
        " `deploy/nginx.conf`. Both nginx run one worker with `sendfile` and an"
        " access log; the Rust servers use one runtime thread per core and set"
        " `TCP_NODELAY` on their connections (the demo does it itself; the peers"
        " do it in `bench/peers`, as nginx does on keep-alive connections)."
        " The row \"upstream keep-alive (diagnosis)\" is `deploy/nginx.conf` with"
        " its `proxy_pass` pointed at an `upstream` block holding `keepalive 16`,"
        " so nginx reuses its connections to the demo instead of opening one per"
        " request. `nginx direct, tcp_nopush off` is nginx direct without"
        " `tcp_nopush` (both nginx configurations above have it on, as"
        " `deploy/nginx.conf` and Debian's default do): on this loopback it"
        " changes nginx's large-file throughput a lot, so it is shown as a"
        " reference for the large-file ratios.",
        f"- Load: `wrk -t1 -c<N> -d{info.get('seconds')}s --latency`; the HEAD/304"
        " scenario uses `oha --worker-threads 1` for all its rows (wrk cannot measure HEAD: it waits"
        " for the body Content-Length announces), on every server: its 304 is asked"
        " with `If-None-Match` and the server's own ETag, or, from a server that sends"
        " no ETag, `If-Modified-Since` and its own `Last-Modified`; only the status a"
        f" row expects (200 or 304) counts as done. {info.get('rounds')} round(s);"
        " each round runs every server of a scenario once, starting one server"
        " further along each round, after a"
        f" {info.get('warmup')} s warm-up per server (0 = none). The Rust servers are"
        " restarted before each scenario. Every server's bytes were checked"
        " (sha256) before the load.",
        "- req/s, MB/s (10^6 bytes/s as the load generator counts them: wrk with"
        " the headers, oha the bodies only) and"
        " p99 latency: medians over the rounds. Peak RSS: the kernel's"
        " high-water mark (`VmHWM`, reset through `/proc/PID/clear_refs` before"
        " each run) of the server's processes, the largest of the rounds; for"
        " nginx its worker, for nginx → demo the demo plus the nginx worker.",
        "- Object store scenarios: moto's S3-compatible server (Python,"
        " `moto[server]` from PyPI, in memory) holds the objects; \"the store"
        " direct\" asks it with a presigned URL, the demo's `/s3/` reads it"
        " through `ObjectStoreStorage` (a `HEAD`, then a `GET`), and"
        " `/s3-nginx/` answers nginx with the presigned URL, which nginx then"
        " fetches itself. moto is slow, far slower than S3 or nginx, and every"
        " request of these rows goes through it: it bounds every figure of these"
        " two scenarios, so read them as ratios to the store direct only. For"
        " the store direct, the peak RSS is moto's (it holds the objects).",
        "- Ratios (`÷`): the median over rounds of the per-round ratio, so both"
        " sides of a ratio were measured minutes apart at most.",
        "- Sweeps (\"How cost grows\"): each point is a scenario of its own (servers"
        f" restarted), {info.get('sweep_seconds', '?')} s per server and point"
        f" ({info.get('sweep_large_seconds', '?')} s for files above 256 MiB),"
        f" {info.get('sweep_rounds', '?')} round(s), {info.get('sweep_warmup', '?')} s of"
        " warm-up: short runs, so single points are noisier than the tables above; read"
        " the shape of the curves. Over connections: 1 KiB GET with `wrk -t1 -c<N>`"
        " (nginx with `worker_connections 4096` and a listen backlog of 4,096). Over"
        " file size: one connection, so each point is one stream and p99 the time of one"
        " download; a point where wrk finishes fewer than 2 requests in its time is"
        f" measured again with curl instead ({info.get('curl_downloads', '3')} downloads in"
        " a row, MB/s over all of them, p99 = the slowest).",
        "- wrk runs on the same 2 cores as the servers: the figures are for"
        " comparison within the run, not absolute capacity. Other work on the"
        " machine (see the load average) adds noise; compare ratios, not runs.",
        "",
        "## Targets",
        "",
        "| target | measured | goal | met |",
        "| --- | ---: | --- | --- |",
    ]
    for row in targets(runs):
        out.append("| " + " | ".join(row) + " |")
    out += ["", "## Results", ""]
    for name in SCENARIOS:
        if name in runs:
            out += scenario_table(runs, name, info)
    prepared = [
        (key, label)
        for key, label in [
            ("zip_arch-small", "`zip -0` of the 1,000 small files, to disk (once, before nginx can serve it)"),
            ("zip_arch-large", "`zip -0` of the 4 × 256 MiB files, to disk"),
            ("archive_arch-small_cold", "demo `/archive/` of the small files, first GET (no CRC known: each file read twice)"),
            ("archive_arch-small_warm", "the same, second GET (CRCs cached: each file read once)"),
            ("archive_arch-large_cold", "demo `/archive/` of the 4 × 256 MiB files, first GET (no CRC known)"),
            ("archive_arch-large_warm", "the same, second GET (CRCs cached)"),
            ("cache_fill", "demo `/cached/` of the large file, first GET (fetched, written, synced, then sent)"),
        ]
        if key in info
    ]
    if prepared:
        out += ["### Archive and cache: one-off costs (curl, seconds)", "", "| what | seconds |", "| --- | ---: |"]
        out += [f"| {label} | {info[key]} |" for key, label in prepared]
        out.append("")
    plot_links = plot_sweeps(runs, args.plots, os.path.dirname(os.path.abspath(args.out))) if args.plots else {}
    sweeps = [sweep for sweep in SWEEPS if sweep_points(runs, sweep)]
    if sweeps:
        out += [
            "## How cost grows",
            "",
            "The demo, ServeDir, actix-files and nginx direct over growing connections"
            " and file sizes, to show where each one bends; p99 latency beside each figure.",
            "",
        ]
        for sweep in sweeps:
            out += sweep_table(runs, sweep, info, plot_links)
    if args.micro and os.path.isdir(args.micro):
        rows = micro_rows(args.micro)
        if rows:
            out += [
                "## Micro-benchmarks",
                "",
                "criterion (`bench/micro`, shortened: 1 s warm-up, 2 s measurement),"
                " median time per call:",
                "",
                "| benchmark | time |",
                "| --- | ---: |",
            ]
            out += [f"| `{name}` | {fmt_time(ns)} |" for name, ns in rows]
            out.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(out).rstrip("\n") + "\n")


if __name__ == "__main__":
    sys.exit(main())
