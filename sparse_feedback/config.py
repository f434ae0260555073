"""Dataclass configs that are also a command's arguments (as TRL's configs): one ``--option`` per field.

A field declared with :func:`arg` carries its help (and optionally ``required``, ``choices``, ``cli=False``);
:func:`add_arguments` turns the fields into options and :func:`from_args` reads them back.

>>> import argparse
>>> from dataclasses import dataclass
>>> @dataclass
... class Demo:
...     max_len: int = arg("tokens", default=8)
...     fast: bool = arg("go fast", default=False)
>>> parser = argparse.ArgumentParser()
>>> add_arguments(parser, Demo)
>>> from_args(Demo, parser.parse_args(["--max-len", "4", "--fast"]))
Demo(max_len=4, fast=True)
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import field


def arg(help: str, **kw):
    """A dataclass field with its CLI help; ``meta`` holds ``required``, ``choices`` or ``cli=False``."""
    return field(metadata={"help": help, **kw.pop("meta", {})}, **kw)


def add_arguments(parser: argparse.ArgumentParser, cls, skip: tuple[str, ...] = ()) -> None:
    """One ``--option`` per field of ``cls`` (``lora_r`` → ``--lora-r``), help and default from the dataclass."""
    for f in dataclasses.fields(cls):
        meta = dict(f.metadata)
        if not meta.pop("cli", True) or f.name in skip or "help" not in meta:
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.default is False:
            parser.add_argument(flag, action="store_true", help=meta["help"])
            continue
        convert = {"int": int, "float": float, "int | None": int}.get(f.type, str)  # annotations are strings
        default = None if meta.get("required") else f.default
        shown = f" (default: {f.default})" if default not in (None, "") else ""
        parser.add_argument(flag, type=convert, default=default, required=meta.get("required", False),
                            choices=meta.get("choices"), help=meta["help"] + shown)


def from_args(cls, args: argparse.Namespace, **overrides):
    """An instance of ``cls`` from the parsed options that name its fields (``overrides`` win)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return cls(**{**values, **overrides})
