"""Dataclass configs that are also a command's argument set (as TRL's configs are).

A field's ``metadata`` holds its ``help`` and, optionally, ``choices``, ``required`` and ``cli: False``
(kept out of the command line); ``lora_r`` becomes ``--lora-r``, ``False`` defaults become flags.

>>> import argparse
>>> from dataclasses import dataclass
>>> @dataclass
... class Demo:
...     max_retries: int = arg("retries per question", default=4)
...     dry_run: bool = arg("send nothing", default=False)
>>> parser = argparse.ArgumentParser()
>>> add_arguments(parser, Demo)
>>> from_args(Demo, parser.parse_args(["--max-retries", "2", "--dry-run"]))
Demo(max_retries=2, dry_run=True)
"""

from __future__ import annotations

import argparse
import dataclasses


def arg(help: str, **kw):
    """A dataclass field with its command-line help (and ``meta``: choices, required, cli)."""
    return dataclasses.field(metadata={"help": help, **kw.pop("meta", {})}, **kw)


def add_arguments(parser: argparse.ArgumentParser, cls) -> None:
    """One ``--option`` per field of ``cls``, help and default from the dataclass."""
    for f in dataclasses.fields(cls):
        meta = dict(f.metadata)
        if not meta.pop("cli", True) or "help" not in meta:
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.default is False:
            parser.add_argument(flag, action="store_true", help=meta["help"])
            continue
        kind = str(f.type).replace(" ", "").split("|")[0]  # annotations are strings here
        convert = {"int": int, "float": float}.get(kind, str)
        default = None if meta.get("required") else f.default
        shown = f" (default: {f.default})" if default not in (None, "") else ""
        parser.add_argument(flag, type=convert, default=default, required=meta.get("required", False),
                            choices=meta.get("choices"), help=meta["help"] + shown)


def from_args(cls, args: argparse.Namespace, **overrides):
    """The config from parsed arguments (fields the parser lacks keep their defaults)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return cls(**{**values, **overrides})
