"""Secrets: which names hold one, and masking their values in anything shown or written.

The value of every environment variable whose name contains KEY, TOKEN, SECRET or
PASSWORD (``WANDB_API_KEY`` included), and every configuration value under such a name,
is masked as ``***`` in error messages, warnings, logs, run files and job scripts
(:func:`redact` for structures, :func:`scrub` for free text). A low-level module: it imports
nothing of SUPREME, so every layer may use it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MASK", "SECRET_WORDS", "is_secret_name", "redact", "remember_secrets", "scrub",
           "secret_values"]

#: Names (of environment variables or configuration keys) holding a secret contain one of these.
SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
MASK = "***"
#: Values too short or too common to be searched for in free text (they are still masked
#: when they sit under a secret name in a mapping); otherwise scrubbing the value "false"
#: of TOKENIZERS_PARALLELISM would mangle every message.
_MIN_SECRET_LENGTH = 6
_NOT_SECRET = frozenset({"false", "true", "none", "null", "disabled", "enabled", "offline",
                         "online"})


def is_secret_name(name: str) -> bool:
    """Whether a variable or key named ``name`` holds a secret (case-insensitive)."""
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def secret_values(*sources: Mapping[str, Any], environ: Mapping[str, str] | None = None
                  ) -> frozenset[str]:
    """The secret strings to search for in free text.

    From the environment (``os.environ`` unless ``environ``): the values of variables
    with a secret name. From each mapping in ``sources`` (e.g. a config dump): every
    string under a secret key, at any depth.
    """
    found: set[str] = set()
    env = os.environ if environ is None else environ
    found.update(value for name, value in env.items() if is_secret_name(name))
    if environ is None:
        found.update(_REMEMBERED)

    def walk(node: Any, secret: bool) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, secret or is_secret_name(str(key)))
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value, secret)
        elif secret and isinstance(node, str):
            found.add(node)

    for source in sources:
        walk(source, False)
    return frozenset(v for v in found
                     if len(v.strip()) >= _MIN_SECRET_LENGTH and v.strip().lower() not in _NOT_SECRET)


#: secret values of the experiment this process loaded (:func:`remember_secrets`)
_REMEMBERED: set[str] = set()
#: ``NAME=VALUE`` in free text where NAME looks like a credential (``--set a.api_key=...``,
#: ``export=ALL,WANDB_API_KEY=...`` in ``slurm.extra``): the value is masked
_ASSIGNMENT = re.compile(r"([A-Za-z0-9_.\-]*(?:KEY|TOKEN|SECRET|PASSWORD)[A-Za-z0-9_.\-]*\s*=\s*)"
                         r"(\"[^\"]*\"|'[^']*'|[^\s,;&'\"]+)", re.IGNORECASE)


def remember_secrets(*sources: Mapping[str, Any]) -> None:
    """Remember the secret values of ``sources`` (a loaded experiment) for the rest of the
    process, so error messages and warnings never show them."""
    _REMEMBERED.update(secret_values(*sources, environ={}))


def scrub(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every occurrence of a secret value, and every value assigned to a
    secret-looking name (``API_KEY=...``), replaced by ``***``."""
    text = _ASSIGNMENT.sub(lambda m: m.group(1) + MASK, text)
    for secret in sorted(secret_values() if secrets is None else secrets, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(obj: Any, secrets: Iterable[str] | None = None) -> Any:
    """A copy of ``obj`` safe to log.

    In mappings (at any depth, lists included) the value of every key whose name contains
    KEY, TOKEN, SECRET or PASSWORD becomes ``***`` (``None`` stays ``None``); every other
    string has the known secret values (:func:`secret_values` of the environment, unless
    ``secrets`` is given) replaced by ``***``. Tuples become lists.
    """
    known = frozenset(secret_values() if secrets is None else secrets)

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {key: (MASK if is_secret_name(str(key)) and value is not None else walk(value))
                    for key, value in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(value) for value in node]
        if isinstance(node, str):
            return scrub(node, known)
        return node

    return walk(obj)
