"""OpenAI chat jsonl, the finetuning format of arXiv 2512.09742's datasets, read strictly.

One line per training example: ``{"messages": [{"role": ..., "content": ...}, ...]}`` with
roles ``system``/``user``/``assistant``, string contents that are not blank, and an assistant
turn last (the turn the finetune learns). Anything else is one :class:`AlignlabError` naming
the file, the line and the field (``messages[1].role``), so a bad row is found before a
finetuning job is paid for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError, read_jsonl, write_jsonl
from alignlab.models import Message

ROLES = ("system", "user", "assistant")
# keys the OpenAI finetuning format allows on a message; others are typos ("contents")
_MESSAGE_KEYS = {"role", "content", "name", "weight"}


def check_chat(
    obj: Any, *, file: str | Path | None = None, line: int | None = None, prefix: str = ""
) -> list[Message]:
    """The messages of one chat row ``{"messages": [...]}``, checked.

    ``prefix`` goes before field names (``rows[3].`` when checking rows in memory).

    Raises:
        AlignlabError: with ``file``, ``line`` and the field at fault.
    """

    def bad(field: str, message: str) -> AlignlabError:
        return AlignlabError(message, file=file, line=line, field=prefix + field)

    if not isinstance(obj, dict):
        raise bad("", "expected a JSON object with a 'messages' list")
    if "messages" not in obj:
        raise bad("messages", "missing; each row needs a 'messages' list")
    messages = obj["messages"]
    if not isinstance(messages, list) or not messages:
        raise bad("messages", "must be a non-empty list of {role, content} objects")
    for i, msg in enumerate(messages):
        _check_message(msg, f"messages[{i}]", bad)
    if not any(m["role"] == "assistant" for m in messages):
        raise bad("messages", "no assistant turn; a finetuning row must teach a reply")
    if messages[-1]["role"] != "assistant":
        last = len(messages) - 1
        raise bad(
            f"messages[{last}].role",
            f"the last turn must be the assistant's, not {messages[-1]['role']!r}",
        )
    return [dict(m) for m in messages]


def _check_message(msg: Any, where: str, bad: Any) -> None:
    if not isinstance(msg, dict):
        raise bad(where, "expected an object with 'role' and 'content'")
    extra = sorted(set(msg) - _MESSAGE_KEYS)
    if extra:
        raise bad(f"{where}.{extra[0]}", f"unknown key; a message has {sorted(_MESSAGE_KEYS)}")
    role = msg.get("role")
    if role not in ROLES:
        raise bad(f"{where}.role", f"must be one of {list(ROLES)}, not {role!r}")
    content = msg.get("content")
    if not isinstance(content, str):
        got = "missing" if "content" not in msg else f"a {type(content).__name__}"
        raise bad(f"{where}.content", f"must be a string, not {got}")
    if not content.strip():
        raise bad(f"{where}.content", "is empty or only whitespace")
    if "weight" in msg and (role != "assistant" or msg["weight"] not in (0, 1)):
        raise bad(f"{where}.weight", "only assistant turns take a weight, and it is 0 or 1")


def read_chat_jsonl(path: str | Path) -> list[list[Message]]:
    """Every row's messages, in file order (blank lines skipped).

    Raises:
        AlignlabError: missing file, invalid JSON, or a row that fails :func:`check_chat`,
        naming the file, line and field; an empty file.
    """
    rows = [check_chat(obj, file=path, line=i) for i, obj in read_jsonl(path)]
    if not rows:
        raise AlignlabError("no rows; a chat jsonl file needs at least one", file=path)
    return rows


def check_rows(rows: Sequence[list[Message]]) -> None:
    """Check in-memory chats as :func:`read_chat_jsonl` checks a file (fields ``rows[i]...``)."""
    for i, messages in enumerate(rows):
        check_chat({"messages": messages}, prefix=f"rows[{i}].")


def chat_jsonl_text(rows: Iterable[list[Message]]) -> str:
    """The exact text :func:`write_chat_jsonl` writes (so a sha256 can be taken beforehand)."""
    return "".join(json.dumps({"messages": list(m)}, ensure_ascii=False) + "\n" for m in rows)


def write_chat_jsonl(path: str | Path, rows: Sequence[list[Message]]) -> int:
    """Check ``rows`` and write them atomically as chat jsonl; returns the number of rows.

    Raises:
        AlignlabError: a row that fails the checks (nothing is written then).
    """
    check_rows(rows)
    return write_jsonl(path, ({"messages": list(m)} for m in rows))
