"""The README's promises that a table can state, held to the code."""

from __future__ import annotations

import re
from pathlib import Path

from refunds.states import TRANSITIONS, ClaimState

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_state_table_is_the_state_machine():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Paying exactly once") :]
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", section, re.MULTILINE)
    written = {
        ClaimState(source): frozenset(ClaimState(t) for t in re.findall(r"`([a-z_]+)`", targets))
        for source, targets in rows
    }
    assert written == TRANSITIONS
