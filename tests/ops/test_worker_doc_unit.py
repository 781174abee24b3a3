"""docs/worker.md points to the one worker unit in deploy/systemd/ instead of carrying its own, and
every setting and variable its systemd section names is real."""

from __future__ import annotations

import re

from tests.ops.test_deploy import DEPLOY, ROOT, _known_variables

DOC = ROOT / "docs" / "worker.md"
UNIT = DEPLOY / "systemd" / "workyard-worker.service"


def _systemd_section() -> str:
    text = DOC.read_text()
    start = text.index("## As a systemd service")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_the_doc_has_no_unit_of_its_own() -> None:
    text = DOC.read_text()
    assert not re.search(r"^\[(Unit|Service|Install)\]", text, re.M)
    assert "```ini" not in text
    assert "(../deploy/systemd/workyard-worker.service)" in _systemd_section()
    assert UNIT.is_file()


def test_the_settings_the_doc_names_are_in_the_unit() -> None:
    section = _systemd_section()
    unit = UNIT.read_text()
    named = set(re.findall(r"`([A-Z][A-Za-z]+)=", section))
    assert {"KillMode", "TimeoutStopSec", "RestrictNamespaces", "MemoryMax"} <= named
    present = set(re.findall(r"^#?([A-Z][A-Za-z]+)=", unit, re.M))
    assert named <= present, named - present
    assert "KillMode=mixed" in unit


def test_the_variables_the_doc_names_exist() -> None:
    used = set(re.findall(r"WORKYARD_[A-Z_]+[A-Z]", _systemd_section())) - {"WORKYARD_WORKER"}
    assert len(used) >= 4  # (``WORKYARD_WORKER_*`` names the family, not a variable)
    assert used <= _known_variables(), used - _known_variables()
