"""A tiny randomly initialised Qwen2.5-VL built in code: vision tower, tokenizer and processor.

For tests and smoke runs of vision-language code paths (e.g. judges that read two images per
prompt): it runs offline on CPU in seconds and its outputs carry no meaning beyond being a
function of the text and the pixels. Qwen2.5-VL: Bai et al., arXiv 2502.13923.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import torch

from alignlab.models._hf_vlm import HFVisionChat, image_only_processor_class
from alignlab.models._tiny import _CORPUS

if TYPE_CHECKING:
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
    )


VLM_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Qwen2-VL's chat format: each image becomes <|vision_start|><|image_pad|><|vision_end|>, and
# the processor expands the one <|image_pad|> to as many as the image has merged patches.
VLM_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for p in m['content'] %}"
    "{% if p['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif p['type'] == 'text' %}{{ p['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

PATCH = 14  # ViT patch side in pixels
MERGE = 2  # 2×2 patches merge into one language-model token
FACTOR = PATCH * MERGE  # images are resized to multiples of 28 pixels


@lru_cache(maxsize=4)
def _vlm_tokenizer_json(vocab_size: int, corpus: tuple[str, ...]) -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(VLM_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus), trainer=trainer)
    return tok.to_str()


def tiny_vlm_tokenizer(
    vocab_size: int = 512, corpus: Sequence[str] | None = None
) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained in-process on ``corpus`` (default: a small built-in
    English corpus) with Qwen2.5-VL's special tokens; pad and eos are ``<|endoftext|>`` /
    ``<|im_end|>``, left padding (for batched generation). A corpus of the texts a model will
    read and write (e.g. a bench's prompts and gold chains) makes its sequences short."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(
            _vlm_tokenizer_json(vocab_size, tuple(_CORPUS if corpus is None else corpus))
        ),
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        padding_side="left",
    )
    tok.chat_template = VLM_CHAT_TEMPLATE
    return tok


def _vlm_config(
    tok: PreTrainedTokenizerFast, hidden: int, layers: int, vision_hidden: int
) -> Qwen2_5_VLConfig:
    from transformers import Qwen2_5_VLConfig

    heads = 4
    head_dim = hidden // heads
    # M-RoPE splits each head's rotary half into (time, height, width) sections
    third = head_dim // 2 // 3
    mrope = [head_dim // 2 - 2 * third, third, third]
    ids = {t: int(tok.convert_tokens_to_ids(t)) for t in VLM_SPECIAL_TOKENS}  # type: ignore[arg-type]
    text = {
        "vocab_size": len(tok),
        "hidden_size": hidden,
        "intermediate_size": hidden * 2,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        "max_window_layers": layers,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope},
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    vision = {
        "depth": 2,
        "hidden_size": vision_hidden,
        "intermediate_size": vision_hidden * 2,
        "num_heads": 2,
        "patch_size": PATCH,
        "spatial_merge_size": MERGE,
        "temporal_patch_size": 2,
        "window_size": FACTOR * 2,
        "out_hidden_size": hidden,
        "fullatt_block_indexes": [1],
    }
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def tiny_vlm_processor(
    *,
    min_pixels: int = FACTOR * FACTOR * 4,
    max_pixels: int = FACTOR * FACTOR * 16,
    tokenizer: PreTrainedTokenizerFast | None = None,
    image_mean: Sequence[float] | None = None,
    image_std: Sequence[float] | None = None,
) -> Qwen2_5_VLProcessor:
    """A ``Qwen2_5_VLProcessor`` built in code: :func:`tiny_vlm_tokenizer`, a
    ``Qwen2VLImageProcessor`` that resizes images to between ``min_pixels`` and ``max_pixels``
    (multiples of 28 px; defaults 56×56 to 112×112, i.e. 4 to 16 tokens per image), without
    a video processor (so no torchvision needed); ``tokenizer`` defaults to
    :func:`tiny_vlm_tokenizer`; ``image_mean`` / ``image_std`` (per RGB channel, on the 0-1
    scale) default to CLIP's, as Qwen's."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    image_proc = Qwen2VLImageProcessorPil(
        size={"shortest_edge": min_pixels, "longest_edge": max_pixels},
        patch_size=PATCH,
        merge_size=MERGE,
        temporal_patch_size=2,
    )
    if image_mean is not None:
        image_proc.image_mean = list(image_mean)
    if image_std is not None:
        image_proc.image_std = list(image_std)
    tok = tiny_vlm_tokenizer() if tokenizer is None else tokenizer
    # Qwen2_5_VLProcessor itself requires a video processor, which needs torchvision.
    proc: Qwen2_5_VLProcessor = image_only_processor_class()(
        image_proc, tok, chat_template=VLM_CHAT_TEMPLATE
    )
    return proc


def tiny_qwen2_5_vl(
    seed: int = 0,
    *,
    hidden: int = 64,
    layers: int = 2,
    vision_hidden: int = 32,
    vocab_size: int = 512,
    corpus: Sequence[str] | None = None,
    max_pixels: int = FACTOR * FACTOR * 16,
    image_mean: Sequence[float] | None = None,
    image_std: Sequence[float] | None = None,
) -> tuple[Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor]:
    """A randomly initialised ``Qwen2_5_VLForConditionalGeneration`` (eval mode, fp32, text
    width ``hidden``, ``layers`` decoder layers, a 2-block ``vision_hidden``-d vision tower with
    14-px patches) and its processor (:func:`tiny_vlm_processor`, tokenizer trained on
    ``corpus`` with ``vocab_size`` tokens, images normalised by ``image_mean`` / ``image_std``).
    Equal arguments give equal weights."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    proc = tiny_vlm_processor(
        max_pixels=max_pixels,
        tokenizer=tiny_vlm_tokenizer(vocab_size, corpus),
        image_mean=image_mean,
        image_std=image_std,
    )
    config = _vlm_config(proc.tokenizer, hidden, layers, vision_hidden)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.pad_token_id = proc.tokenizer.pad_token_id
    model.generation_config.eos_token_id = proc.tokenizer.eos_token_id
    return model.eval(), proc


def tiny_vlm(seed: int = 0, **kw: Any) -> HFVisionChat:
    """:func:`tiny_qwen2_5_vl` wrapped as :class:`HFVisionChat` (name ``"tiny-vlm"``)."""
    model, proc = tiny_qwen2_5_vl(seed)
    kw.setdefault("name", "tiny-vlm")
    return HFVisionChat(model, proc, **kw)
