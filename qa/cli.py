"""The `qa` command: thin adapters over the public API. Each command parses, calls one library
function and prints. Only QAError subclasses become clean one-line messages (exit code 1);
anything else is a bug and keeps its traceback."""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

DEFAULT_SEEDS = Path("seeds")


def _settings(index_dir: Path | None = None, **sections: dict) -> Any:
    from qa import load_settings

    overrides: dict[str, dict] = {k: v for k, v in sections.items() if v}
    if index_dir is not None:
        overrides.setdefault("index", {})["dir"] = index_dir
    return load_settings(**overrides)


def handle_errors(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from qa.errors import QAError

        try:
            return func(*args, **kwargs)
        except QAError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper


index_dir_option = click.option(
    "--index-dir", type=click.Path(path_type=Path), default=None,
    help="Index directory (default: index/, or QA_INDEX__DIR).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qa", prog_name="qa")
def main() -> None:
    """Answer questions about news articles, citing the sentences that support each answer."""


# ------------------------------------------------------------------ index


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@index_dir_option
@click.option("--rebuild", is_flag=True, help="Build a fresh index and swap it in when complete.")
@click.option("--rebuild-vectors", is_flag=True, help="Rebuild only the FAISS file from stored vectors.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="Read, split and embed on a Ray cluster (pip install -e '.[ray]'): at ADDRESS "
                   "(auto, ray://host:10001), or a local one when none is given. Put PATHS first.")
@click.option("--workers", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="Encoder actors with --ray.")
@handle_errors
def index(paths: tuple[Path, ...], index_dir: Path | None, rebuild: bool, rebuild_vectors: bool,
          quiet: bool, ray_address: str | None, workers: int) -> None:
    """Index .txt, .md, .html and articles .jsonl files or folders (default: seeds/)."""
    from qa import Index, InputError, index_paths

    settings = _settings(index_dir)
    if rebuild_vectors:
        if settings.store.backend != "sqlite":
            raise InputError("--rebuild-vectors is for the embedded store; PostgreSQL keeps the "
                             "vectors in its tables (REINDEX rebuilds an index there)")
        count = Index.open(settings).rebuild_vectors()
        click.echo(f"rebuilt the vector file of {settings.index.dir}/ from {count} stored chunk vectors")
        return
    if ray_address is not None:
        report = _index_with_ray(list(paths) or [DEFAULT_SEEDS], settings, ray_address, workers, rebuild)
    else:
        with _ProgressBar(disabled=quiet) as bar, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # library chatter; our own warnings are in the report
            report = index_paths(list(paths) or [DEFAULT_SEEDS], settings, progress=bar.update,
                                 rebuild=rebuild)
    for line in report.errors:
        click.echo(f"skipped: {line}", err=True)
    for line in report.duplicates:
        click.echo(f"duplicate: {line}", err=True)
    click.echo(report.summary())
    if report.errors:
        sys.exit(1)


def _index_with_ray(paths: list[Path], settings: Any, address: str, workers: int, rebuild: bool) -> Any:
    from qa import InputError
    from qa.store.ray_indexer import index_paths_ray

    if address != "local" and Path(address).exists():
        raise InputError(f"--ray took {address!r} as the cluster address; put the paths before --ray, "
                         "or write --ray=ADDRESS")
    if rebuild:
        raise InputError("--rebuild is not available with --ray; rebuild without --ray, then add with it")
    return index_paths_ray(paths, settings, address=None if address == "local" else address,
                           workers=workers)


class _ProgressBar:
    """A tqdm bar over articles with sentence and chunk rates, on stderr."""

    def __init__(self, disabled: bool) -> None:
        self.disabled = disabled or not sys.stderr.isatty()
        self._bar = None

    def __enter__(self) -> _ProgressBar:
        return self

    def update(self, state: Any) -> None:
        if self.disabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=state.articles_total, unit="article", file=sys.stderr)
        assert self._bar is not None
        secs = max(state.seconds, 1e-9)
        self._bar.n = state.articles
        self._bar.set_postfix_str(
            f"{state.sentences / secs:.0f} sentences/s, {state.chunks / secs:.0f} chunks/s"
        )

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()


# ------------------------------------------------------------------ ask / chat


def _ask_options(func: Callable) -> Callable:
    options = [
        index_dir_option,
        click.option("-k", type=int, default=None, help="Chunks to retrieve (default 5)."),
        click.option("--mode", type=click.Choice(["extractive", "llm"]), default=None,
                     help="Answerer (default: extractive)."),
        click.option("--source", default=None, help="Only articles from this source."),
        click.option("--date-from", default=None, help="Only articles dated on or after YYYY-MM-DD."),
        click.option("--date-to", default=None, help="Only articles dated on or before YYYY-MM-DD."),
        click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
                     help="The date the question is asked on (default: today): 'this week' and "
                          "'on Friday' are read against it, and later articles are not used."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _filters(source: str | None, date_from: str | None, date_to: str | None) -> dict | None:
    filters = {"source": source, "date_from": date_from, "date_to": date_to}
    return filters if any(filters.values()) else None


def _assistant(index_dir: Path | None) -> Any:
    from qa import Assistant

    return Assistant(_settings(index_dir))


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@_ask_options
@handle_errors
def ask(question: str, as_json: bool, index_dir: Path | None, k: int | None, mode: str | None,
        source: str | None, date_from: str | None, date_to: str | None, as_of: str | None) -> None:
    """Answer QUESTION from the indexed articles, with cited sentences."""
    from qa import check_question, parse_as_of

    settings = _settings(index_dir)
    check_question(question, settings)  # fail fast, before loading any model
    day = parse_as_of(as_of)
    answer = _assistant(index_dir).warm_up(mode).ask(question, k=k, mode=mode, as_of=day,
                                       filters=_filters(source, date_from, date_to))
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_answer(answer))


def format_answer(answer: Any) -> str:
    note = [f"({answer.note})"] if answer.note else []
    check = format_source_check(answer.sources)
    differ = [check] if check else []
    as_of = [answer.extra["as_of_note"]] if answer.extra.get("as_of_note") else []
    return "\n".join([*note, answer.text, *as_of, *differ, *format_sources(answer)])


def format_sources(answer: Any) -> list[str]:
    lines = [""] if answer.citations else []
    for c in answer.citations:
        kind = " (photo caption)" if c.is_caption else ""
        dated = f", {c.date}" if c.date else ""
        lines.append(f"[{c.n}] {c.sentence}")
        lines.append(f"    — {c.title}{dated}{kind}; {c.article_id} chars {c.start}-{c.end}")
        if c.also_in:
            noun = "article" if len(c.also_in) == 1 else "articles"
            lines.append(f"    also in {len(c.also_in)} other {noun}: {', '.join(c.also_in)}")
    return lines


def format_source_check(sources: Any) -> str:
    """One line on what independent sources say (see qa.answer.consensus); "" for one source."""
    if sources is None:
        return ""

    def count(n: int) -> str:
        return f"{n} source" if n == 1 else f"{n} sources"

    if sources.status == "disagree":
        others = "; ".join(f"{d.answer}: {count(d.sources)}" for d in sources.disagree)
        return f"(sources differ — this answer: {count(sources.agree)}; {others})"
    if sources.status == "updated":
        earlier = "; ".join(f"{d.answer} on {d.date}" for d in sources.earlier)
        return f"(updated figure: the latest as of the question's date; earlier {earlier})"
    if sources.status == "agree":
        return f"({sources.agree} independent sources agree)"
    return ""


@main.command()
@_ask_options
@handle_errors
def chat(index_dir: Path | None, k: int | None, mode: str | None, source: str | None,
         date_from: str | None, date_to: str | None, as_of: str | None) -> None:
    """A terminal chat; follow-up questions use the conversation so far (default mode:
    answer.chat_mode, llm when it is installed)."""
    from qa import InputError, default_chat_mode, parse_as_of

    day = parse_as_of(as_of)
    assistant = _assistant(index_dir)
    mode = mode or default_chat_mode(assistant.settings)
    assistant.warm_up(mode)
    history: list[dict[str, str]] = []
    click.echo("Ask about the indexed articles. Empty line or Ctrl-D to quit.")
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question:
            break
        try:
            click.echo("qa> ", nl=False)
            final, streamed = None, ""
            for kind, value in assistant.stream(question, history, k=k, mode=mode, as_of=day,
                                                filters=_filters(source, date_from, date_to)):
                if kind == "token":
                    streamed += value
                    click.echo(value, nl=False)
                elif kind == "answer":
                    final = value
            assert final is not None
            if not streamed.strip().endswith(final.text.strip()):  # the checks changed it
                click.echo(f"\nchecked answer: {final.text}", nl=False)
            click.echo("\n" + "\n".join(format_sources(final)).lstrip("\n"))
        except InputError as exc:
            click.echo(f"Error: {exc}", err=True)
            continue
        history += [{"role": "user", "content": question},
                    {"role": "assistant", "content": final.text}]


# ------------------------------------------------------------------ eval


@main.command(name="eval")
@click.argument("dataset", required=False, type=click.Path(path_type=Path))
@index_dir_option
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default=None,
              help="Answerer (default: extractive).")
@click.option("-k", type=click.IntRange(1, 100), default=None, help="Chunks to retrieve (default 5).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), default=None,
              help="Write report.md, report.json, questions.jsonl and report.png here.")
@click.option("--compare", nargs=2, type=click.Path(path_type=Path), default=None,
              metavar="A.json B.json", help="Print two saved runs side by side instead.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@handle_errors
def eval_(dataset: Path | None, index_dir: Path | None, mode: str | None, k: int | None, as_json: bool,
          report_dir: Path | None, compare: tuple[Path, Path] | None, quiet: bool) -> None:
    """Score answers on DATASET.jsonl (question, answers[, article_id, article_text])."""
    from qa import (
        format_eval_comparison,
        format_eval_summary,
        load_eval_metrics,
        run_eval,
        write_eval_report,
    )

    if compare:
        a, b = (load_eval_metrics(p) for p in compare)
        click.echo(format_eval_comparison(a, b, (compare[0].name if compare[0].name != compare[1].name
                                                  else str(compare[0]), str(compare[1]))))
        return
    if dataset is None:
        raise click.UsageError("give a DATASET.jsonl to evaluate, or --compare A.json B.json")
    with _EvalBar(disabled=quiet or as_json) as bar, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_eval(dataset, _settings(index_dir), mode=mode, k=k, progress=bar.update)
    if report_dir is not None:
        write_eval_report(result, report_dir)
    if as_json:
        click.echo(json.dumps(result.summary(), ensure_ascii=False))
        return
    click.echo(format_eval_summary(result.metrics))
    if report_dir is not None:
        click.echo(f"report written to {report_dir}/ (report.md, report.json, questions.jsonl, report.png)")


class _EvalBar:
    """One tqdm bar per stage (indexing the dataset's articles, asking), with an ETA, on stderr."""

    def __init__(self, disabled: bool) -> None:
        self.disabled = disabled
        self._bar: Any = None
        self._stage = ""

    def __enter__(self) -> _EvalBar:
        return self

    def update(self, stage: str, done: int, total: int) -> None:
        if self.disabled:
            return
        if stage != self._stage:
            from tqdm import tqdm

            self.__exit__()
            unit = "article" if stage == "index" else "question"
            desc = "indexing" if stage == "index" else "asking"
            self._bar = tqdm(total=total, initial=done, unit=unit, desc=desc, file=sys.stderr)
            self._stage = stage
        self._bar.update(done - self._bar.n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


# ------------------------------------------------------------------ serve


@main.command()
@index_dir_option
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1; QA_SERVER__HOST).")
@click.option("--port", type=int, default=None, help="Port (default 7860; QA_SERVER__PORT).")
@click.option("--root-path", default=None,
              help="Public URL prefix behind a reverse proxy, e.g. /qa (QA_SERVER__ROOT_PATH).")
@handle_errors
def serve(index_dir: Path | None, host: str | None, port: int | None, root_path: str | None) -> None:
    """Start the web app: the chat page at / and the HTTP API at /api (see the README)."""
    from ui.server import serve as run_server

    given = {"host": host, "port": port, "root_path": root_path}
    settings = _settings(index_dir, server={k: v for k, v in given.items() if v is not None})
    from qa.store.protocol import describe

    click.echo(f"Loading the index in {describe(settings)} and the models…", err=True)
    run_server(settings, on_ready=lambda url, secs: click.echo(
        f"Ready in {secs:.1f}s: {url}/ (chat), {url}/api/ask (HTTP API). Ctrl-C to stop.", err=True))


# ------------------------------------------------------------------ info / remove


@main.command()
@index_dir_option
@click.option("--articles", is_flag=True, help="Also list the indexed articles.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@handle_errors
def info(index_dir: Path | None, articles: bool, as_json: bool) -> None:
    """Show what the index holds."""
    from qa import open_store

    index = open_store(_settings(index_dir))
    try:
        data = index.info()
        if articles:
            data["article_list"] = index.articles()
    finally:
        index.close()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        if key == "article_list":
            continue
        shown = f"{value / 1e6:.2f} MB" if key == "size_bytes" else value
        click.echo(f"{key.replace('_', ' ')}: {shown}")
    for row in data.get("article_list", []):
        copy = f"  (copy in story {row['story']})" if row.get("story") not in (None, row["id"]) else ""
        click.echo(f"  {row['id']}  {row['title']}  {row['date'] or ''}{copy}")


@main.command()
@click.argument("ids", nargs=-1, required=True)
@index_dir_option
@handle_errors
def remove(ids: tuple[str, ...], index_dir: Path | None) -> None:
    """Remove articles (their rows and vectors) by id."""
    from qa import remove_articles

    removed = remove_articles(list(ids), _settings(index_dir))
    click.echo(f"removed {len(removed)} article(s): {', '.join(removed)}")


if __name__ == "__main__":
    main()
