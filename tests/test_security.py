"""Nothing that can execute code is loaded from disk: no pickle (or its relatives) in the code,
and none unpickled at run time while indexing, loading the models and answering."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SEED_ARTICLE

# Formats and calls that can run code while loading.
DANGEROUS = re.compile(
    r"\b(import pickle|from pickle|cPickle|pickle\.loads?|Unpickler|dill|cloudpickle|joblib|shelve|"
    r"marshal\.loads?|torch\.load|allow_pickle\s*=\s*True|yaml\.load\(|yaml\.unsafe_load|"
    r"allow_dangerous_deserialization|eval\(|exec\()"
)


def source_files() -> list[Path]:
    return [p for folder in ("qa", "ui") if (ROOT / folder).is_dir()
            for p in sorted((ROOT / folder).rglob("*.py"))]


def test_no_code_executing_format_in_the_source() -> None:
    offenders = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
                 for p in source_files()
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
                 if DANGEROUS.search(line) and not line.lstrip().startswith("#")]
    assert not offenders, offenders


# Records every unpickling, wherever it comes from (our code or a library's), through the
# interpreter's audit hook (pickle.find_class) and by wrapping pickle's module functions.
AUDIT = """
import pickle, sys, traceback, warnings
seen = []
def hook(event, args):
    if event == "pickle.find_class":
        seen.append(f"{event} {args[:2]}")
sys.addaudithook(hook)
for name in ("load", "loads"):
    original = getattr(pickle, name)
    def wrapped(*a, _o=original, _n=name, **k):
        seen.append("pickle." + _n + " " + "".join(traceback.format_stack(limit=6)))
        return _o(*a, **k)
    setattr(pickle, name, wrapped)
warnings.simplefilter("ignore")
from pathlib import Path
from qa import Assistant, Index, index_paths, load_settings
settings = load_settings(index={"dir": Path(sys.argv[1])})
index_paths([Path(sys.argv[2])], settings)
assistant = Assistant(settings).warm_up()
assert assistant.ask("Who chaired the meeting?").citations
Index.open(settings).rebuild_vectors()
Assistant(settings).ask("How many military planners?")
assert not seen, seen
print("no unpickling")
"""


def run_audited(tmp_path: Path, model: str | None) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    if model:
        env["QA_EMBEDDING__MODEL"] = model
    out = subprocess.run([sys.executable, "-c", AUDIT, str(tmp_path / "index"), str(SEED_ARTICLE)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "no unpickling" in out.stdout, out.stderr[-3000:]


def test_nothing_is_unpickled_at_run_time(tmp_path) -> None:
    run_audited(tmp_path, "fake-hash")


@pytest.mark.integration
def test_nothing_is_unpickled_with_the_real_models(tmp_path) -> None:
    run_audited(tmp_path, None)
