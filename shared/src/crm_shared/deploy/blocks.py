"""Generated blocks inside files that are otherwise written by hand.

The compose file, the Dockerfile and the kustomization are mostly infrastructure an
operator edits in place; only a few lines in them list the services. Those lines sit
between two marker comments, and `crm deploy generate` rewrites what is between them and
leaves the rest of the file as it is::

    # >>> crm deploy generate: resources
    ...
    # <<< crm deploy generate: resources

A block's lines are indented like its opening marker.
"""

from __future__ import annotations

import re

BEGIN = "# >>> crm deploy generate: "
END = "# <<< crm deploy generate: "


class MissingBlock(LookupError):
    pass


def fill(text: str, blocks: dict[str, str], where: str) -> str:
    """``text`` with each named block's lines replaced by the given ones."""
    for name, content in blocks.items():
        marked = re.compile(
            rf"^(?P<indent>[ \t]*){re.escape(BEGIN + name)}\n.*?^[ \t]*{re.escape(END + name)}\n",
            re.MULTILINE | re.DOTALL,
        )
        found = marked.search(text)
        if found is None:
            raise MissingBlock(f"{where}: no block '{BEGIN}{name}' ... '{END}{name}'")
        indent = found["indent"]
        lines = [f"{indent}{line}" if line else "" for line in content.splitlines()]
        block = "\n".join([f"{indent}{BEGIN}{name}", *lines, f"{indent}{END}{name}"]) + "\n"
        text = text[: found.start()] + block + text[found.end() :]
    return text
