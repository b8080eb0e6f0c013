"""The judge's reward functions, as TRL reward callables, and their conformance checker.

Every function here is ``fn(prompts, completions, **columns) -> list[float | None]`` (TRL's
``GRPOTrainer`` contract): one score per completion, ``None`` where the reward does not apply.
Completions are strings or TRL's conversational form (a list of messages); anything else,
``None`` included, reads as an empty output.

Columns (names configurable in :class:`RewardConfig`): ``gold`` — the better candidate in the
row's own order, ``"A"`` (shown first) or ``"B"``; ``pair_id`` — the pair the row judges;
``order`` — ``"forward"`` (the pair as stored) or ``"reverse"`` (candidates swapped).

- format: ``(1 - g) * structure + g * grounding`` of :func:`parse_chain` (``g`` =
  ``grounding_share``), so a chain earns for its tags and for citing what it verifies;
- accuracy: 1 when the verdict matches ``gold``, 0 when not or unreadable (MMRB2 counts an
  unparseable verdict as wrong); ``None`` without a readable ``gold``;
- consistency (counterfactual): a rollout's underlying preference is its verdict mapped back to
  the stored order (:func:`underlying_preference`); its reward is the share of the rollouts of
  the *same pair in the other order, in the same call*, whose underlying preference agrees (an
  unreadable verdict agrees with nothing). ``strict_consistency`` is J1's rule instead: the
  share of those rollouts for which both are correct (0 when this one is wrong). ``None`` when
  no rollout of the other order is in the call — so interleave (pair, swapped) rows, keep
  ``shuffle_dataset=False`` and let each batch hold whole pairs; ``None`` also without a pair
  id or a known order (and, when strict, without ``gold``);
- judge: the weighted sum of the three; a ``None`` term adds nothing (as TRL sums its reward
  functions), and the sum is ``None`` only when every weighted term is. It parses each
  completion once; the three separate functions (for TRL's ``reward_weights``, each logged on
  its own) parse it once each.

Columns named ``chosen``, ``rejected``, ``completion`` or ``messages`` clash with TRL's own, hence
``gold``.
"""

from __future__ import annotations

import copy
import inspect
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alignlab.core import AlignlabError
from alignlab.judge._chain import (
    DEFAULT_FORMAT,
    ORDERS,
    POSITIONS,
    Chain,
    ChainFormat,
    Claim,
    Observation,
    Position,
    Verification,
    render_chain,
    underlying_preference,
)
from alignlab.judge._parse import ParsedChain, completion_text, parse_chain, parse_verdict

RewardFn = Callable[..., list[float | None]]
"""``fn(prompts, completions, **columns) -> list[float | None]``."""


@dataclass(frozen=True)
class RewardConfig:
    """Weights of the judge's reward terms, its chain format and the batch's column names.

    A term with weight 0 is skipped, and then needs none of its columns.
    """

    fmt: ChainFormat = DEFAULT_FORMAT
    format_weight: float = 0.2
    accuracy_weight: float = 0.5
    consistency_weight: float = 0.3
    grounding_share: float = 0.5
    strict_consistency: bool = False
    gold_column: str = "gold"
    pair_column: str = "pair_id"
    order_column: str = "order"
    images_column: str = "n_images"  # optional: with it, observations of absent images count

    def __post_init__(self) -> None:
        for name in ("format_weight", "accuracy_weight", "consistency_weight"):
            w = getattr(self, name)
            if not isinstance(w, int | float) or not math.isfinite(w):
                raise AlignlabError(f"weight {w!r} is not a finite number", field=name)
        g = self.grounding_share
        if not isinstance(g, int | float) or not 0.0 <= g <= 1.0:
            raise AlignlabError("must lie in [0, 1]", field="grounding_share")


def _position(value: object) -> Position | None:
    if isinstance(value, str):
        v = value.strip().upper()
        if v in POSITIONS:
            return v  # type: ignore[return-value]
    return None


def _key(value: object) -> Hashable | None:
    if value is None or not isinstance(value, Hashable):
        return None
    try:
        hash(value)
    except TypeError:  # a tuple holding a list
        return None
    return value


def _column(columns: Mapping[str, Any], name: str, n: int, fn: str) -> list[Any]:
    if name not in columns:
        raise AlignlabError(f"{fn} needs the column '{name}' in the batch", field=name)
    col = list(columns[name])
    if len(col) != n:
        raise AlignlabError(f"{fn}: {len(col)} values for {n} completions", field=name)
    return col


def _accuracy(verdicts: Sequence[Position | None], golds: Sequence[object]) -> list[float | None]:
    out: list[float | None] = []
    for v, g in zip(verdicts, golds, strict=True):
        gold = _position(g)
        out.append(None if gold is None else float(v == gold))
    return out


def _consistency(
    verdicts: Sequence[Position | None],
    pairs: Sequence[object],
    orders: Sequence[object],
    golds: Sequence[object] | None,
) -> list[float | None]:
    """Non-strict when ``golds`` is None, else J1's both-correct rule."""
    keys = [_key(p) for p in pairs]
    prefs = [underlying_preference(v, o) for v, o in zip(verdicts, orders, strict=True)]
    correct = (
        [v is not None and v == _position(g) for v, g in zip(verdicts, golds, strict=True)]
        if golds is not None
        else []
    )
    # (pair, order) -> how many rollouts, and how many per preference (or correct ones)
    size: Counter[tuple[Hashable, object]] = Counter()
    votes: defaultdict[tuple[Hashable, object], Counter[object]] = defaultdict(Counter)
    for i, (k, o) in enumerate(zip(keys, orders, strict=True)):
        if k is not None and o in ORDERS:
            size[(k, o)] += 1
            votes[(k, o)][correct[i] if golds is not None else prefs[i]] += 1
    out: list[float | None] = []
    for i, (k, o) in enumerate(zip(keys, orders, strict=True)):
        other = (k, ORDERS[1 - ORDERS.index(o)]) if k is not None and o in ORDERS else None
        if other is None or size[other] == 0:
            out.append(None)
        elif golds is None:
            agree = votes[other][prefs[i]] if prefs[i] is not None else 0
            out.append(agree / size[other])
        elif _position(golds[i]) is None:
            out.append(None)
        else:
            out.append(votes[other][True] / size[other] if correct[i] else 0.0)
    return out


def _parse_all(
    completions: Sequence[Any], columns: Mapping[str, Any], config: RewardConfig, fn: str
) -> list[ParsedChain]:
    n = len(completions)
    images = (
        _column(columns, config.images_column, n, fn)
        if config.images_column in columns
        else [None] * n
    )
    return [
        parse_chain(
            completion_text(x),
            config.fmt,
            n_images=k if isinstance(k, int) and not isinstance(k, bool) else None,
        )
        for x, k in zip(completions, images, strict=True)
    ]


def _named(fn: RewardFn, name: str, doc: str) -> RewardFn:
    fn.__name__ = fn.__qualname__ = name  # TRL logs each reward under its function's name
    fn.__doc__ = doc
    return fn


def make_format_reward(config: RewardConfig = RewardConfig()) -> RewardFn:
    """The format reward: structure and grounding of the chain, in ``[0, 1]``; never ``None``."""
    g = config.grounding_share

    def judge_format(
        prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        parsed = _parse_all(completions, columns, config, "judge_format")
        return [(1 - g) * p.structure + g * p.grounding for p in parsed]

    return _named(judge_format, "judge_format", make_format_reward.__doc__ or "")


def make_accuracy_reward(config: RewardConfig = RewardConfig()) -> RewardFn:
    """The accuracy reward: 1 if the verdict equals ``gold``, else 0; ``None`` without gold."""

    def judge_accuracy(
        prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        golds = _column(columns, config.gold_column, len(completions), "judge_accuracy")
        verdicts = [parse_verdict(completion_text(c), config.fmt)[0] for c in completions]
        return _accuracy(verdicts, golds)

    return _named(judge_accuracy, "judge_accuracy", make_accuracy_reward.__doc__ or "")


def make_consistency_reward(config: RewardConfig = RewardConfig()) -> RewardFn:
    """The counterfactual consistency reward over both orders of a pair in one call (module
    docstring); J1's strict both-orders-correct rule with ``strict_consistency``."""

    def judge_consistency(
        prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        n, name = len(completions), "judge_consistency"
        pairs = _column(columns, config.pair_column, n, name)
        orders = _column(columns, config.order_column, n, name)
        golds = _column(columns, config.gold_column, n, name) if config.strict_consistency else None
        verdicts = [parse_verdict(completion_text(c), config.fmt)[0] for c in completions]
        return _consistency(verdicts, pairs, orders, golds)

    return _named(judge_consistency, "judge_consistency", make_consistency_reward.__doc__ or "")


def make_judge_reward(config: RewardConfig = RewardConfig()) -> RewardFn:
    """The weighted sum of format, accuracy and consistency, parsing each completion once."""
    c = config

    def judge_reward(
        prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        n, name = len(completions), "judge_reward"
        parsed = _parse_all(completions, columns, c, name)
        verdicts = [p.verdict for p in parsed]
        terms: list[tuple[float, list[float | None]]] = []
        if c.format_weight:
            g = c.grounding_share
            terms.append(
                (c.format_weight, [(1 - g) * p.structure + g * p.grounding for p in parsed])
            )
        if c.accuracy_weight:
            golds = _column(columns, c.gold_column, n, name)
            terms.append((c.accuracy_weight, _accuracy(verdicts, golds)))
        if c.consistency_weight:
            pairs = _column(columns, c.pair_column, n, name)
            orders = _column(columns, c.order_column, n, name)
            strict = _column(columns, c.gold_column, n, name) if c.strict_consistency else None
            terms.append((c.consistency_weight, _consistency(verdicts, pairs, orders, strict)))
        out: list[float | None] = []
        for i in range(n):
            vals = [w * t[i] for w, t in terms if t[i] is not None]  # type: ignore[operator]
            out.append(float(sum(vals)) if vals else None)
        return out

    return _named(judge_reward, "judge_reward", make_judge_reward.__doc__ or "")


Batch = tuple[list[Any], list[Any], dict[str, list[Any]]]
"""``(prompts, completions, columns)``: one reward call's arguments."""


def reward_check_batch(fmt: ChainFormat = DEFAULT_FORMAT, *, seed: int = 0) -> Batch:
    """A judge batch for :func:`check_reward_fn`: 6 pairs, each forward then reverse, two
    rollouts per order (24 rows); chains with both verdicts, bare verdicts and unreadable
    outputs; columns ``gold``, ``pair_id``, ``order``, ``n_images``."""
    rng = random.Random(seed)
    prompts, completions, gold, pair, order = [], [], [], [], []
    for p in range(6):
        gold_fwd: Position = rng.choice(POSITIONS)
        for o in ORDERS:
            g = gold_fwd if o == "forward" else underlying_preference(gold_fwd, "reverse")
            for r in range(2):
                v = rng.choice(POSITIONS)
                claims = (Claim("A", 1, f"pair {p} claim"), Claim("B", 1, "another claim"))
                chain = Chain(
                    (Observation(1, f"a shape in pair {p}", 1),),
                    claims,
                    (
                        Verification("A", 1, "supported", (1,)),
                        Verification("B", 1, rng.choice(("contradicted", "unverifiable")), (1,)),
                    ),
                    f"weighing rollout {r}",
                    v,
                )
                text = render_chain(chain, fmt)
                kind = rng.random()
                if kind < 0.2:
                    text = f"<{fmt.verdict_tag}>{fmt.label(v)}</{fmt.verdict_tag}>"
                elif kind < 0.3:
                    text = text[: len(text) // 2]
                prompts.append(f"judge pair {p}")
                completions.append(text)
                gold.append(g)
                pair.append(f"p{p}")
                order.append(o)
    columns: dict[str, list[Any]] = {
        "gold": gold,
        "pair_id": pair,
        "order": order,
        "n_images": [1] * len(prompts),
    }
    return prompts, completions, columns


_GARBAGE: tuple[object, ...] = (
    None, "", "   \n\t", "<verdict>", "<verdict>C</verdict>", "<verdict>A</verdict>" * 2,
    "<observations>" * 40, "</claims><claims>[A1] x", "[O1]" * 300, "\x00\ud800\ufeff" * 9,
    "<verification>\n[A1] supported by [O999999999]\n</verification>", 12345, 3.5,
    {"role": "assistant"}, [{"role": "assistant", "content": None}],
    [{"role": "assistant", "content": [{"type": "text"}, "x"]}], [None, 7], b"<verdict>A",
)  # fmt: skip


def _fail(name: str, rule: str, detail: str) -> AssertionError:
    return AssertionError(f"{name}: rule '{rule}' failed: {detail}")


def _call(fn: RewardFn, name: str, rule: str, batch: Batch) -> list[float | None]:
    prompts, completions, columns = batch
    extra = {"completion_ids": [[1, 2]] * len(completions), "trainer_state": None}
    try:  # TRL passes everything by keyword, with extras of its own
        out = fn(prompts=prompts, completions=completions, **columns, **extra)
    except Exception as err:  # noqa: BLE001 - any exception breaks the contract
        raise _fail(name, rule, f"raised {err!r}") from err
    if not isinstance(out, list) or len(out) != len(completions):
        raise _fail(name, rule, f"expected a list of {len(completions)} scores, got {out!r:.80}")
    bad = [x for x in out if not (x is None or isinstance(x, float) and math.isfinite(x))]
    if bad:
        raise _fail(name, rule, f"scores must be finite floats or None, got {bad[:3]!r}")
    return out


def check_reward_fn(fn: RewardFn, batch: Batch | None = None) -> list[float | None]:
    """Check ``fn`` against TRL's reward contract; returns its scores on ``batch``.

    ``batch`` defaults to :func:`reward_check_batch`. Raises ``AssertionError("<name>: rule
    '<rule>' failed: ...")`` on the first broken rule, in order: ``signature`` (takes
    ``prompts``, ``completions`` and any other columns by keyword); ``runs`` (one finite float or
    ``None`` per completion, no exception; TRL's own extras like ``trainer_state`` passed too);
    ``some-score`` (not all ``None``); ``untouched`` (the batch is not modified);
    ``deterministic``; ``conversational`` (completions as ``[{"role": "assistant", ...}]`` score
    as their text); ``permutation`` (shuffled rows give the same scores, shuffled); ``empty``
    (all ``None``, all ``""``) and ``garbage`` (arbitrary strings and objects) run as in
    ``runs``.
    """
    name = getattr(fn, "__name__", type(fn).__name__)
    prompts, completions, columns = batch if batch is not None else reward_check_batch()
    batch = (list(prompts), list(completions), {k: list(v) for k, v in columns.items()})
    n = len(batch[1])
    try:
        inspect.signature(fn).bind(prompts=[], completions=[], any_column=[])
    except (TypeError, ValueError) as err:
        raise _fail(name, "signature", str(err)) from None
    before = copy.deepcopy(batch)
    scores = _call(fn, name, "runs", batch)
    if all(x is None for x in scores):
        raise _fail(name, "some-score", "every score is None on a well-formed batch")
    if batch != before:
        raise _fail(name, "untouched", "the call modified its arguments")
    if _call(fn, name, "deterministic", before) != scores:
        raise _fail(name, "deterministic", "a second call scored differently")
    chat = [[{"role": "assistant", "content": completion_text(c)}] for c in batch[1]]
    if _call(fn, name, "conversational", (batch[0], chat, batch[2])) != scores:
        raise _fail(name, "conversational", "messages score differently from their text")
    perm = list(range(n))
    random.Random(0).shuffle(perm)
    shuffled: Batch = (
        [batch[0][i] for i in perm],
        [batch[1][i] for i in perm],
        {k: [v[i] for i in perm] for k, v in batch[2].items()},
    )
    if _call(fn, name, "permutation", shuffled) != [scores[i] for i in perm]:
        raise _fail(name, "permutation", "scores depend on the rows' positions in the batch")
    for filler in (None, ""):
        _call(fn, name, "empty", (batch[0], [filler] * n, batch[2]))
    junk = [_GARBAGE[i % len(_GARBAGE)] for i in range(n)]
    _call(fn, name, "garbage", (batch[0], junk, batch[2]))
    return scores
