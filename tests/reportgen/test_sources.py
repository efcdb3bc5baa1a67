"""The source closure: a module and every project module it imports, found by reading (not importing) files."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reportgen.sources import SourceIndex, file_digest

FILES = {
    "pkg/__init__.py": "",
    "pkg/top.py": "import json\nimport numpy as np\nimport pkg.plain\nfrom pkg import viafrom\nimport engine\n",
    "pkg/plain.py": "from . import rel_sibling\n",
    "pkg/viafrom.py": "X = 1\n",
    "pkg/rel_sibling.py": "from .sub.deep import f\n",
    "pkg/sub/__init__.py": "from .. import parent_rel\n",
    "pkg/sub/deep.py": "from ..cyc_a import g\n\ndef f():\n    import lazy_top\n",
    "pkg/parent_rel.py": "",
    "pkg/cyc_a.py": "from pkg import cyc_b\n\ndef g(): ...\n",
    "pkg/cyc_b.py": "import pkg.cyc_a\n",
    "pkg/unrelated.py": "import pkg.viafrom\n",
    "lazy_top.py": "import os\n",
    "engine/__init__.py": "from engine import inner\n",
    "engine/inner.py": "",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for relative, text in FILES.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path.resolve()


def test_closure_follows_imports_from_imports_and_relative_imports(tree: Path) -> None:
    index = SourceIndex(tree, exclude=(tree / "engine",))
    found = index.closure("pkg.top")
    assert set(found) == {
        "pkg/__init__.py", "pkg/top.py", "pkg/plain.py", "pkg/viafrom.py", "pkg/rel_sibling.py",
        "pkg/sub/__init__.py", "pkg/sub/deep.py", "pkg/parent_rel.py", "pkg/cyc_a.py", "pkg/cyc_b.py",
        "lazy_top.py",  # imported inside a function: still a dependency
    }
    assert found["pkg/viafrom.py"] == file_digest(tree / "pkg/viafrom.py")


def test_closure_excludes_the_engine_and_third_party_modules(tree: Path) -> None:
    found = SourceIndex(tree, exclude=(tree / "engine",)).closure("pkg.top")
    assert not any(path.startswith("engine/") for path in found)
    assert "pkg/unrelated.py" not in found
    assert all((tree / path).is_file() for path in found)  # json, numpy: not project files


def test_engine_is_followed_when_not_excluded(tree: Path) -> None:
    found = SourceIndex(tree).closure("engine")
    assert set(found) == {"engine/__init__.py", "engine/inner.py"}


def test_closure_of_a_package_starts_at_its_init(tree: Path) -> None:
    assert set(SourceIndex(tree).closure("pkg.sub")) == {"pkg/__init__.py", "pkg/sub/__init__.py",
                                                          "pkg/parent_rel.py"}


def test_closure_of_an_unknown_module_is_empty(tree: Path) -> None:
    assert SourceIndex(tree).closure("numpy") == {}


def test_digest_changes_with_the_content_of_an_imported_file(tree: Path) -> None:
    before = SourceIndex(tree).closure("pkg.top")
    (tree / "pkg/parent_rel.py").write_text("Y = 2\n")
    after = SourceIndex(tree).closure("pkg.top")
    changed = {path for path in before if before[path] != after[path]}
    assert changed == {"pkg/parent_rel.py"}


def test_importing_a_submodule_depends_on_its_parent_packages(tree: Path) -> None:
    # `import pkg.sub.deep` runs pkg/__init__.py and pkg/sub/__init__.py first.
    found = SourceIndex(tree).closure("pkg.sub.deep")
    assert {"pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/deep.py"} <= set(found)
