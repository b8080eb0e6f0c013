"""Local vision-language chat: a transformers image-text-to-text model as a ``ChatBackend``.

Messages are the project's OpenAI-style chats (text and ``image_url`` parts, images as data
URLs; PIL images also pass as ``{"type": "image", "image": img}``). Several conversations run
in one left-padded ``generate`` call (:meth:`HFVisionChat.complete_batch`).
"""

from __future__ import annotations

import base64
import binascii
import io
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from alignlab.core import AlignlabError
from alignlab.models._content import _is_pil, content_parts
from alignlab.models._hf import _pad_id
from alignlab.models._hub import hub_client_offline, hub_kwargs, hub_load_error
from alignlab.models._protocols import Completion, Message, Usage

if TYPE_CHECKING:
    from PIL.Image import Image


def decode_image(url: str, *, where: str = "image") -> Image:
    """The RGB PIL image in a ``data:image/...;base64,...`` URL.

    Raises:
        AlignlabError: not a base64 data URL (http URLs are not fetched), or bytes pillow cannot
            read (``field`` = ``where``).
    """
    from PIL import Image as PILImage

    head, sep, payload = url.partition(",")
    if not (sep and head.startswith("data:image/") and head.endswith(";base64")):
        shown = url if len(url) <= 40 else url[:37] + "..."
        raise AlignlabError(
            f"image URL '{shown}' is not a base64 data URL (data:image/...;base64,...); local "
            "models do not fetch URLs, so pass images as data URLs (image_part) or PIL images",
            field=where,
        )
    try:
        data = base64.b64decode(payload, validate=True)
        with PILImage.open(io.BytesIO(data)) as img:
            return img.convert("RGB")
    except (binascii.Error, ValueError, OSError) as err:
        raise AlignlabError(f"unreadable image in data URL ({err})", field=where) from None


def render_chat(messages: list[Message]) -> tuple[list[dict[str, Any]], list[Image]]:
    """The chat with each image part as ``{"type": "image"}`` (the form processors' chat
    templates read) and the decoded images in order of appearance."""
    out: list[dict[str, Any]] = []
    images: list[Image] = []
    for i, m in enumerate(messages):
        content = m.get("content")
        parts: list[dict[str, Any]] = []
        for j, p in enumerate(content if isinstance(content, list) else [content]):
            where = f"messages[{i}].content[{j}]"
            if isinstance(p, dict) and p.get("type") == "image" and _is_pil(p.get("image")):
                images.append(p["image"].convert("RGB"))
                parts.append({"type": "image"})
                continue
            for q in content_parts(p if not isinstance(content, list) else [p], where=where):
                if q["type"] == "text":
                    parts.append({"type": "text", "text": q["text"]})  # type: ignore[typeddict-item]
                else:
                    url = q["image_url"]["url"]  # type: ignore[typeddict-item]
                    images.append(decode_image(url, where=where))
                    parts.append({"type": "image"})
        out.append({"role": m.get("role", "user"), "content": parts})
    return out, images


class HFVisionChat:
    """A transformers image-text-to-text model + processor as a :class:`ChatBackend`.

    ``complete`` answers one chat; ``complete_batch`` answers several in one ``generate``
    (left padding, so each row's reply starts right after its own prompt). Greedy when
    ``temperature == 0`` (then the ``n`` samples are equal); sampling is seeded inside
    ``torch.random.fork_rng`` (the global RNG is untouched). ``stop`` strings cut each reply
    at the first occurrence. One ``generate`` runs at a time, so :func:`complete_many`'s
    threads neither race on the seeded RNG nor oversubscribe the cores; to use the batch, pass
    several chats to ``complete_batch``.
    """

    def __init__(self, model: Any, processor: Any, *, name: str, stop: Sequence[str] = ()) -> None:
        if getattr(processor, "image_processor", None) is None:
            raise AlignlabError(
                f"model '{name}': the processor ({type(processor).__name__}) has no image "
                "processor, so it cannot read images",
                field="model",
            )
        self.model = model.eval()
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.tokenizer.padding_side = "left"  # generate appends on the right of every row
        self.name = name
        self.stop = tuple(stop)
        self.n_params = int(sum(p.numel() for p in model.parameters()))
        self.pad_id = _pad_id(self.tokenizer)
        eos = getattr(model.generation_config, "eos_token_id", None)
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self._lock = threading.Lock()
        self.eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def encode_chats(self, chats: Sequence[list[Message]]) -> Any:
        """The processor's left-padded batch (``input_ids`` ``[B, T]``, ``pixel_values``, ...)
        for ``chats``, each rendered with its chat template and a generation prompt."""
        texts: list[str] = []
        images: list[Image] = []
        for chat in chats:
            rendered, imgs = render_chat(chat)
            texts.append(
                self.processor.apply_chat_template(
                    rendered, tokenize=False, add_generation_prompt=True
                )
            )
            images.extend(imgs)
        enc = self.processor(text=texts, images=images or None, padding=True, return_tensors="pt")
        return enc.to(self.device)

    def complete(
        self,
        messages: list[Message],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 256,
        top_logprobs: int | None = None,
        seed: int | None = None,
    ) -> list[Completion]:
        """``n`` completions of one chat (see :meth:`complete_batch`)."""
        return self.complete_batch(
            [messages],
            n=n,
            temperature=temperature,
            max_tokens=max_tokens,
            top_logprobs=top_logprobs,
            seed=seed,
        )[0]

    def complete_batch(
        self,
        chats: Sequence[list[Message]],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 256,
        top_logprobs: int | None = None,
        seed: int | None = None,
    ) -> list[list[Completion]]:
        """Per chat, ``n`` completions, all from one ``generate`` call over ``[B * n, T]``.

        ``top_logprobs``: per generated token, the natural-log probabilities of that many most
        likely tokens (before temperature). ``usage``: this chat's prompt tokens (image tokens
        included) and its generated tokens up to the end of turn.
        """
        if not chats:
            return []
        enc = self.encode_chats(chats)
        sample = temperature > 0
        kw: dict[str, Any] = {
            "do_sample": sample,
            "max_new_tokens": max_tokens,
            "pad_token_id": self.pad_id,
            "num_return_sequences": n if sample else 1,
            "return_dict_in_generate": True,
            "output_scores": top_logprobs is not None,
        }
        if sample:
            kw.update(temperature=temperature, top_k=0, top_p=1.0)
        else:
            kw.update(temperature=None, top_k=None, top_p=None)
        if self.eos_ids:
            kw["eos_token_id"] = sorted(self.eos_ids)
        with self._lock, torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(0 if seed is None else seed)
            out = self.model.generate(**enc, **kw)
        width = enc["input_ids"].shape[1]
        new = out.sequences[:, width:].cpu()
        per = n if sample else 1
        prompt_lens = enc["attention_mask"].sum(1).tolist()
        results: list[list[Completion]] = []
        for b in range(len(chats)):
            comps = []
            for k in range(per):
                row = b * per + k
                ids = self._reply_ids(new[row].tolist())
                top = None
                if top_logprobs is not None:
                    top = [self._top(out.scores[t][row], top_logprobs) for t in range(len(ids))]
                usage = Usage(int(prompt_lens[b]), len(ids), int(prompt_lens[b]) + len(ids))
                comps.append(Completion(self._text(ids), top, usage))
            results.append(comps if sample else comps * n)
        return results

    def _reply_ids(self, ids: list[int]) -> list[int]:
        """Generated ids up to (not including) the first end-of-turn or pad token."""
        for i, t in enumerate(ids):
            if t in self.eos_ids or t == self.pad_id:
                return ids[:i]
        return ids

    def _text(self, ids: list[int]) -> str:
        text = str(self.tokenizer.decode(ids, skip_special_tokens=True))
        cuts = [text.find(s) for s in self.stop if s and s in text]
        return text[: min(cuts)] if cuts else text

    def _top(self, scores: torch.Tensor, k: int) -> dict[str, float]:
        logp = torch.log_softmax(scores.float(), dim=-1)
        vals, idx = logp.topk(min(k, logp.shape[-1]))
        out: dict[str, float] = {}
        for v, i in zip(vals.tolist(), idx.tolist(), strict=True):
            tok = self.tokenizer.decode([i])
            out[tok] = float(np.logaddexp(out[tok], v)) if tok in out else float(v)
        return out

    def next_token_logits(self, messages: list[Message]) -> torch.Tensor:
        """``[vocab] float32`` logits of the first reply token of one chat."""
        enc = self.encode_chats([messages])
        with torch.inference_mode():
            return self.model(**enc).logits[0, -1].float().cpu()


@lru_cache(maxsize=1)
def image_only_processor_class() -> type:
    """``Qwen2_5_VLProcessor`` without its video processor (which needs torchvision): the
    processor of Qwen2-VL-style models on machines without torchvision."""
    from transformers import Qwen2_5_VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class ImageOnlyQwenVLProcessor(Qwen2_5_VLProcessor):  # type: ignore[misc]
        def __init__(
            self,
            image_processor: Any = None,
            tokenizer: Any = None,
            chat_template: Any = None,
            **kwargs: Any,
        ) -> None:
            self.image_token = getattr(tokenizer, "image_token", "<|image_pad|>")
            self.video_token = getattr(tokenizer, "video_token", "<|video_pad|>")
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    return ImageOnlyQwenVLProcessor


def _load_processor(src: str, hub: dict[str, Any]) -> Any:
    """``AutoProcessor``, or, when it yields no image processor (a Qwen-VL processor without
    torchvision degrades to the bare tokenizer), tokenizer + image processor composed."""
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    proc = AutoProcessor.from_pretrained(src, **hub)
    if getattr(proc, "image_processor", None) is not None:
        return proc
    tok = AutoTokenizer.from_pretrained(src, **hub)
    image = AutoImageProcessor.from_pretrained(src, **hub)
    return image_only_processor_class()(image, tok, chat_template=tok.chat_template)


def load_hf_vlm(
    name_or_path: str, *, dtype: str | None = None, device: str | None = None, **kw: Any
) -> HFVisionChat:
    """Load an image-text-to-text model (``AutoModelForImageTextToText``) and its processor
    from a local folder or a hub id (cached, or the hub when reachable) as
    :class:`HFVisionChat`; ``kw`` go to it (``name``, ``stop``).

    Raises:
        AlignlabError: the load failed (``field="model"``); offline and not cached, within
            seconds, naming offline mode.
    """
    from transformers import AutoModelForImageTextToText

    local = Path(name_or_path).expanduser()
    src = str(local) if local.is_dir() else name_or_path
    hub = hub_kwargs(name_or_path)
    load_kw: dict[str, Any] = dict(hub)
    if dtype is not None:
        load_kw["dtype"] = getattr(torch, dtype)
    try:
        with hub_client_offline(bool(hub)):
            processor = _load_processor(src, hub)
            model: Any = AutoModelForImageTextToText.from_pretrained(src, **load_kw)
    except Exception as err:  # noqa: BLE001 - transformers raises OSError/ValueError/hub errors
        raise hub_load_error(name_or_path, local, err, unreachable=bool(hub)) from err
    if device is not None:
        model.to(torch.device(device))
    kw.setdefault("name", name_or_path)
    return HFVisionChat(model, processor, **kw)
