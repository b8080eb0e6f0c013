"""Readable reports: a list of blocks rendered to Markdown and to self-contained HTML.

The blocks are saved as ``report.json`` beside the renderings, so ``alignlab report`` can
re-render or compare runs without recomputing anything.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignlab.core.errors import AlignlabError
from alignlab.core.io import atomic_write_json, atomic_write_text, read_json

Cell = str | int | float | None


@dataclass
class Report:
    title: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append({"kind": "heading", "text": text, "level": level})

    def text(self, text: str) -> None:
        """A paragraph of Markdown-ish plain text (rendered verbatim in HTML)."""
        self.blocks.append({"kind": "text", "text": text})

    def table(self, columns: list[str], rows: list[list[Cell]], caption: str = "") -> None:
        self.blocks.append({"kind": "table", "columns": columns, "rows": rows, "caption": caption})

    def image(self, rel_path: str, caption: str = "") -> None:
        self.blocks.append({"kind": "image", "path": rel_path, "caption": caption})

    def to_markdown(self) -> str:
        out = [f"# {_one_line(self.title)}", ""]
        for b in self.blocks:
            kind = b["kind"]
            if kind == "heading":
                out += ["#" * int(b["level"]) + " " + _one_line(b["text"]), ""]
            elif kind == "text":
                out += [b["text"], ""]
            elif kind == "table":
                if b.get("caption"):
                    out += [f"*{_one_line(b['caption'])}*", ""]
                out.append(_md_row(b["columns"]))
                out.append("|" + "|".join("---" for _ in b["columns"]) + "|")
                out += [_md_row(row) for row in b["rows"]]
                out.append("")
            elif kind == "image":
                out += [f"![{b.get('caption', '')}]({b['path']})", ""]
        return "\n".join(out)

    def to_html(self) -> str:
        parts = [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for b in self.blocks:
            kind = b["kind"]
            if kind == "heading":
                lvl = min(6, int(b["level"]))
                parts.append(f"<h{lvl}>{html.escape(b['text'])}</h{lvl}>")
            elif kind == "text":
                parts.append(f"<p>{html.escape(b['text'])}</p>")
            elif kind == "table":
                head = "".join(f"<th>{html.escape(c)}</th>" for c in b["columns"])
                body = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>"
                    for row in b["rows"]
                )
                cap = f"<caption>{html.escape(b['caption'])}</caption>" if b.get("caption") else ""
                parts.append(
                    f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                )
            elif kind == "image":
                src = html.escape(b["path"])
                cap = html.escape(b.get("caption", ""))
                parts.append(
                    f"<figure><img src='{src}' alt='{cap}'><figcaption>{cap}</figcaption></figure>"
                )
        parts.append("</body></html>")
        return "\n".join(parts)

    def save(self, run_dir: str | Path) -> None:
        run_dir = Path(run_dir)
        md, page = self.to_markdown(), self.to_html()  # both render before anything is written
        atomic_write_json(run_dir / "report.json", {"title": self.title, "blocks": self.blocks})
        atomic_write_text(run_dir / "report.md", md)
        atomic_write_text(run_dir / "report.html", page)

    @classmethod
    def load(cls, run_dir: str | Path) -> Report:
        """The report saved in ``run_dir/report.json``.

        Raises:
            AlignlabError: missing file, invalid JSON, or blocks that do not follow the schema.
        """
        path = Path(run_dir) / "report.json"
        data = read_json(path)
        if not isinstance(data, dict):
            raise AlignlabError("a report must be a JSON object", file=path)
        if not isinstance(data.get("title"), str):
            raise AlignlabError("missing or not a string", file=path, field="title")
        blocks = data.get("blocks")
        if not isinstance(blocks, list):
            raise AlignlabError("missing or not a list", file=path, field="blocks")
        for i, b in enumerate(blocks):
            _check_block(b, path, i)
        return cls(title=data["title"], blocks=blocks)


_BLOCK_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "heading": {"text": str, "level": int},
    "text": {"text": str},
    "table": {"columns": list, "rows": list},
    "image": {"path": str},
}


def _check_block(b: Any, path: Path, i: int) -> None:
    where = f"blocks[{i}]"
    if not isinstance(b, dict) or b.get("kind") not in _BLOCK_FIELDS:
        kinds = ", ".join(_BLOCK_FIELDS)
        raise AlignlabError(
            f"not a block (an object whose kind is {kinds})", file=path, field=where
        )
    for name, typ in _BLOCK_FIELDS[b["kind"]].items():
        if not isinstance(b.get(name), typ) or isinstance(b.get(name), bool):
            raise AlignlabError(
                f"missing or not a {_type_name(typ)}", file=path, field=f"{where}.{name}"
            )
    if b["kind"] == "table":
        cell = (str, int, float, type(None))
        if not all(isinstance(c, str) for c in b["columns"]) or not all(
            isinstance(r, list) and all(isinstance(c, cell) for c in r) for r in b["rows"]
        ):
            raise AlignlabError(
                "columns must be strings and rows lists of strings, numbers or null",
                file=path,
                field=where,
            )
    for opt in ("caption",):
        if opt in b and not isinstance(b[opt], str):
            raise AlignlabError("not a string", file=path, field=f"{where}.{opt}")


def _type_name(typ: type | tuple[type, ...]) -> str:
    return typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)


def md_cell(text: str) -> str:
    """A Markdown table cell: ``|`` would end the cell and a newline the row."""
    return _one_line(text.replace("|", "\\|"))


def _one_line(text: str) -> str:
    """Newlines (and other line breaks) as spaces, for Markdown constructs that are one line."""
    return " ".join(text.splitlines()) if text else text


def _md_row(cells: Sequence[Cell]) -> str:
    return "| " + " | ".join(md_cell(_fmt(c)) for c in cells) + " |"


def _fmt(cell: Cell) -> str:
    if cell is None:
        return "–"
    if isinstance(cell, float):
        return f"{cell:.4g}"
    return str(cell)


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
    "color:#222}table{border-collapse:collapse;margin:1em 0;font-size:14px}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}"
    "caption{caption-side:top;text-align:left;font-style:italic;padding:4px 0}"
    "img{max-width:100%}p{white-space:pre-wrap}"
)
