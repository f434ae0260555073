"""The Hugging Face Hub as a source and a destination, through ``datasets`` and ``huggingface_hub`` only.

Pull: ``hf://datasets/OWNER/NAME[/CONFIG][@REVISION][:SPLIT]`` wherever a table is read (:func:`read_frame`).
Push: a set of files as one commit (:func:`push_files`): the repo and branch are created when missing, a file the
Hub already holds is not sent again, and a push that changes nothing makes no commit (``changed`` is False).
Every Hub or network failure becomes one :class:`~sparse_feedback.errors.InputError` line naming the repo.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

PREFIX = "hf://datasets/"
_URI = re.compile(r"hf://datasets/(?P<repo>[\w.-]+/[\w.-]+)(?:/(?P<config>[\w.-]+))?(?:@(?P<rev>[^:]+))?"
                  r"(?::(?P<split>[\w.-]+))?")
FORM = "hf://datasets/OWNER/NAME[/CONFIG][@REVISION][:SPLIT]"
GATED = "is gated: accept its conditions on the Hub, then set HF_TOKEN to your token"
TOKEN_HELP = "set HF_TOKEN to a token that can write there (or run `hf auth login`)"


@dataclass(frozen=True)
class HubTable:
    """One split of a Hub dataset: ``hf://datasets/OWNER/NAME[/CONFIG][@REVISION][:SPLIT]``.

    >>> HubTable.parse("hf://datasets/hbXNov/sparse_feedback/rankings@main:train")
    HubTable(repo_id='hbXNov/sparse_feedback', revision='main', split='train', config='rankings')
    >>> HubTable.parse("hf://datasets/me/fb").split is None, HubTable.parse("data/fb.csv")
    (True, None)
    """

    repo_id: str
    revision: str | None = None
    split: str | None = None
    config: str | None = None

    @classmethod
    def parse(cls, text) -> "HubTable | None":
        """The address in ``text``, None when ``text`` is not one (a local path)."""
        text = str(text).strip()
        if not text.startswith("hf://"):
            return None
        match = _URI.fullmatch(text)
        if match is None:
            from sparse_feedback.errors import InputError

            raise InputError(text, f"not a Hub dataset address: write {FORM}")
        return cls(match["repo"], match["rev"], match["split"], match["config"])

    def __str__(self) -> str:
        return (PREFIX + self.repo_id + (f"/{self.config}" if self.config else "")
                + (f"@{self.revision}" if self.revision else "") + (f":{self.split}" if self.split else ""))


def is_hub(text) -> bool:
    """True for an ``hf://`` address (checked in full when it is read)."""
    return str(text).strip().startswith("hf://")


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


@contextlib.contextmanager
def hub_errors(target: str, pushing: bool = False):
    """Hub and network failures inside become one InputError line naming ``target`` (the repo or address)."""
    from huggingface_hub import errors as hf

    from sparse_feedback.errors import InputError

    try:
        yield
    except InputError:
        raise
    except hf.GatedRepoError:
        raise InputError(target, GATED) from None
    except hf.RevisionNotFoundError:
        raise InputError(target, "no such revision (branch, tag or commit) on the Hub") from None
    except hf.RepositoryNotFoundError:
        hint = TOKEN_HELP if pushing else "or it is private: set HF_TOKEN to a token that can read it"
        raise InputError(target, f"no such repository on the Hub ({hint})") from None
    except hf.HfHubHTTPError as err:
        status = getattr(err.response, "status_code", None)
        if status == 401:
            raise InputError(target, f"the Hub refused the token (401): {TOKEN_HELP}") from None
        if status == 403:
            raise InputError(target, f"this token may not write there (403): {TOKEN_HELP}") from None
        raise InputError(target, f"the Hub answered {status}: {_first_line(err)}") from None
    except (*_transport_errors(), ConnectionError, TimeoutError) as err:
        what = "the push was cut off; run the same command again (nothing is committed twice)" if pushing else \
            "could not read from the Hub"
        raise InputError(target, f"lost the connection to {_endpoint()} ({type(err).__name__}): {what}") from None


def _transport_errors() -> tuple[type[Exception], ...]:
    """The HTTP clients' connection errors (huggingface_hub has moved between httpx and its fork httpx2)."""
    import importlib

    found = []
    for name in ("httpx2", "httpx", "requests"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found.append(getattr(module, "TransportError", None) or getattr(module, "ConnectionError"))
    return tuple(found)


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


# ---------------------------------------------------------------- pull

def read_frame(address):
    """The rows of a Hub dataset split as a DataFrame, read with ``datasets.load_dataset``.

    No split named: ``train`` if there is one, else the first. Errors name the address (and the splits there are).
    """
    import datasets
    from datasets import exceptions as ds_errors

    from sparse_feedback.errors import InputError

    table = address if isinstance(address, HubTable) else HubTable.parse(address)
    where = str(table)
    with hub_errors(where):
        try:
            splits = datasets.get_dataset_split_names(table.repo_id, table.config, revision=table.revision)
            split = table.split or ("train" if "train" in splits else splits[0])
            if split not in splits:
                raise InputError(where, f"no split {split!r} (splits: {', '.join(splits)})")
            frame = datasets.load_dataset(table.repo_id, table.config, revision=table.revision,
                                          split=split).to_pandas()
        except ds_errors.DatasetNotFoundError as err:
            missing = "no such dataset on the Hub (or it is private: set HF_TOKEN to a token that can read it)"
            raise InputError(where, GATED if "gated" in str(err) else missing) from None
        except (ds_errors.DataFilesNotFoundError, ds_errors.DatasetBuildError, ValueError) as err:
            raise InputError(where, f"could not load the dataset ({type(err).__name__}: {_first_line(err)})") from None
    # errors name the split that was read
    frame.attrs["address"] = str(HubTable(table.repo_id, table.revision, split, table.config))
    return frame


def fetch_table(address, directory) -> Path:
    """The split saved as a parquet file in ``directory`` (for the import job, which reads a local file)."""
    table = address if isinstance(address, HubTable) else HubTable.parse(address)
    frame = read_frame(table)
    path = Path(directory) / (re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{table.repo_id}_{table.config or ''}_"
                                                                f"{table.split or 'train'}")
                              + ".parquet")
    frame.to_parquet(path, index=False)
    return path


# ---------------------------------------------------------------- push

@dataclass(frozen=True)
class PushResult:
    url: str  # the repo's page
    commit: str  # the head commit after the push
    changed: bool  # False: the Hub already held exactly these files, no commit was made

    def line(self, what: str) -> str:
        if not self.changed:
            return f"{what}: unchanged on the Hub ({self.url}, commit {self.commit[:8]}); nothing was committed"
        return f"pushed {what} to {self.url} (commit {self.commit[:8]})"


def parquet_bytes(frame) -> bytes:
    """A frame as one parquet shard, written by ``datasets`` (its features kept in the file)."""
    import datasets
    from datasets.utils import logging as ds_logging

    buffer = io.BytesIO()
    shown = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()  # a one-row-group write: no bar on the console
    try:
        datasets.Dataset.from_pandas(frame.reset_index(drop=True), preserve_index=False).to_parquet(buffer)
    finally:
        if shown:
            ds_logging.enable_progress_bar()
    return buffer.getvalue()


def token_or_fail(repo_id: str, token: str | None = None) -> str:
    """The token to push with: ``token``, else ``HF_TOKEN`` or the one saved by ``hf auth login``."""
    from huggingface_hub import get_token

    from sparse_feedback.errors import InputError

    token = token or get_token()
    if not token:
        raise InputError(repo_id, f"no Hugging Face token: {TOKEN_HELP}")
    return token


def push_files(repo_id: str, files: dict[str, bytes | Path], *, repo_type: str = "dataset", message: str,
               private: bool = False, revision: str | None = None, token: str | None = None,
               replace_under: str | None = None) -> PushResult:
    """Commit ``files`` ({path in repo: bytes or a local file}) to ``repo_id`` in one commit.

    ``replace_under``: files under this folder on the Hub that are not in ``files`` are deleted in the same commit
    (old shards). A retried push re-sends only what the Hub lacks; an identical push commits nothing.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    token = token_or_fail(repo_id, token)
    target = f"{repo_type}s/{repo_id}" if repo_type != "model" else repo_id
    api = HfApi(token=token)
    with hub_errors(target, pushing=True):
        url = str(api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True))
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
        before = api.repo_info(repo_id, repo_type=repo_type, revision=revision)
        operations = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(d) if isinstance(d, Path) else d)
                      for p, d in sorted(files.items())]
        if replace_under:
            stale = [s.rfilename for s in before.siblings or []
                     if s.rfilename.startswith(replace_under) and s.rfilename not in files]
            operations += [CommitOperationDelete(path_in_repo=p) for p in stale]
        info = api.create_commit(repo_id, operations, repo_type=repo_type, revision=revision,
                                 commit_message=message)
    return PushResult(url, info.oid, info.oid != before.sha)


def download_repo(repo_id: str, repo_type: str = "model", revision: str | None = None) -> Path:
    """A local snapshot of a Hub repo (``snapshot_download``, cached), errors as one line."""
    from huggingface_hub import snapshot_download

    with hub_errors(repo_id):
        return Path(snapshot_download(repo_id, repo_type=repo_type, revision=revision))


def push_dataset(frame, facts, *, private: bool = False, revision: str | None = None,
                 token: str | None = None) -> PushResult:
    """An export as a ``datasets`` dataset: one parquet shard under ``data/`` and its card (``README.md``)."""
    from sparse_feedback.formats.cards import DATA_PATH, dataset_card

    files = {DATA_PATH: parquet_bytes(frame), "README.md": dataset_card(facts).encode("utf-8")}
    return push_files(facts.name, files, repo_type="dataset", private=private, revision=revision, token=token,
                      message=f"sparse-feedback: {facts.what}, {facts.rows} rows", replace_under="data/")
