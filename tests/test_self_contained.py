"""A fresh `git clone` has nothing beside it: no test and no product code may read a file outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# A path that leaves the repository for the folder CI keeps beside it (its name is assembled here, so this
# test does not itself name the path it forbids), or a Path built from the repository's parent.
BESIDE = "sha" + "red"
OUTSIDE = re.compile(
    r"\.\./" + BESIDE + r"|parents?\s*(\[\s*\d+\s*\])?\s*/\s*[\"']" + BESIDE + r"[\"']|\.parent\.parent\s*/"
)


def test_no_test_or_source_file_reads_beside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in ("src", "tests", "scripts", "bench")
        for path in sorted((REPO / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line) and path != Path(__file__).resolve()
    ]
    assert offenders == []


def test_commerce_layers_schema_is_kept_in_the_repository() -> None:
    schema = REPO / "tests" / "data" / "commerce-layer" / "resources.json"
    assert schema.is_file() and (schema.parent / "SOURCES.md").is_file()
