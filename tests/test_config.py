import pytest

from qa import ConfigError, load_settings


def test_env_overrides(monkeypatch) -> None:
    monkeypatch.setenv("QA_ANSWER__MAX_CITATIONS", "2")
    monkeypatch.setenv("QA_RETRIEVAL__K", "7")
    s = load_settings()
    assert s.answer.max_citations == 2 and s.retrieval.k == 7


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("QA_ANSWER__MAX_CITATIONS", "0", "answer.max_citations"),
        ("QA_RETRIEVAL__K", "many", "retrieval.k"),
        ("QA_ANSWER__MODE", "poetry", "answer.mode"),
        ("QA_ANSWER__BOGUS", "1", "answer.bogus"),
    ],
)
def test_wrong_settings_are_one_clear_line(monkeypatch, name, value, message) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings()
    assert "\n" not in str(info.value)


def test_toml_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qa.toml").write_text('[retrieval]\nk = 9\n[index]\ndir = "elsewhere"\n')
    s = load_settings()
    assert s.retrieval.k == 9 and str(s.index.dir) == "elsewhere"
    (tmp_path / "qa.toml").write_text("[retrieval\nk = 9\n")
    with pytest.raises(ConfigError):
        load_settings()


def test_missing_config_file_named_by_env(monkeypatch) -> None:
    monkeypatch.setenv("QA_CONFIG", "/nonexistent/qa.toml")
    with pytest.raises(ConfigError, match="QA_CONFIG"):
        load_settings()
