"""`reportgen sweep`: one report per combination of settings, all sharing the cache, and an index comparing the
questions' key numbers across the combinations (build/sweep/index.html and index.csv)."""
from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from reportgen import build as build_
from reportgen import store
from reportgen.errors import UserError
from reportgen.project import Project


@dataclass(frozen=True)
class Combination:
    name: str  # its folder under build/sweep/, from the settings that vary
    overrides: tuple[str, ...]  # every `key=value` it builds with


def split_values(text: str) -> list[str]:
    """`a,b,c` → three values; commas inside brackets or quotes belong to a value (`[1, 2],[3]` → two)."""
    values, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(current.strip())
            current = ""
            continue
        current += char
    values.append(current.strip())
    if any(not v for v in values):
        raise UserError(f"--set …={text}: an empty value; separate values with single commas, e.g. a,b,c")
    return values


def combinations(sets: list[str]) -> list[Combination]:
    """Every combination of the values of `--set key=v1,v2,…`, named after the keys that take several values."""
    if not sets:
        raise UserError("sweep: nothing to sweep; give --set section.key=value1,value2[,…] (repeatable)")
    axes = []
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item!r}: expected section.key=value1,value2,…")
        axes.append([(key.strip(), value) for value in split_values(raw)])
    varying = {key for axis in axes if len(axis) > 1 for key, _ in axis}
    found: list[Combination] = []
    for picks in itertools.product(*axes):
        label = ",".join(f"{k}={v}" for k, v in picks if k in varying) or "default"
        name = re.sub(r"[^A-Za-z0-9._=,+-]+", "-", label).strip("-")[:120]
        if name in {c.name for c in found}:
            name = f"{name}-{len(found) + 1}"
        found.append(Combination(name, tuple(f"{k}={v}" for k, v in picks)))
    return found


def sweep(project: Project, options: build_.Options, sets: list[str], say) -> int:
    """Build every combination into build/sweep/<name>/ (one Dask cluster for all when parallel), then the index;
    returns the worst exit code."""
    combos = combinations(sets)
    folder = project.root / "build" / "sweep"
    codes: dict[str, int | str] = {}
    keep = max(options.cache_keep, len(combos))  # each experiment's entry of every combination stays cached
    with build_.exclusive(project.root / "build", say), build_.pool_for(options, None) as pool:
        for i, combo in enumerate(combos, 1):
            say(f"sweep {i}/{len(combos)}: {combo.name}")
            try:
                codes[combo.name] = build_.build(
                    dataclasses.replace(project, out=folder / combo.name),
                    dataclasses.replace(options, overrides=options.overrides + combo.overrides, cache_keep=keep),
                    say, pool=pool)
            except UserError as exc:  # a bad value in one combination: the others still build
                say(f"sweep {i}/{len(combos)}: {combo.name}: error: {exc}")
                codes[combo.name] = str(exc)
        write_index(folder, combos, codes)
    say(f"sweep index in {folder / 'index.html'} and index.csv")
    return max((c if isinstance(c, int) else 2) for c in codes.values())


def table(folder: Path, combos: list[Combination], codes: dict[str, int | str]) -> list[list[Any]]:
    """Rows of (question, key number, then one cell per combination): its value, "not computed" or the error."""
    results = {}
    for c in combos:
        path = folder / c.name / "results.json"
        results[c.name] = json.loads(path.read_text(encoding="utf-8"))["questions"] if path.is_file() else {}
    rows: dict[tuple[str, str], list[Any]] = {}
    for qid in dict.fromkeys(q for r in results.values() for q in r):
        numbers = dict.fromkeys(n for r in results.values() for n in r.get(qid, {}).get("key_numbers", {}))
        for number in numbers or ["(status)"]:
            rows[(qid, number)] = [_cell(results[c.name].get(qid), number, codes[c.name]) for c in combos]
    return [[qid, number, *cells] for (qid, number), cells in rows.items()]


def _cell(question: dict | None, number: str, code: int | str) -> Any:
    if isinstance(code, str):
        return f"error: {code}"
    if question is None:
        return "absent"
    if question["status"] != "answered":
        return "not computed"
    return question["key_numbers"].get(number, question["status"] if number == "(status)" else "")


def _shown(value: Any) -> Any:
    return f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else value


_ENV = jinja2.Environment(autoescape=True)
_ENV.filters["shown"] = _shown
PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sweep: {{ combos|length }} combinations</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;
text-align:right}td:first-child,td:nth-child(2){text-align:left}tr.differs td{background:#fff6d5}</style></head>
<body><h1>Sweep: {{ combos|length }} combinations</h1>
<p>Each column is one report, built with the settings below; rows where the combinations differ are highlighted.</p>
<table><thead><tr><th>question</th><th>key number</th>
{% for c in combos %}<th><a href="{{ c.name }}/report.html">{{ c.name }}</a></th>{% endfor %}</tr>
<tr><td colspan="2">settings</td>{% for c in combos %}<td>{{ c.overrides|join(", ") }}</td>{% endfor %}</tr></thead>
<tbody>{% for row in rows %}<tr{% if row[2:]|unique|list|length > 1 %} class="differs"{% endif %}>
{% for cell in row %}<td>{{ cell|shown }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></body></html>
""")


def write_index(folder: Path, combos: list[Combination], codes: dict[str, int | str]) -> None:
    rows = table(folder, combos, codes)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "key number", *[c.name for c in combos]])
    writer.writerow(["", "settings", *[" ".join(c.overrides) for c in combos]])
    writer.writerows(rows)
    store.write_text_atomic(folder / "index.csv", out.getvalue())
    store.write_text_atomic(folder / "index.html", PAGE.render(combos=combos, rows=rows))
