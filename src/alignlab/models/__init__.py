"""Text model backends behind small protocols.

- :class:`TextEncoder`, :class:`CausalLM`, :class:`ChatBackend`: the protocols systems use.
- Bundled offline models: :func:`minilm`, :func:`smollm2`, :func:`wordllama_encoder`.
- Any transformers model: :func:`load_hf`, :class:`HFEncoder`, :class:`HFCausalLM`.
- Hub access for transformers loads: :func:`hub_kwargs` keeps a load to the local cache when
  :func:`hub_reachable` says the hub cannot be reached, :func:`hub_client_offline` puts the hub
  client offline for a block, and :func:`hub_load_error` turns a failed load into a clear error.
- OpenAI-compatible servers: :class:`OpenAIChat` (many requests in flight with
  :meth:`OpenAIChat.complete_many`; any :class:`ChatBackend` with :func:`complete_many`);
  :class:`StubChatServer` is a local one for tests and benchmarks.
- OpenAI-compatible finetuning: :class:`OpenAIFinetuning` (files + ``fine_tuning/jobs``),
  :class:`FinetuneJob`; :class:`StubFinetuneServer` is a local one for tests.
- Messages with images: :func:`user_message`, :func:`image_part`, :func:`text_part`,
  :func:`image_data_url` (PIL images and PNG/JPEG files as data URLs), :func:`content_parts`.
- Local vision-language chat: :class:`HFVisionChat` (several image+text chats per
  ``generate``), :func:`load_hf_vlm`; :func:`tiny_qwen2_5_vl` / :func:`tiny_vlm` build a tiny
  random Qwen2.5-VL in code.
- Tiny random models built in code for tests: :func:`tiny_lm`, :func:`tiny_encoder`, ...
- LoRA training: :func:`train_lora_loop` (+ :class:`TrainSchedule`), the checkpointed loop every
  LoRA trainer uses; :func:`lora_sft` / :class:`LoraSFTConfig` finetune a causal LM on chats,
  :func:`load_lora_lm` loads the result.
- One-string specs: :func:`load_encoder`, :func:`load_causal_lm`, :func:`load_vision_chat`,
  :data:`MODEL_SPECS`; :func:`load_chat` (:data:`CHAT_SPECS`) gives any chat backend.
- Local chat: :meth:`HFCausalLM.generate_batch` (left-padded batches, per-row seeds, stop
  strings); :class:`LocalChat` puts a local LM behind :class:`ChatBackend` (and batches under
  :func:`complete_many`).
- Scores from a judge's first token: :func:`first_token_logprobs`,
  :func:`logprob_weighted_score` (probability-weighted 0-100 rating, arXiv 2502.17424).
"""

from __future__ import annotations

from alignlab.models._bundled import (
    WordLlamaEncoder,
    minilm,
    smollm2,
    smollm2_cache_dir,
    wordllama_encoder,
)
from alignlab.models._chat_batch import complete_many
from alignlab.models._content import (
    content_parts,
    image_data_url,
    image_part,
    message_images,
    message_text,
    text_part,
    user_message,
)
from alignlab.models._hf import (
    POOLINGS,
    FeatureBatch,
    HFCausalLM,
    HFEncoder,
    load_hf,
)
from alignlab.models._hf_vlm import HFVisionChat, decode_image, load_hf_vlm, render_chat
from alignlab.models._hub import (
    hub_client_offline,
    hub_kwargs,
    hub_load_error,
    hub_offline,
    hub_reachable,
)
from alignlab.models._local_chat import LocalChat
from alignlab.models._logprob_score import first_token_logprobs, logprob_weighted_score
from alignlab.models._lora_loop import (
    SCHEDULES,
    StepCallback,
    StepInfo,
    TrainResult,
    TrainSchedule,
    train_lora_loop,
)
from alignlab.models._lora_sft import LoraSFTConfig, load_lora_lm, lora_sft
from alignlab.models._openai import OpenAIChat
from alignlab.models._openai_finetune import FinetuneJob, OpenAIFinetuning
from alignlab.models._protocols import (
    CausalLM,
    ChatBackend,
    ChatRequest,
    ChatResult,
    Completion,
    ContentPart,
    ImagePart,
    Message,
    TextEncoder,
    TextPart,
    Usage,
)
from alignlab.models._specs import (
    CHAT_SPECS,
    MODEL_SPECS,
    ModelSpec,
    load_causal_lm,
    load_chat,
    load_encoder,
    load_vision_chat,
)
from alignlab.models._stub_finetune import StubFinetuneServer
from alignlab.models._stub_server import StubChatServer, StubReply
from alignlab.models._tiny import (
    tiny_causal_lm_model,
    tiny_encoder,
    tiny_encoder_model,
    tiny_lm,
    tiny_seq_classifier_model,
    tiny_tokenizer,
)
from alignlab.models._tiny_vlm import tiny_qwen2_5_vl, tiny_vlm, tiny_vlm_processor

__all__ = [
    "CHAT_SPECS",
    "MODEL_SPECS",
    "SCHEDULES",
    "POOLINGS",
    "CausalLM",
    "ChatBackend",
    "ChatRequest",
    "ChatResult",
    "Completion",
    "ContentPart",
    "FeatureBatch",
    "FinetuneJob",
    "HFCausalLM",
    "HFEncoder",
    "HFVisionChat",
    "ImagePart",
    "LocalChat",
    "LoraSFTConfig",
    "Message",
    "ModelSpec",
    "OpenAIChat",
    "OpenAIFinetuning",
    "StubChatServer",
    "StubFinetuneServer",
    "StepCallback",
    "StepInfo",
    "StubReply",
    "TextEncoder",
    "TrainResult",
    "TrainSchedule",
    "TextPart",
    "Usage",
    "WordLlamaEncoder",
    "complete_many",
    "content_parts",
    "decode_image",
    "first_token_logprobs",
    "hub_client_offline",
    "hub_offline",
    "hub_kwargs",
    "hub_load_error",
    "hub_reachable",
    "image_data_url",
    "image_part",
    "load_causal_lm",
    "load_chat",
    "load_encoder",
    "load_hf",
    "load_hf_vlm",
    "load_lora_lm",
    "lora_sft",
    "render_chat",
    "load_vision_chat",
    "logprob_weighted_score",
    "message_images",
    "message_text",
    "minilm",
    "smollm2",
    "smollm2_cache_dir",
    "text_part",
    "train_lora_loop",
    "tiny_causal_lm_model",
    "tiny_encoder",
    "tiny_encoder_model",
    "tiny_lm",
    "tiny_qwen2_5_vl",
    "tiny_seq_classifier_model",
    "tiny_tokenizer",
    "tiny_vlm",
    "tiny_vlm_processor",
    "user_message",
    "wordllama_encoder",
]
