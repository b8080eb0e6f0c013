"""Checks for command flags, shared by every system's config dataclasses.

Each raises the one :class:`AlignlabError` a bad value gets, with ``field`` set to the config
field's name and the message naming the flag (``--n-boot`` for ``n_boot``).
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, NoReturn, TypeVar, cast

from alignlab.core.errors import AlignlabError

T = TypeVar("T")

MAX_SEED = 2**63 - 1  # numpy and jax.random.PRNGKey take seeds in 0..2**63 - 1


def config_field(default: T, help: str) -> T:  # noqa: A002 - mirrors argparse's name
    """A config dataclass field with its ``--help`` text (typed as its default for mypy)."""
    return cast(T, field(default=cast(Any, default), metadata={"help": help}))


def flag(name: str) -> str:
    """The command-line spelling of a config field: ``n_boot`` → ``--n-boot``."""
    return "--" + name.replace("_", "-")


def bad_flag(name: str, message: str) -> NoReturn:
    """Raise the one error a bad flag value gets (``field`` = the config field's name)."""
    raise AlignlabError(message, field=name)


def check_at_least(value: int, low: int, name: str, what: str) -> None:
    """``value >= low``, else an error naming the flag and saying what it counts."""
    if value < low:
        bad_flag(name, f"{flag(name)} must be >= {low} ({what}), not {value}")


def check_seed(seed: int, name: str = "seed") -> None:
    """A seed numpy and JAX both take: ``0 <= seed <= 2**63 - 1``."""
    if not 0 <= seed <= MAX_SEED:
        bad_flag(name, f"{flag(name)} must be in 0..2**63-1 (numpy and jax seeds), not {seed}")
