"""Stable layouts of the building assistance game (MBAG of AssistanceZero,
arXiv 2504.07091): block ids, the flat action space, observation channels. Every other assist
module imports these; changing them breaks saved goal banks, recorded trajectories and trained
networks.

Coordinates are ``(x, y, z)`` with ``y`` vertical; a voxel's flat index is
``v = (x * Y + y) * Z + z`` and ``V = X * Y * Z``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Block ids (uint8). 0 air, 1 bedrock (never placeable or breakable), 2..9 placeable.
AIR, BEDROCK, DIRT, COBBLESTONE, GLASS, LOG, PLANKS, STONE, STONEBRICK, WOOL = range(10)
BLOCK_NAMES = (
    "air", "bedrock", "dirt", "cobblestone", "glass",
    "log", "planks", "stone", "stonebrick", "wool",
)  # fmt: skip
N_BLOCKS = 10
PLACEABLE = tuple(range(2, 10))  # PLACE of air and bedrock is dropped from the action space
N_PLACEABLE = len(PLACEABLE)

# Players: 0 = human (acts first on conflicts), 1 = assistant.
HUMAN, ASSISTANT = 0, 1
N_PLAYERS = 2

# Flat action space: [NOOP | 6 moves | BREAK(v) for v < V | PLACE(v, b) for b in PLACEABLE, v < V]
# and, only with finite inventories, [GIVE(b) for b in PLACEABLE] appended after the PLACEs (so
# the infinite-inventory layout, the paper's, is unchanged by the option).
NOOP = 0
MOVES = ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))  # ids 1..6
N_MOVES = len(MOVES)
BREAK_OFFSET = 1 + N_MOVES


def place_offset(n_voxels: int) -> int:
    return BREAK_OFFSET + n_voxels


def n_actions(n_voxels: int, finite_inventory: bool = False) -> int:
    """1 + 6 + V + 8·V (= 9,907 for the 11×10×10 paper grid; the paper's 12,107 also counts
    PLACE of air and bedrock, which is never legal), plus 8 GIVE actions with finite
    inventories."""
    return give_offset(n_voxels) + (N_PLACEABLE if finite_inventory else 0)


def give_offset(n_voxels: int) -> int:
    """Id of GIVE(2); GIVE(b) = ``give_offset(V) + b - 2`` (finite inventories only)."""
    return BREAK_OFFSET + (1 + N_PLACEABLE) * n_voxels


# Observation channels, each [X, Y, Z]: float32 in the network input.
OBS_BLOCKS = 0  # block id
OBS_BLOCK_STATES = 1  # block state (always 0 here; kept for MBAG's layout)
OBS_GOAL_BLOCKS = 2  # goal block id — ZERO for the assistant
OBS_GOAL_STATES = 3  # goal block state — ZERO for the assistant
OBS_PLAYERS = 4  # 1 = the observer's voxels (feet, head), 2 = the other player's
# Who last placed or broke this voxel: 1 = the observer, 2 = the other player, 0 = nobody (the
# original MBAG's encoding; ``EnvConfig.last_interacted_obs="absolute"``: 1 + player id, so the
# assistant's 1 and 2 are swapped, as they were until 2026-12).
OBS_LAST_INTERACTED = 5
N_OBS_CHANNELS = 6

# Inventory observation ``[2, N_BLOCKS] int32`` (``_env.observe_inventory``): row 0 the observer's
# block counts, row 1 the other player's; all zeros with infinite inventories.
INV_SELF, INV_OTHER = 0, 1


@dataclass(frozen=True)
class EnvConfig:
    """Static settings (hashable, so ``jit`` can close over them)."""

    size: tuple[int, int, int] = (11, 10, 10)  # (X, Y, Z); (6, 6, 6) for CPU training
    horizon: int = 1500
    reach: float = 4.5
    # Reach and sight rule (``_env``'s module doc): "mbag" = the original MBAG's (eye at feet +
    # 1.6, rays to points on the target's faces, blocked by blocks and the other player, PLACE
    # against a solid face; feet may stand in the top layer), the default; "centre" = reach
    # between voxel centres plus a sampled centre-to-centre ray; "off" = reach only (the
    # default until 2026-11, so older results reproduce with ``los="off"``).
    los: str = "mbag"
    line_of_sight: bool | None = None  # legacy alias: True = los "centre", False = "off"
    # Starts: "ground" = both players on the ground layer (y = 2), columns preferring outside
    # the goal; "mbag" = the original's random start, uniform over air voxels at any height
    # where a player fits (possibly inside the goal's volume).
    start: str = "ground"
    terminate_on_completion: bool = True
    place_wrong: float = -1.0  # similarity where goal and block are both non-air but differ
    finite_inventory: bool = False  # paper: infinite blocks (see _env's module doc)
    # finite only: blocks of each placeable type held at reset by (human, assistant)
    inventory_start: tuple[int, int] = (16, 16)
    inventory_max: int = 64  # finite only: most blocks of one type a player can hold
    # The original MBAG's reward terms (its ``rewards`` config), per player (human, assistant);
    # one number sets both. All 0 (the default): the shared change in similarity. Its human
    # model trains with ``noop_reward=-0.2``. The rule is in ``_rewards``'s module doc.
    noop_reward: tuple[float, float] = (0.0, 0.0)  # an action with no effect (NOOP included)
    action_reward: tuple[float, float] = (0.0, 0.0)  # an action with an effect
    incorrect_action_reward: tuple[float, float] = (0.0, 0.0)  # a PLACE/BREAK not toward goal
    own_reward_prop: tuple[float, float] = (0.0, 0.0)  # 0: both players' sum; 1: only its own
    # End (``truncated``) after this many steps in a row without progress (similarity above its
    # best so far, reset included); None = never (the original's option of that name).
    truncate_on_no_progress_timesteps: int | None = None
    last_interacted_obs: str = "relative"  # or "absolute" (see OBS_LAST_INTERACTED)

    def __post_init__(self) -> None:
        for name in ("noop_reward", "action_reward", "incorrect_action_reward", "own_reward_prop"):
            value = getattr(self, name)  # a number, or a list from a JSON config: a hashable pair
            pair = (value, value) if isinstance(value, int | float) else tuple(value)
            object.__setattr__(self, name, tuple(float(x) for x in pair))
        if self.line_of_sight is not None:  # configs saved before ``los`` existed
            object.__setattr__(self, "los", "centre" if self.line_of_sight else "off")
            object.__setattr__(self, "line_of_sight", None)

    @property
    def reward_terms(self) -> bool:
        """Any reward term or ``own_reward_prop`` is non-zero (else the plain shared reward)."""
        terms = (self.noop_reward, self.action_reward, self.incorrect_action_reward)
        return any(x != 0 for pair in (*terms, self.own_reward_prop) for x in pair)

    @property
    def n_voxels(self) -> int:
        x, y, z = self.size
        return x * y * z

    @property
    def n_actions(self) -> int:
        return n_actions(self.n_voxels, self.finite_inventory)
