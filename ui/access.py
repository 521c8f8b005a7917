"""Who may do what: readers ask questions; admins add and remove articles.

Keys come from the settings and from key files (one per line, ``#`` starts a comment). A key a
client presents (``Authorization: Bearer KEY``, or the password of the login form at ``/admin``)
is hashed and compared with the hash of every configured key with ``hmac.compare_digest``, without
stopping at the first match, so the time taken reveals neither which key matched nor how much of
one did. Keys are never logged or echoed: a client holding a key is known by a short hash of it.

Writing is in one of three states (``Access.writes``):
- ``open``: no admin keys, and the server listens only on a loopback address with no proxy in
  front (``access.anonymous_writes = "loopback"``): a person's own machine, as with ``make run``.
- ``keys``: admin keys are configured; writing needs one.
- ``off``: anything else, e.g. a public address without keys. Nobody can add articles.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from qa import ConfigError, Settings
from qa.config import MIN_KEY_CHARS

Role = Literal["admin", "reader"]
Writes = Literal["open", "keys", "off"]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def key_id(key: str) -> str:
    """How logs and rate limits name a key holder: never the key itself."""
    return "key-" + hashlib.sha256(b"qa-client|" + key.encode("utf-8")).hexdigest()[:12]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def read_key_file(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the key file {path}: {exc.strerror or exc}") from None
    keys = [line.split("#", 1)[0].strip() for line in lines]
    keys = [k for k in keys if k]
    if any(len(k) < MIN_KEY_CHARS for k in keys):
        raise ConfigError(f"the key file {path} has a key shorter than {MIN_KEY_CHARS} characters")
    return keys


def bearer(headers: Mapping[str, str]) -> str | None:
    """The key of an ``Authorization: Bearer KEY`` header, if there is one."""
    value = headers.get("authorization") or ""
    scheme, _, key = value.partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


@dataclass(frozen=True)
class Access:
    admin: tuple[bytes, ...]
    reader: tuple[bytes, ...]
    writes: Writes

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        a = settings.access
        admin = [k.get_secret_value() for k in a.admin_keys]
        reader = [k.get_secret_value() for k in a.reader_keys]
        if a.admin_keys_file:
            admin += read_key_file(a.admin_keys_file)
        if a.reader_keys_file:
            reader += read_key_file(a.reader_keys_file)
        server = settings.server
        local = is_loopback(server.host) and server.proxy_hops == 0
        writes: Writes = "keys" if admin else (
            "open" if local and a.anonymous_writes == "loopback" else "off")
        return cls(tuple(map(_digest, admin)), tuple(map(_digest, reader)), writes)

    @property
    def private(self) -> bool:
        """Reader keys are set: asking needs a key too."""
        return bool(self.reader)

    def role(self, key: str | None) -> Role | None:
        """``admin`` or ``reader`` for a configured key; None for a missing or unknown one."""
        if not key:
            return None
        presented = _digest(key)
        is_admin = _matches(presented, self.admin)
        is_reader = _matches(presented, self.reader)
        return "admin" if is_admin else "reader" if is_reader else None

    def may_read(self, key: str | None) -> bool:
        return not self.private or self.role(key) is not None

    def may_write(self, key: str | None) -> bool:
        return self.writes == "open" or (self.writes == "keys" and self.role(key) == "admin")

    def check_password(self, keys: Literal["admin", "any"], password: str) -> bool:
        """For Gradio's login form: is ``password`` an admin key (or any key)?"""
        role = self.role(password)
        return role == "admin" or (keys == "any" and role is not None)


def _matches(presented: bytes, known: Iterable[bytes]) -> bool:
    found = False
    for k in known:  # no early exit: every key is compared
        found |= hmac.compare_digest(presented, k)
    return found
