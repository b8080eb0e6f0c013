from __future__ import annotations

import subprocess
import sys

import alignlab.judge as judge


def test_every_public_name_resolves() -> None:
    assert all(getattr(judge, name) is not None for name in judge.__all__)
    assert {"Pair", "swapped", "load_pairs", "GoldChain", "write_bench"} <= set(judge.__all__)
    assert {"run_train", "run_sft", "FormatError", "underlying_preference"} <= set(judge.__all__)


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, alignlab.judge\n"
        "print(sorted(m for m in ('PIL', 'numpy', 'alignlab.models') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
