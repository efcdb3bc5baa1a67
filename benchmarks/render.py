"""Render benchmark: the full report's PDF from a complete cache, part by part, with the stored figures as they are
(before) and with their print versions (after), side by side in one run; then the no-op build and the template-only
rebuild end to end.

    .venv/bin/python benchmarks/render.py [--config FILE] [--set key=value ...] [--repeat N]
                                          [--against COMMIT [--rounds N]]

Needs a build whose experiments are all cached (`make report` first): it works in a temporary copy of the project
whose build/cache is hard-linked to yours (nothing of yours is written), and never runs an experiment — it stops if
one would have to run. Target (issue 15): template-only rebuild with the PDF ≤ 3 s, no-op build ≤ 1 s. With
`--against COMMIT`, the template-only rebuild of that commit's tree (a copy made with git archive, its cache linked
the same way) is timed too, alternating with this one's: before and after side by side, as medians.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cold import ROOT, project_copy

sys.path.insert(0, str(ROOT))

from reportgen import build, cache, pdf, printing, render, report, store, verdicts  # noqa: E402
from reportgen.assets import Choice  # noqa: E402
from reportgen.project import find_project  # noqa: E402
from reportgen.questions import answer  # noqa: E402
from reportgen.runner import Outcome  # noqa: E402
from reportgen.status import Status  # noqa: E402

# Each step adds one change to the one before: (label, print settings, plots kept as SVG, PNG data as stored).
VARIANTS = [("a: rasters as PNG without alpha", printing.PrintSettings(200, 90, picture_colours=None), True, False),
            ("b: + pictures as JPEG q90", printing.PrintSettings(200, 90), True, False),
            ("c: + plots as PNG at 200 dpi", printing.PrintSettings(200, 90), False, False),
            ("d: + PNG data as stored (after)", printing.PrintSettings(200, 90), False, True)]


@contextmanager
def commit_copy(commit: str) -> Iterator[Path]:
    """A throwaway copy of the project as `commit` has it (git archive), with `../shared` linked beside it."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / ROOT.name
        copy.mkdir()
        tree = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(copy)], input=tree, check=True)
        if (ROOT.parent / "shared").exists():
            (Path(tmp) / "shared").symlink_to(ROOT.parent / "shared")
        yield copy


@contextmanager
def cached_copy(config: str, overrides: list[str], commit: str | None = None):
    """A project copy (of the working tree, or of `commit`) with a hard-linked cache, built once (every experiment
    cached, or the benchmark stops)."""
    with project_copy() if commit is None else commit_copy(commit) as copy:
        (copy / "build").mkdir()
        subprocess.run(["cp", "-al", str(ROOT / "build" / "cache"), str(copy / "build" / "cache")], check=True)
        status = subprocess.run([sys.executable, "-m", "reportgen", "status", "--config", config,
                                 *[f"--set={o}" for o in overrides]], cwd=copy, capture_output=True, text=True)
        missing = [line for line in status.stdout.splitlines() if line.split()[1:2] != ["fresh"]]
        if status.returncode != 0 or missing:
            sys.exit("benchmark: the cache in build/ is not complete for this configuration; run `make report` "
                     "first:\n" + "\n".join(missing[:10]) + status.stderr[-1000:])
        first = subprocess.run(build_command(config, overrides), cwd=copy, capture_output=True, text=True)
        ran = [line for line in first.stderr.splitlines() if ": ran in " in line]
        if first.returncode != 0 or ran:
            sys.exit("benchmark: the cache in build/ is not complete for this configuration (an experiment ran or "
                     f"failed); run `make report` first.\n{first.stderr[-1500:]}")
        yield copy


def build_command(config: str, overrides: list[str], *extra: str) -> list[str]:
    return [sys.executable, "-m", "reportgen", "build", "--config", config, *[f"--set={o}" for o in overrides],
            *extra]


def template_only(copy: Path, cmd: list[str]) -> float:
    """Seconds of one build after an edit of the stylesheet (a template-only change)."""
    with open(copy / "templates" / "report.css", "a") as f:
        f.write("\n/* benchmark edit */\n")
    return timed(lambda: subprocess.run(cmd, cwd=copy, capture_output=True, check=True))[0]


def against(commit: str, copy: Path, config: str, overrides: list[str], rounds: int) -> tuple[float, float]:
    """Median seconds of a template-only rebuild with the PDF: (`commit`'s tree, this one), alternating."""
    cmd = build_command(config, overrides)
    with cached_copy(config, overrides, commit) as other:
        pairs = [(template_only(other, cmd), template_only(copy, cmd)) for _ in range(rounds)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def timed(fn, repeat: int = 1):
    """(best wall time of `repeat` calls, the last call's value)."""
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def report_inputs(copy: Path, config: str, overrides: list[str]):
    """What report.write renders, as the last build left it: the project, the template context and the results."""
    project = find_project(copy)
    options = build.Options(config=copy / config, overrides=tuple(overrides))
    settings = build.settings_for(project, options)
    manifest = json.loads((project.build / build.MANIFEST).read_text(encoding="utf-8"))
    outcomes = {n: Outcome(n, Status(o["status"]), o["key"], o.get("reason"), o["meta"])
                for n, o in manifest["outcomes"].items()}
    choices = [Choice(**c) for c in manifest.get("choices", [])]
    project.importable()
    judges = verdicts.discover_verdicts(project.verdicts)
    cache_ = cache.Cache(project.cache)

    def load():
        return {n: store.read_entry(cache_.entry(n, o.key), project.packages) for n, o in outcomes.items()
                if o.computed}

    load_s, results = timed(load)
    answers = [answer(q, {n: (o.status, o.reason) for n, o in outcomes.items()}, results)
               for q in project.load_questions()]
    context = report.template_context(project, settings, outcomes, results, answers, False,
                                      verdicts.judge(judges, settings, results), choices)
    context["cutoffs"] = {n.section: verdicts.cutoffs(n, settings) for n in judges}
    return project, context, results, load_s


def pdf_parts(project, context, html: str, stylesheet: str, folder: Path, repeat: int,
              as_stored: bool = False) -> dict[str, float]:
    """WeasyPrint's two parts: parse, style and lay out (render), then draw and write (write_pdf); `as_stored`: with
    PNG data embedded as stored, as WeasyPrint's process does (pdf.main)."""
    import weasyprint

    sheets = [weasyprint.CSS(string=stylesheet)] if stylesheet else []
    with pdf.png_data_kept() if as_stored else contextlib.nullcontext(), pdf.collector_paused():  # as pdf.main
        layout_s, document = timed(lambda: weasyprint.HTML(string=html, base_url=str(folder)).render(
            stylesheets=sheets), repeat)
        write_s, data = timed(document.write_pdf, repeat)
    return {"layout_s": layout_s, "write_s": write_s, "pdf_mb": len(data) / 1e6, "pages": len(document.pages)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="reportgen.toml")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=2, help="best of N for each in-process part")
    parser.add_argument("--against", metavar="COMMIT", help="also time the template-only rebuild of COMMIT's tree, "
                        "alternating with this one's (before and after side by side)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rebuilds of each for --against")
    args = parser.parse_args()
    with cached_copy(args.config, args.overrides) as copy:
        cmd = build_command(args.config, args.overrides)
        noop = min(timed(lambda: subprocess.run(cmd, cwd=copy, capture_output=True), 1)[0] for _ in range(3))
        template_s = min(template_only(copy, cmd) for _ in range(3))
        template_html_s = min(template_only(copy, [*cmd, "--no-pdf"]) for _ in range(3))
        if args.against:
            compared = against(args.against, copy, args.config, args.overrides, args.rounds)

        import weasyprint  # noqa: F401  (its import is timed by the end-to-end builds, not by the parts)

        project, context, results, load_s = report_inputs(copy, args.config, args.overrides)
        figures = render.figures_of(results)
        stored_mb = sum(f.path.stat().st_size for f in {f.path: f for f in figures}.values()) / 1e6
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            sources = render.publish_figures(results, folder / "figures", False)
            jinja_s, html = timed(lambda: render.render_html(project.templates, project.main_template, context,
                                                             sources), args.repeat)
            before = pdf_parts(project, context, html, "", folder, args.repeat)
            after = {}
            for label, settings, keep_svg, as_stored in VARIANTS:
                where = folder / label.split(":")[0]
                made_s, versions = timed(lambda s=settings, w=where: printing.print_versions(figures, w, s))
                reused_s, versions = timed(lambda s=settings, w=where: printing.print_versions(figures, w, s))
                if keep_svg:  # the plots drawn from their SVG, as before
                    versions = {p: printing.PrintVersion(p, None) if p.suffix == ".svg" else v
                                for p, v in versions.items()}
                pdf_html, stylesheet = printing.for_print(html, sources, versions)
                parts = pdf_parts(project, context, pdf_html, stylesheet, folder, args.repeat, as_stored)
                figures_mb = sum(v.path.stat().st_size for v in versions.values()) / 1e6
                after[label] = {**parts, "made_s": made_s, "reused_s": reused_s, "figures_mb": figures_mb}
        shutil.rmtree(copy / "build", ignore_errors=True)

    print(f"{len(figures)} figures, {stored_mb:.1f} MB stored; {before['pages']} pages")
    print(f"{'':38} {'layout':>8} {'write':>8} {'PDF':>8} {'figures':>9} {'made once':>10} {'reused':>8}")
    print(f"{'before: stored figures (PNG+SVG)':38} {before['layout_s']:7.2f}s {before['write_s']:7.2f}s "
          f"{before['pdf_mb']:6.1f}MB {stored_mb:7.1f}MB")
    for label, a in after.items():
        print(f"{label:38} {a['layout_s']:7.2f}s {a['write_s']:7.2f}s {a['pdf_mb']:6.1f}MB {a['figures_mb']:7.1f}MB "
              f"{a['made_s']:9.2f}s {a['reused_s']:7.2f}s")
    best = after[VARIANTS[-1][0]]
    total_before, total_after = before["layout_s"] + before["write_s"], best["layout_s"] + best["write_s"]
    print(f"WeasyPrint (layout + write): {total_before:.2f} s → {total_after:.2f} s ({total_after / total_before:.0%})")
    print(f"reading the results from the cache {load_s:6.2f} s;  one Jinja render (2 passes) {jinja_s:6.2f} s")
    print(f"end to end:  no-op build {noop:6.2f} s (target ≤ 1 s);  template-only rebuild {template_s:6.2f} s "
          f"with the PDF (target ≤ 3 s), {template_html_s:6.2f} s with --no-pdf")
    if args.against:
        print(f"template-only rebuild with the PDF, medians of {args.rounds} alternating: {args.against} "
              f"{compared[0]:.2f} s, this tree {compared[1]:.2f} s ({compared[1] - compared[0]:+.2f} s)")


if __name__ == "__main__":
    main()
