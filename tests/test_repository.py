"""The repository holds what people write: nothing a tool leaves behind is committed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]

# What tests, linters, type checkers and `make up` write into the working tree.
TOOL_OUTPUT = (
    ".schemathesis",
    ".hypothesis",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "__pycache__",
    ".venv",
    ".uv",
    ".data",
)


def git(*argv: str) -> subprocess.CompletedProcess[str]:
    # CI and `make test` run in a clone: without git these checks would check nothing.
    assert shutil.which("git") is not None and (ROOT / ".git").exists(), "not a git checkout"
    return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, check=False)


def test_no_tool_cache_is_tracked() -> None:
    tracked = git("ls-files", "-z").stdout.split("\0")
    committed = sorted(
        path for path in tracked if set(PurePosixPath(path).parts) & set(TOOL_OUTPUT)
    )
    assert committed == []


def test_every_tool_cache_is_ignored() -> None:
    # The root .gitignore, not a tool's own (Hypothesis writes one into its folder): a
    # fresh clone has only this one when the tool first runs.
    patterns = (ROOT / ".gitignore").read_text().splitlines()
    assert [folder for folder in TOOL_OUTPUT if f"{folder}/" not in patterns] == []


# Pointers a reader of the repository cannot follow: the team's own notes, other checkouts.
OUTSIDE = ("../" + "shared", "ARCHITECTURE" + ".md", "STYLE" + ".md", "/" + "work/")


def test_nothing_points_at_a_file_outside_the_repository() -> None:
    pointers = []
    for path in git("ls-files", "-z").stdout.split("\0"):
        file = ROOT / path
        if not path or not file.is_file():
            continue
        try:
            text = file.read_text()
        except UnicodeDecodeError:
            continue  # not text
        pointers += [f"{path}: {pointer}" for pointer in OUTSIDE if pointer in text]
    assert pointers == []
