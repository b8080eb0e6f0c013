"""Training rows for a vision-language judge, in the form TRL's trainers read.

Each pair gives two rows, forward (as stored) then reverse (candidates swapped), adjacent, so
a batch of whole pairs holds both orders of each: the counterfactual-consistency reward needs
them in the same call. Columns:

- ``prompt``: the chat (``chain_messages`` or ``baseline_messages``) with each image as an
  ``{"type": "image"}`` placeholder, the form TRL fills from ``images``;
- ``images``: the PIL images in order of appearance;
- ``gold`` (``"A"``/``"B"`` in the row's own order), ``pair_id``, ``order``, ``n_images``: the
  reward functions' columns;
- ``completion`` (SFT rows only): the assistant's target, the pair's gold chain in this order
  (``target="chain"``), its verdict tag alone (``target="verdict"``), or the chain's
  observations section alone (``target="observations"``: what each image shows, a perception
  stage before the whole chain, as VLMs learn captions before instructions).

Column names avoid ``chosen``, ``rejected`` and ``messages`` (TRL reads those itself);
``completion`` is TRL's own prompt-completion column, used only for SFT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from alignlab.core import AlignlabError
from alignlab.judge._chain import DEFAULT_FORMAT, ChainFormat, baseline_messages, chain_messages
from alignlab.judge._pair import Pair, Segment, swapped

TARGETS = ("chain", "verdict", "observations")
PROMPTS = ("chain", "baseline")
Target = Literal["chain", "verdict", "observations"]


def _segments(pair: Pair, segs: Sequence[Segment]) -> list[Any]:
    return [s.value if s.kind == "text" else pair.open_image(s) for s in segs]


def _target(shown: Pair, target: Target, fmt: ChainFormat) -> str:
    if target == "verdict":
        return f"<{fmt.verdict_tag}>{shown.gold}</{fmt.verdict_tag}>"
    text = shown.metadata.get("gold_chain_text")
    if not isinstance(text, str) or not text:
        raise AlignlabError(
            f"pair {shown.id} has no gold chain (metadata.gold_chain_text); chain targets need "
            "pairs from `alignlab judge make-bench`, or use --target verdict",
            field="target",
        )
    if target == "observations":
        end = f"</{fmt.observations_tag}>"
        return text[: text.index(end) + len(end)] if end in text else text
    return text


def pair_rows(
    pair: Pair,
    *,
    prompt: str = "chain",
    system: bool = True,
    target: Target | None = None,
    fmt: ChainFormat = DEFAULT_FORMAT,
) -> list[dict[str, Any]]:
    """The pair's forward and reverse rows (module doc). ``system=False`` drops the system
    message (the instructions), for models trained from scratch that never read them.

    Raises:
        AlignlabError: an unreadable image, or (``target="chain"``) a pair without a gold
            chain. (Every ``Pair`` has gold: loaders refuse rows without it.)
    """
    from alignlab.models import render_chat

    build = chain_messages if prompt == "chain" else baseline_messages
    rows = []
    for order, shown in (("forward", pair), ("reverse", swapped(pair))):
        msgs = build(
            _segments(shown, shown.prompt),
            _segments(shown, shown.response_a),
            _segments(shown, shown.response_b),
            fmt=fmt,
        )
        chat, images = render_chat(msgs if system else msgs[1:])
        row: dict[str, Any] = {
            "prompt": chat,
            "images": images,
            "gold": shown.gold,
            "pair_id": pair.id,
            "order": order,
            "n_images": len(images),
        }
        if target is not None:
            text = _target(shown, target, fmt)
            row["completion"] = [{"role": "assistant", "content": [{"type": "text", "text": text}]}]
        rows.append(row)
    return rows


def training_rows(pairs: Sequence[Pair], **kw: Any) -> list[dict[str, Any]]:
    """:func:`pair_rows` of every pair, in order: forward, reverse, forward, reverse, ..."""
    return [row for pair in pairs for row in pair_rows(pair, **kw)]


def corpus_texts(pairs: Sequence[Pair], fmt: ChainFormat = DEFAULT_FORMAT) -> list[str]:
    """The texts a judge reads and writes on these pairs (prompts, responses, gold chains and
    verdict tags, both orders), for training a tokenizer that keeps their sequences short."""
    out = []
    for pair in pairs:
        for row in pair_rows(pair, target=None, fmt=fmt):
            for m in row["prompt"]:
                out += [p["text"] for p in m["content"] if p["type"] == "text"]
        for shown in (pair, swapped(pair)):
            text = shown.metadata.get("gold_chain_text")
            if isinstance(text, str):
                out.append(text)
        out += [
            f"<{fmt.verdict_tag}>A</{fmt.verdict_tag}>",
            f"<{fmt.verdict_tag}>B</{fmt.verdict_tag}>",
        ]
    return out
