"""`reportgen watch` without a browser (tests/test_watch_browser.py drives one): what it follows, and a port that
is taken."""
from __future__ import annotations

import socket

from reportgen.cli import main
from reportgen.watch import sources


def test_it_follows_the_experiments_the_templates_and_the_configuration(tiny) -> None:
    followed = sources(tiny.project, tiny.options())
    assert followed == [tiny.root / tiny.pkg, tiny.root / "tpl", tiny.root / "reportgen.toml"]


def test_a_port_in_use_is_a_one_line_error_before_anything_is_built(tiny, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code = main(["watch", "--port", str(taken.getsockname()[1])])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("reportgen: error: cannot serve on 127.0.0.1:") and err.count("\n") == 1
    assert "choose another --port" in err and not (tiny.build_dir / "report.html").exists()
