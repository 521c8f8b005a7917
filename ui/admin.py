"""Adding and removing articles over HTTP, for admins (``ui.access``).

    POST   /api/articles        application/json: one article {"text", "title"?, "date"?, "source"?,
                                "id"?, "url"?}, a list of them, or {"articles": [...]};
                                multipart/form-data: files in the field "file" (.txt .md .html .jsonl)
                                -> 200 {"indexed": [id], "skipped": [{"id", "reason"}], "refused": [why]}
    DELETE /api/articles/{id}   -> 200 {"removed": [id]}; 404 for an unknown id

Articles sent as JSON are kept as one articles JSONL file in the upload folder, uploads under
their (made safe) names, like the page's; both count against ``server.upload_dir_max_mb``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from qa import InputError, QAError
from ui.api import admin_refusal, error, qa_error
from ui.site import Site

MAX_FILES = 100


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    title: str | None = Field(None, max_length=1000)
    date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    source: str | None = Field(None, max_length=200)
    id: str | None = Field(None, min_length=1, max_length=200)
    url: str | None = Field(None, max_length=2000)


class ArticlesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    articles: list[ArticleIn] = Field(min_length=1, max_length=1000)


_BODY: TypeAdapter[ArticleIn | ArticlesIn | list[ArticleIn]] = TypeAdapter(
    ArticleIn | ArticlesIn | list[ArticleIn])


def parse_articles(body: Any) -> list[dict[str, Any]]:
    """The JSON body as article rows; InputError naming the first problem."""
    try:
        parsed = _BODY.validate_python(body)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "body"
        raise InputError(f"{where}: {first['msg']}") from None
    items = parsed.articles if isinstance(parsed, ArticlesIn) else (
        parsed if isinstance(parsed, list) else [parsed])
    if not items:
        raise InputError("no articles in the body")
    return [a.model_dump(exclude_none=True) for a in items]


def admin_routes(app: FastAPI, site: Site) -> None:
    service = site.service

    @app.post("/api/articles")
    async def add_articles(request: Request) -> Any:
        refused = admin_refusal(site, request)  # before the body is read
        if refused:
            return refused
        kind = request.headers.get("content-type", "")
        try:
            if kind.startswith("multipart/form-data"):
                return await _upload(request, site)
            if kind.startswith("application/json"):
                try:
                    body = await request.json()
                except ValueError:
                    return error(400, "the body is not valid JSON")
                return await run_in_threadpool(service.add_rows, parse_articles(body))
        except InputError as exc:
            return error(400, str(exc))
        except QAError as exc:
            return qa_error(exc)
        return error(415, "send application/json (articles) or multipart/form-data (files in field 'file')")

    @app.delete("/api/articles/{article_id}")
    def remove_article(article_id: str, request: Request) -> Any:
        refused = admin_refusal(site, request)
        if refused:
            return refused
        try:
            return {"removed": service.remove(article_id)}
        except InputError as exc:
            return error(404, str(exc))
        except QAError as exc:
            return qa_error(exc)


async def _upload(request: Request, site: Site) -> Any:
    async with request.form(max_files=MAX_FILES, max_fields=10) as form:
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        if not files:
            return error(400, "no file: send the files in the multipart field 'file'")
        uploads = [(f.file, f.filename or "upload.txt") for f in files]
        return await run_in_threadpool(site.service.add_streams, uploads)
