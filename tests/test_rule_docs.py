"""Every rule id satc can print is explained in the repository's own docs.

Rule ids (R5, D3, L1, and the model rules of other pages) appear in satc's string
literals: derivations (`explain`), warnings and errors.  Each must be a heading of
its own in some page under docs/ (`### R5`), so a user who reads "rule D4" finds it.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import support

RULE_ID = re.compile(r"\b[A-Z]{1,3}[0-9]{1,3}\b")
# Tokens of that shape that are not rules (hardware and model names, bash prompt variables,
# the sweep's `KEY=V1,V2,...` metavar).
NOT_RULES = frozenset(
    {"T5", "A100", "H100", "H200", "V100", "A10", "A800", "H800", "PS1", "PS2", "PS3", "PS4"}
    | {"H20", "B200", "L40", "A40", "A6000", "L4", "V1", "V2"}
    | {"USR1", "USR2"}  # signal names (--signal=USR1@N)
)
HEADING = re.compile(r"^#{2,4}\s+([A-Z]{1,3}[0-9]{1,3})\b", re.M)


def printed_ids() -> dict[str, str]:
    """{id: first file:line using it} over the string literals of compiler/ and runtime/."""
    found: dict[str, str] = {}
    for path in sorted([*support.ROOT.glob("compiler/**/*.py"), *support.ROOT.glob("runtime/**/*.py")]):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        for token in tokens:
            if token.type != tokenize.STRING and getattr(tokenize, "FSTRING_MIDDLE", None) != token.type:
                continue
            for rule in RULE_ID.findall(token.string):
                if rule not in NOT_RULES:
                    found.setdefault(rule, f"{path.relative_to(support.ROOT)}:{token.start[0]}")
    return found


def documented_ids() -> set[str]:
    return {
        rule for page in (support.ROOT / "docs").glob("*.md") for rule in HEADING.findall(page.read_text())
    }


def test_every_printed_rule_id_has_a_docs_entry() -> None:
    printed = printed_ids()
    assert {"R1", "R14", "D1", "D9", "L1"} <= set(printed), "the scan finds satc's rule ids"
    missing = {rule: where for rule, where in printed.items() if rule not in documented_ids()}
    assert not missing, f"rule ids printed but not explained under docs/: {missing}"


def test_the_reference_and_deliberate_rules_all_have_entries() -> None:
    expected = {f"R{i}" for i in range(1, 15)} | {f"D{i}" for i in range(1, 10)}
    assert expected <= documented_ids()


def test_explain_cites_ids_that_resolve(tmp_path: Path) -> None:
    result = support.satc(
        "explain",
        str(support.REFERENCE / "cogvideox_5b_lora.yaml"),
        str(support.REFERENCE / "sft.yaml"),
        "fp16",
        "train_batch_size",
    )
    assert result.returncode == 0, result.stderr
    cited = set(re.findall(r"rule ([A-Z]{1,3}[0-9]{1,3})", result.stdout))
    assert cited and cited <= documented_ids()


def test_docs_never_point_outside_the_repository() -> None:
    for page in [support.ROOT / "README.md", *(support.ROOT / "docs").glob("*.md")]:
        text = page.read_text()
        assert "/work/shared" not in text and "../shared" not in text and "SPEC.md" not in text, page
