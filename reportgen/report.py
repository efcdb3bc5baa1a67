"""From outcomes to the deliverables: results.json (the machine-readable twin), report.html, report.pdf."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import importlib
import json
import math
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportgen import cache, config, pdf, printing, render, store, verdicts
from reportgen.assets import Choice
from reportgen.questions import Answer, answer
from reportgen.runner import Outcome

DEFAULT_REPORT = config.RESERVED["report"]


def write(project, options, settings: config.Settings, outcomes: dict[str, Outcome], choices: list[Choice],
          previous: str | None, say) -> str:
    """Write the PDF, the HTML and results.json (in that order, each atomically) unless nothing changed; returns the
    stamp of what the report shows. `choices`: what each resource section resolved to (stand-ins included)."""
    project.importable()
    judges = verdicts.discover_verdicts(project.verdicts)
    stamp = _render_stamp(project, options, settings, outcomes, choices, verdicts.stamp(judges, settings))
    outputs = [project.build / "results.json", project.build / "report.html"]
    outputs += [project.build / "report.pdf"] if options.pdf else []
    if stamp == previous and all(p.exists() for p in outputs):
        refresh_statuses(outputs[0], outcomes)
        say("report up to date")
        return stamp
    # WeasyPrint's process starts first: it imports WeasyPrint while this one reads the results and renders the page
    with pdf.Printer() if options.pdf else contextlib.nullcontext() as printer:
        _write_outputs(project, options, settings, outcomes, choices, judges, printer, say)
    say(f"wrote {', '.join(str(p.relative_to(project.root)) for p in outputs)}"
        + ("" if options.pdf else " (no PDF: --no-pdf removed the previous one)"))
    return stamp


def _write_outputs(project, options, settings: config.Settings, outcomes: dict[str, Outcome], choices: list[Choice],
                   judges: list[Any], printer: pdf.Printer | None, say) -> None:
    cache_ = cache.Cache(project.cache)
    results = {n: store.read_entry(cache_.entry(n, o.key), project.packages) for n, o in outcomes.items()
               if o.computed}
    answers = [answer(q, {n: (o.status, o.reason) for n, o in outcomes.items()},
                      results) for q in project.load_questions()]
    context = template_context(project, settings, outcomes, results, answers, options.self_contained,
                               verdicts.judge(judges, settings, results), choices)
    context["cutoffs"] = {n.section: verdicts.cutoffs(n, settings) for n in judges}
    # Everything is written into a staging folder and swapped in together: a template error, Ctrl-C or SIGTERM
    # while rendering or writing the PDF leaves the previous report, figures and results.json as they were.
    staging = store.staging_folder(project.build)
    try:
        sources = render.publish_figures(results, staging / "figures", options.self_contained)
        html = render.render_html(project.templates, project.main_template, context, sources)
        if printer is not None:
            say("writing report.pdf…")
            write_pdf(project, context["report"], results, html, sources, staging, printer)
        store.write_text_atomic(staging / "report.html", html)
        store.write_text_atomic(staging / "results.json",
                                json.dumps(results_json(outcomes, results, answers, choices), indent=1,
                                           allow_nan=False))
        # The PDF goes too when not written (--no-pdf): an older one would look current.
        store.swap_in(staging, project.build, ("figures", "report.pdf", "results.json", "report.html"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_pdf(project, report: dict[str, Any], results: dict[str, Any], html: str, sources: dict[Path, str],
              staging: Path, printer: pdf.Printer) -> None:
    """The PDF of the page's HTML, with the figures' print versions (`sources`: the figures as the HTML links them),
    drawn by `printer`."""
    settings = printing.PrintSettings.from_report(report)
    versions = printing.print_versions(render.figures_of(results), project.build / printing.FOLDER, settings)
    html, stylesheet = printing.for_print(html, sources, versions)
    store.write_text_atomic(staging / "report.pdf", printer.pdf(html, staging, stylesheet))


def refresh_statuses(path: Path, outcomes: dict[str, Outcome]) -> None:
    """Keep results.json true when the report itself did not change: an experiment that ran last time is "cached"
    in this build (the report does not show which build ran it, results.json does)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    experiments = data.get("experiments", {})
    changed = False
    for name, o in outcomes.items():
        entry = experiments.get(name)
        if entry is not None and entry.get("status") != o.status:
            entry["status"], changed = o.status, True
    if changed:
        store.write_text_atomic(path, json.dumps(data, indent=1, allow_nan=False))


def _render_stamp(project, options, settings: config.Settings, outcomes: dict[str, Outcome],
                  choices: list[Choice], judged_by: list[Any]) -> str:
    h = hashlib.sha256()
    for path in sorted(project.templates.rglob("*")):
        if path.is_file():
            h.update(path.as_posix().encode() + path.read_bytes())
    h.update(repr(project.load_questions()).encode())  # the questions' text is shown too
    h.update(repr(_sections(project)).encode())  # and the section titles
    state = {n: [o.key, o.computed, o.reason] for n, o in outcomes.items()}
    h.update(json.dumps([state, settings.section("report"), options.pdf, options.self_contained, judged_by,
                         [dataclasses.asdict(c) for c in choices]], sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def scalars(value: Any, prefix: str = "") -> dict[str, Any]:
    """The numbers and short strings of a result, flattened to dotted keys (figures are files, not values)."""
    if isinstance(value, store.Figure):
        return {}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for k, v in value.items():
            found.update(scalars(v, f"{prefix}{k}."))
        return found
    if isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= 200):
        return {prefix[:-1] or "value": _finite(value)}
    return {}


def results_json(outcomes: dict[str, Outcome], results: dict[str, Any], answers: list[Answer],
                 choices: Sequence[Choice] = ()) -> dict[str, Any]:
    experiments = {
        n: {"status": o.status, "reason": o.reason, "cache_key": o.key, "wall_s": o.meta.get("wall_s"),
            "cpu_s": o.meta.get("cpu_s"), "peak_mem_mb": o.meta.get("peak_mem_mb"),
            "peak_gpu_mb": o.meta.get("peak_gpu_mb"), "device": o.meta.get("device"),
            "values": scalars(results.get(n, {}))}
        for n, o in outcomes.items()
    }
    questions = {a.question.id: {"status": a.status, "reason": a.reason, "key_numbers": _plain(a.key_numbers)}
                 for a in answers}
    resolved = {c.section: {"asked": c.asked, "used": c.used, "substitute": c.substitute, "reason": c.reason}
                for c in choices}
    return {"resources": resolved, "experiments": experiments, "questions": questions}


def _plain(numbers: dict[str, Any]) -> dict[str, Any]:
    return {k: _finite(v.item() if hasattr(v, "item") else v) for k, v in numbers.items()}


def _finite(value: Any) -> Any:
    """NaN and ±inf become null: results.json is strict JSON."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def template_context(project, settings, outcomes, results, answers, self_contained: bool,
                     judged: dict[str, Any] | None = None, choices: Sequence[Choice] = ()) -> dict[str, Any]:
    """Everything the templates may use; `verdicts` holds each verdict under the name of what it judges."""
    sections = _sections(project)
    return {
        "choices": {c.section: c for c in choices},  # what each network role or data set resolved to
        "stand_ins": [c for c in choices if c.substitute],
        "report": {**DEFAULT_REPORT, **settings.section("report")},
        "results": results,
        "verdicts": judged or {},
        "cutoffs": {},  # per judged experiment, its verdict's cut-offs (filled in by write)
        "outcomes": outcomes,
        "answers": {a.question.id: a for a in answers},
        "questions": answers,
        "sections": sections,
        "outline": outline(answers, sections),
        "chapters": list(dict.fromkeys(a.question.chapter for a in answers)),  # in the questions' order
        "resources": resources_read(outcomes),
        "build": {"commit": _commit(project.root), "date": datetime.date.today().isoformat(), "root": str(project.root),
                  "versions": cache.library_versions(), "config": settings.source},
        "self_contained": self_contained,
    }


def _sections(project) -> dict[str, str]:
    """The optional `SECTIONS` (number → title) beside the project's questions; {} when it has none."""
    module, _, _ = project.questions.partition(":")
    project.importable()
    try:
        return dict(getattr(importlib.import_module(module), "SECTIONS", {}))
    except ImportError:
        return {}


def outline(answers: list[Answer], sections: dict[str, str]) -> list[dict[str, Any]]:
    """The report's contents in the questions' order: each chapter and section the first time a question of it
    comes (level = depth of its number), then the question one level below its section."""
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for a in answers:
        parts = a.question.section.split(".")
        for depth in range(1, len(parts) + 1):
            number = ".".join(parts[:depth])
            if number not in seen:
                seen.add(number)
                entries.append({"kind": "heading", "number": number, "level": depth,
                                "title": sections.get(number, ""), "first": a.question.anchor})
        entries.append({"kind": "question", "number": a.question.id, "level": len(parts) + 1, "answer": a})
    return entries


def resources_read(outcomes: dict[str, Outcome]) -> dict[str, dict[str, Any]]:
    """Every resource the computed experiments read: its fingerprint (from their metadata) and who read it."""
    found: dict[str, dict[str, Any]] = {}
    for name, o in outcomes.items():
        for resource, fingerprint in (o.meta.get("resources") or {}).items():
            entry = found.setdefault(resource, {"fingerprint": fingerprint, "read_by": []})
            entry["read_by"].append(name)
    return dict(sorted(found.items()))


def _commit(root: Path) -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' (modified)' if dirty else ''}" if head else "unknown"
