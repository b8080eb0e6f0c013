"""``alignlab judge init-model``: a small vision-language judge built in code, from scratch.

A randomly initialised Qwen2.5-VL (Bai et al., arXiv 2502.13923) of the width and depth asked
for, with a byte-level BPE tokenizer trained on the texts of a set of pairs (their prompts,
responses, gold chains and verdicts, both orders), so a chain is a few hundred tokens. It is
written as one model folder (atomically) that ``judge sft``, ``judge train`` and
``judge evaluate --model hf-vlm:FOLDER`` load offline. The CPU-scale MJ1 recipe starts here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alignlab.core import bad_flag, check_at_least, check_seed, config_field

# per-channel (mean, std) on the 0-1 scale; None: the processor's default (CLIP's)
NORMALISE: dict[str, tuple[tuple[float, ...], tuple[float, ...]] | None] = {
    "clip": None,
    "white": ((1.0, 1.0, 1.0), (0.5, 0.5, 0.5)),
}


@dataclass(frozen=True)
class InitModelConfig:
    pairs: str = config_field(
        "data/judge/synth-bench", "pairs whose texts train the tokenizer (a make-bench folder)"
    )
    out: str = config_field("runs/judge-model", "model folder to write")
    hidden: int = config_field(128, "language model width (a multiple of 8)")
    layers: int = config_field(4, "language model decoder layers")
    vision_hidden: int = config_field(64, "vision tower width (2 blocks, 14-px patches)")
    vocab: int = config_field(1024, "tokenizer vocabulary (BPE merges learnt from the pairs)")
    image_side: int = config_field(
        112, "largest image side the processor keeps, in pixels (a multiple of 28)"
    )
    normalise: str = config_field(
        "clip",
        "pixel normalisation: clip (CLIP's mean and std, as Qwen2.5-VL) or white (white maps to "
        "0, std 0.5: for pictures drawn on white, as the synthetic bench's, where CLIP's makes "
        "every image token nearly the same vector and a model from scratch ignores the images)",
    )
    limit: int = config_field(0, "train the tokenizer on the first N pairs only (0: all)")
    seed: int = config_field(0, "seed of the random weights")
    overwrite: bool = config_field(False, "replace an existing model folder")

    def __post_init__(self) -> None:
        """Reject bad flag values before any work.

        Raises:
            AlignlabError: naming the field.
        """
        check_at_least(self.hidden, 16, "hidden", "model width")
        if self.hidden % 8:
            bad_flag(
                "hidden", f"--hidden must be a multiple of 8 (4 heads, M-RoPE), not {self.hidden}"
            )
        check_at_least(self.layers, 1, "layers", "decoder layers")
        check_at_least(self.vision_hidden, 8, "vision_hidden", "vision width")
        if self.vision_hidden % 2:
            bad_flag("vision_hidden", f"--vision-hidden must be even, not {self.vision_hidden}")
        check_at_least(self.vocab, 300, "vocab", "tokens (the 256 bytes and special tokens fit)")
        check_at_least(self.image_side, 28, "image_side", "pixels")
        if self.image_side % 28:
            bad_flag("image_side", f"--image-side must be a multiple of 28, not {self.image_side}")
        if self.normalise not in NORMALISE:
            bad_flag("normalise", f"unknown --normalise '{self.normalise}'; use clip or white")
        check_at_least(self.limit, 0, "limit", "pairs; 0 = all")
        check_seed(self.seed)
        out = Path(self.out)
        if out.exists() and not self.overwrite:
            bad_flag("out", f"--out {out} exists; pass --overwrite to replace it")


def run_init_model(cfg: InitModelConfig) -> Path:
    """Build and write the model folder; returns it."""
    import shutil

    from alignlab.core import atomic_folder
    from alignlab.judge._loaders import load_pairs
    from alignlab.judge._train_rows import corpus_texts
    from alignlab.models import tiny_qwen2_5_vl

    pairs = load_pairs(cfg.pairs)
    pairs = pairs[: cfg.limit] if cfg.limit else pairs
    model, proc = tiny_qwen2_5_vl(
        cfg.seed,
        hidden=cfg.hidden,
        layers=cfg.layers,
        vision_hidden=cfg.vision_hidden,
        vocab_size=cfg.vocab,
        corpus=corpus_texts(pairs),
        max_pixels=cfg.image_side * cfg.image_side,
        **({} if (norm := NORMALISE[cfg.normalise]) is None
           else {"image_mean": norm[0], "image_std": norm[1]}),
    )  # fmt: skip
    out = Path(cfg.out)
    if out.exists() and cfg.overwrite:
        shutil.rmtree(out)
    with atomic_folder(out) as tmp:
        model.save_pretrained(tmp)
        proc.save_pretrained(tmp)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"wrote {out}: {n_params:,} parameters, vocabulary {len(proc.tokenizer)}")
    return out
