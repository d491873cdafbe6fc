"""The collect benchmark of ./scripts/bench.sh: our `collectstatic` against
Django's (ManifestStaticFilesStorage) and WhiteNoise's
(CompressedManifestStaticFilesStorage) over one generated tree, run in
alternation, wall time and peak memory of each process; appends a section to
the report.

Usage: python3 bench/collect.py --ours BIN --python VENV_PYTHON --out REPORT
       [--files 10000] [--rounds 1] [--work DIR]
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def generate(src, count):
    """A tree of `count` files: a third stylesheets, a third scripts, a third
    images, in 100 folders. Stylesheets refer to images (url(), some with
    ?#iefix) and @import stylesheets of a lower tier; scripts import
    scripts of a lower tier and name a source map. Tiers are bounded at
    three, so Django's five passes suffice."""
    rng = random.Random(11)
    n = count // 3
    dirs = [f"d{i:02}" for i in range(100)]
    images = [f"{dirs[i % 100]}/img{i}.png" for i in range(count - 2 * n)]
    css = [f"{dirs[i % 100]}/s{i}.css" for i in range(n)]
    js = [f"{dirs[i % 100]}/m{i}.js" for i in range(n - 1)]
    for d in dirs:
        os.makedirs(os.path.join(src, d), exist_ok=True)
    for name in images:
        with open(os.path.join(src, name), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(500, 20000)))
    filler = "".join(f".c{i} {{ margin: {i}px; padding: 0 {i}px; color: #{i:06x}; }}\n" for i in range(40))
    for i, name in enumerate(css):
        lines = []
        tier = i % 3
        if tier > 0:
            lines.append(f'@import "../{css[i - 1]}";')
        for k in range(3):
            img = images[rng.randrange(len(images))]
            suffix = "?#iefix" if k == 2 else ""
            lines.append(f".r{k} {{ background: url(../{img}{suffix}) }}")
        with open(os.path.join(src, name), "w") as f:
            f.write("\n".join(lines) + "\n" + filler)
    body = "".join(f"export function f{i}(x) {{ return x * {i} + {rng.randint(0, 999)}; }}\n" for i in range(30))
    for i, name in enumerate(js):
        lines = []
        if i % 3 > 0:
            lines.append(f'import {{ f1 }} from "../{js[i - 1]}";')
        with open(os.path.join(src, name), "w") as f:
            f.write("\n".join(lines) + "\n" + body)
    return len(images) + len(css) + len(js)


def settings(project, src, root, backend):
    path = os.path.join(project, f"bench_{backend.rsplit('.', 1)[1].lower()}.py")
    with open(path, "w") as f:
        f.write(
            "SECRET_KEY = 'bench'\n"
            "INSTALLED_APPS = ['django.contrib.staticfiles']\n"
            "STATIC_URL = '/static/'\n"
            f"STATIC_ROOT = {root!r}\n"
            f"STATICFILES_DIRS = [{src!r}]\n"
            f"STORAGES = {{'staticfiles': {{'BACKEND': {backend!r}}}}}\n"
        )
    return os.path.splitext(os.path.basename(path))[0]


def run(command, env=None):
    """Wall seconds and peak RSS (KiB) of one process, from wait4."""
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"collect.py: {command[0]} failed ({proc.returncode}):\n{err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_maxrss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ours", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--work", default=None)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="collect-bench.", dir=args.work)
    try:
        src = os.path.join(work, "src")
        files = generate(src, args.files)
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(src) for f in fs)
        roots = {}

        def root(row):
            roots[row] = os.path.join(work, row)
            shutil.rmtree(roots[row], ignore_errors=True)
            return roots[row]

        env = dict(os.environ, PYTHONPATH=work)
        rows = {
            "ours, no sidecars": lambda: [args.ours, "--source", src, "--static-root", root("ours"), "--no-compress"],
            "Django ManifestStaticFilesStorage": lambda: [
                args.python, "-m", "django", "collectstatic", "--noinput", "-v0",
                "--settings", settings(work, src, root("django"),
                                       "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"),
            ],
            "ours, with .br/.zst/.gz": lambda: [args.ours, "--source", src, "--static-root", root("ours-z")],
            "WhiteNoise CompressedManifestStaticFilesStorage": lambda: [
                args.python, "-m", "django", "collectstatic", "--noinput", "-v0",
                "--settings", settings(work, src, root("whitenoise"),
                                       "whitenoise.storage.CompressedManifestStaticFilesStorage"),
            ],
        }
        names = list(rows)
        results = {name: [] for name in names}
        for r in range(args.rounds):
            for k in range(len(names)):
                name = names[(k + r) % len(names)]
                wall, rss = run(rows[name](), env)
                print(f"collect.py: round {r + 1}: {name}: {wall:.2f} s, {rss / 1024:.0f} MiB", file=sys.stderr)
                results[name].append((wall, rss))

        def med(name):
            return statistics.median(w for w, _ in results[name])

        def peak(name):
            return max(m for _, m in results[name]) / 1024

        out = [
            "",
            "## Collect static files",
            "",
            f"A generated tree of {files:,} files ({size / 1e6:.0f} MB: a third stylesheets"
            " with `url()`, `?#iefix` and `@import` references, a third ES modules with"
            " `import`s, a third images) collected into an empty static root by our"
            " `collectstatic` (release) and by Django's `collectstatic` with each"
            f" storage, in alternation, {args.rounds} round(s). Wall time: median;"
            " peak RSS: the process's high-water mark (`wait4`), the largest of the rounds."
            " Django and WhiteNoise run one process; ours spreads the work over the cores.",
            "",
            "| collector | wall | peak RSS | ours ÷ it (time) |",
            "| --- | ---: | ---: | ---: |",
        ]
        pairs = {
            "Django ManifestStaticFilesStorage": "ours, no sidecars",
            "WhiteNoise CompressedManifestStaticFilesStorage": "ours, with .br/.zst/.gz",
        }
        for name in names:
            ratio = ""
            if name in pairs:
                ratio = f"{med(pairs[name]) / med(name):.3f} ({med(name) / med(pairs[name]):.1f}× faster)"
            out.append(f"| {name} | {med(name):.2f} s | {peak(name):.0f} MiB | {ratio} |")
        out.append("")
        with open(args.out, "a") as f:
            f.write("\n".join(out))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
