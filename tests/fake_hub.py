"""A Hugging Face Hub on 127.0.0.1 for the Hub tests: just the endpoints ``huggingface_hub`` (``create_repo``,
``create_branch``, ``upload_folder`` = preupload + LFS batch/PUT + commit, ``repo_info``, tree and paths-info,
``hf_hub_download`` / ``snapshot_download``) and the ``datasets`` loader call, kept in memory.

Each commit is a whole snapshot (path -> bytes), so tests read exactly what arrived (:meth:`FakeHub.files`) and
count commits (:meth:`FakeHub.commits`). ``tokens`` maps a token to its user; a write without one is a 401, a
private repo is invisible without one (404 as on the Hub), a gated one answers 403 ``GatedRepo``.
``drop`` names request kinds (``"commit"``, ``"lfs-upload"``) whose connection is closed without an answer;
``drop_after_apply`` makes a dropped commit land first (the answer is what gets lost).

Upload clients must run with ``HF_HUB_DISABLE_XET=1``: large files then go through plain LFS, which this fake
speaks; Xet storage it does not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".parquet", ".safetensors", ".bin", ".arrow", ".pt")
TOKEN, USER = "hf_fake_write_token", "tester"


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    oid: str
    message: str
    files: dict[str, bytes]
    parent: str | None
    at: float = field(default_factory=time.time)


@dataclass
class Repo:
    kind: str  # model | dataset
    repo_id: str
    private: bool = False
    gated: bool = False
    branches: dict[str, list[Commit]] = field(default_factory=dict)

    def head(self, revision: str) -> Commit | None:
        if revision in self.branches:
            return self.branches[revision][-1]
        return next((c for history in self.branches.values() for c in history if c.oid == revision), None)


class FakeHub:
    """Start with ``with FakeHub() as hub:``; ``hub.url`` is the ``HF_ENDPOINT``."""

    def __init__(self):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.tokens = {TOKEN: USER}
        self.drop: set[str] = set()
        self.drop_after_apply = False
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeHub":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ what tests read and set up

    def env(self, token: str | None = TOKEN) -> dict:
        """Environment for a client process talking to this hub (online, no Xet)."""
        env = {"HF_ENDPOINT": self.url, "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1",
               "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1" if token is None else "0",
               "HF_TOKEN": token or ""}
        return env

    def repo(self, repo_id: str, kind: str = "dataset") -> Repo:
        return self.repos[(kind, repo_id)]

    def commits(self, repo_id: str, kind: str = "dataset", revision: str = "main") -> list[Commit]:
        return list(self.repo(repo_id, kind).branches.get(revision, []))

    def files(self, repo_id: str, kind: str = "dataset", revision: str = "main") -> dict[str, bytes]:
        head = self.repo(repo_id, kind).head(revision)
        return dict(head.files) if head else {}

    def add_repo(self, repo_id: str, kind: str = "dataset", files: dict[str, bytes] | None = None,
                 private: bool = False, gated: bool = False) -> Repo:
        """A repo made outside the API (a released dataset, a gated one), with one commit of ``files``."""
        repo = Repo(kind, repo_id, private, gated)
        self.repos[(kind, repo_id)] = repo
        self._commit(repo, "main", dict(files or {}), "initial commit")
        return repo

    # ------------------------------------------------------------ internals

    def _commit(self, repo: Repo, branch: str, files: dict[str, bytes], message: str) -> Commit:
        history = repo.branches.setdefault(branch, [])
        parent = history[-1].oid if history else None
        oid = hashlib.sha1(f"{repo.repo_id}{branch}{len(history)}{time.time_ns()}{message}".encode()).hexdigest()
        commit = Commit(oid, message, files, parent)
        history.append(commit)
        return commit

    def _entry(self, path: str, data: bytes, expand: bool = False) -> dict:
        entry = {"type": "file", "path": path, "size": len(data), "oid": git_sha1(data)}
        if path.endswith(LFS_SUFFIXES):
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a client that hangs up (the drops) is no error here
        pass


def _handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        # -------------------------------------------------- plumbing
        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: bytes | dict | list = b"", headers: dict | None = None,
                  head: bool = False) -> None:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers = {"Content-Type": "application/json", **(headers or {})}
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _error(self, status: int, message: str, code: str | None = None) -> None:
            headers = {"X-Error-Message": message, **({"X-Error-Code": code} if code else {})}
            self._send(status, {"error": message}, headers, head=self.command == "HEAD")

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass

        def _user(self) -> str | None:
            auth = self.headers.get("Authorization", "")
            return hub.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None

        def _repo(self, kind: str, repo_id: str, write: bool = False) -> Repo | None:
            """The repo the caller may see (and write), else the error already sent and None."""
            repo = hub.repos.get((kind, repo_id))
            user = self._user()
            if write and user is None:
                self._error(401, "Invalid credentials in Authorization header")
                return None
            if repo is None or (repo.private and user is None):
                self._error(404, "Repository not found", "RepoNotFound")
                return None
            if repo.gated and user is None:
                self._error(403, f"Access to dataset {repo_id} is restricted. You must have access to it and be "
                                 "authenticated to access it. Please log in.", "GatedRepo")
                return None
            return repo

        def _head(self, kind: str, repo_id: str, revision: str) -> tuple[Repo, Commit] | None:
            """The repo and its commit at ``revision`` the caller may read, else the error already sent."""
            repo = self._repo(kind, repo_id)
            if repo is None:
                return None
            head = repo.head(revision)
            if head is None:
                self._error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
                return None
            return repo, head

        # -------------------------------------------------- routing
        def do_HEAD(self):
            self._route("HEAD")

        def do_GET(self):
            self._route("GET")

        def do_POST(self):
            self._route("POST")

        def do_PUT(self):
            self._route("PUT")

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            path, query = unquote(url.path), parse_qs(url.query)
            hub.requests.append(f"{method} {self.path}")
            body = self._body() if method in ("POST", "PUT") else b""
            with hub.lock:
                for pattern, name in ROUTES:
                    match = re.fullmatch(pattern, f"{method} {path}")
                    if match:
                        return getattr(self, name)(match, query, body, method)
            self._error(404, f"no route for {method} {path}")

        # -------------------------------------------------- endpoints
        def whoami(self, m, q, body, method):
            user = self._user()
            if user is None:
                return self._error(401, "Invalid user token")
            self._send(200, {"type": "user", "name": user, "auth": {"accessToken": {"role": "write"}}, "orgs": []})

        def validate_yaml(self, m, q, body, method):
            self._send(200, {"warnings": []})

        def create_repo(self, m, q, body, method):
            if self._user() is None:
                return self._error(401, "Invalid credentials in Authorization header")
            data = json.loads(body)
            kind = data.get("type") or "model"
            namespace = data.get("organization") or self._user()
            if namespace != self._user():
                return self._error(403, f"You don't have the rights to create a {kind} under the namespace "
                                        f"\"{namespace}\"")
            repo_id = f"{namespace}/{data['name']}"
            prefix = "" if kind == "model" else f"{kind}s/"
            if (kind, repo_id) in hub.repos:  # the Hub names the existing repo's url in its 409
                return self._send(409, {"error": "You already created this repo",
                                        "url": f"{hub.url}/{prefix}{repo_id}"})
            repo = Repo(kind, repo_id, bool(data.get("private")) or data.get("visibility") == "private")
            hub.repos[(kind, repo_id)] = repo
            hub._commit(repo, "main", {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"},
                        "initial commit")
            self._send(200, {"url": f"{hub.url}/{prefix}{repo_id}", "name": repo_id})

        def create_branch(self, m, q, body, method):
            repo = self._repo(m["kind"], m["repo"], write=True)
            if repo is None:
                return
            branch = m["branch"]
            if branch in repo.branches:
                return self._error(409, "Reference already exists")
            start = repo.head((json.loads(body or b"{}").get("startingPoint")) or "main")
            repo.branches[branch] = [start]
            self._send(200, {})

        def info(self, m, q, body, method):
            found = self._head(m["kind"], m["repo"], m["rev"] or "main")
            if found is None:
                return
            repo, head = found
            self._send(200, {"id": repo.repo_id, "_id": repo.repo_id, "sha": head.oid, "private": repo.private,
                             "gated": "auto" if repo.gated else False, "disabled": False, "downloads": 0, "likes": 0,
                             "tags": [], "author": repo.repo_id.split("/")[0],
                             "lastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(head.at)),
                             "siblings": [{"rfilename": p} for p in sorted(head.files)]})

        def preupload(self, m, q, body, method):
            repo = self._repo(m["kind"], m["repo"], write=True)
            if repo is None:
                return
            head = repo.head(m["rev"])
            existing = head.files if head else {}
            out = []
            for f in json.loads(body)["files"]:
                lfs = f["path"].endswith(LFS_SUFFIXES)
                old = existing.get(f["path"])
                oid = None if old is None else hashlib.sha256(old).hexdigest() if lfs else git_sha1(old)
                out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                            "oid": oid})
            self._send(200, {"files": out, "commitOid": head.oid if head else None})

        def lfs_batch(self, m, q, body, method):
            kind = {"datasets": "dataset", "spaces": "space"}.get(m["prefix"] or "", "model")
            repo = self._repo(kind, m["repo"], write=True)
            if repo is None:
                return
            objects = []
            for obj in json.loads(body)["objects"]:
                entry = {"oid": obj["oid"], "size": obj["size"]}
                if obj["oid"] not in hub.lfs:  # already stored: no action, the client skips it
                    entry["actions"] = {"upload": {"href": f"{hub.url}/lfs-upload/{obj['oid']}"}}
                objects.append(entry)
            self._send(200, {"transfer": "basic", "objects": objects}, {"Content-Type": "application/vnd.git-lfs+json"})

        def lfs_upload(self, m, q, body, method):
            if "lfs-upload" in hub.drop:
                return self._drop()
            if hashlib.sha256(body).hexdigest() != m["oid"]:
                return self._error(400, "sha256 mismatch")
            hub.lfs[m["oid"]] = body
            self._send(200, b"")

        def commit(self, m, q, body, method):
            repo = self._repo(m["kind"], m["repo"], write=True)
            if repo is None:
                return
            if "commit" in hub.drop and not hub.drop_after_apply:
                return self._drop()
            branch = m["rev"]
            if branch not in repo.branches:
                return self._error(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            files = dict(repo.branches[branch][-1].files)
            message = ""
            for line in body.splitlines():
                item = json.loads(line)
                value = item["value"]
                if item["key"] == "header":
                    message = value.get("summary", "")
                elif item["key"] == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif item["key"] == "lfsFile":
                    if value["oid"] not in hub.lfs:
                        return self._error(422, f"LFS object {value['oid']} was never uploaded")
                    files[value["path"]] = hub.lfs[value["oid"]]
                elif item["key"] == "deletedFile":
                    files.pop(value["path"], None)
                elif item["key"] == "deletedFolder":
                    files = {p: d for p, d in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
            commit = hub._commit(repo, branch, files, message)
            if "commit" in hub.drop:  # drop_after_apply: the commit landed, its answer is lost
                return self._drop()
            prefix = "" if repo.kind == "model" else f"{repo.kind}s/"
            self._send(200, {"commitUrl": f"{hub.url}/{prefix}{repo.repo_id}/commit/{commit.oid}",
                             "commitOid": commit.oid, "success": True})

        def tree(self, m, q, body, method):
            found = self._head(m["kind"], m["repo"], m["rev"])
            if found is None:
                return
            head = found[1]
            base = (m["path"] or "").strip("/")
            recursive = q.get("recursive", ["false"])[0] in ("true", "1", "True")
            self._send(200, _listing(hub, head.files, base, recursive))

        def paths_info(self, m, q, body, method):
            found = self._head(m["kind"], m["repo"], m["rev"])
            if found is None:
                return
            head = found[1]
            form = parse_qs(body.decode()) if body and not body.startswith(b"{") else None
            paths = form.get("paths", []) if form is not None else json.loads(body or b"{}").get("paths", [])
            out = []
            for p in paths:
                p = p.strip("/")
                if p in head.files:
                    out.append(hub._entry(p, head.files[p]))
                elif any(f.startswith(p + "/") for f in head.files) or p == "":
                    out.append({"type": "directory", "path": p, "oid": hashlib.sha1(p.encode()).hexdigest(),
                                "size": 0})
            self._send(200, out)

        def refs(self, m, q, body, method):
            repo = self._repo(m["kind"], m["repo"])
            if repo is None:
                return
            self._send(200, {"branches": [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": h[-1].oid}
                                          for b, h in repo.branches.items()], "tags": [], "converts": []})

        def resolve(self, m, q, body, method):
            kind = {"datasets": "dataset", "spaces": "space"}.get(m["prefix"] or "", "model")
            found = self._head(kind, m["repo"], m["rev"])
            if found is None:
                return
            head = found[1]
            path = m["path"]
            if path not in head.files:
                return self._error(404, f"Entry not found: {path}", "EntryNotFound")
            data = head.files[path]
            entry = hub._entry(path, data)
            etag = entry["lfs"]["oid"] if "lfs" in entry else entry["oid"]
            headers = {"X-Repo-Commit": head.oid, "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
                       "Content-Type": "application/octet-stream"}
            if "lfs" in entry:
                headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": len(data)})
            status, span = 200, data
            ranged = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
            if ranged and data:
                start = int(ranged[1]) if ranged[1] else max(0, len(data) - int(ranged[2]))
                end = int(ranged[2]) if ranged[1] and ranged[2] else len(data) - 1
                end = min(end, len(data) - 1)
                span, status = data[start:end + 1], 206
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            self._send(status, span, headers, head=method == "HEAD")

    return Handler


def _listing(hub: FakeHub, files: dict[str, bytes], base: str, recursive: bool) -> list[dict]:
    """Tree entries under ``base``: files and directories (each directory once), as the Hub lists them."""
    out, dirs = [], set()
    prefix = base + "/" if base else ""
    for path in sorted(files):
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix):]
        parts = rest.split("/")
        for depth in range(1, len(parts)):
            if depth > 1 and not recursive:
                break
            d = prefix + "/".join(parts[:depth])
            if d not in dirs:
                dirs.add(d)
                out.append({"type": "directory", "path": d, "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0})
        if recursive or len(parts) == 1:
            out.append(hub._entry(path, files[path]))
    return out


_REPO = r"(?P<repo>[^/]+/[^/]+)"
_KIND = r"/api/(?P<kind>model|dataset|space)s/" + _REPO
ROUTES = [
    (r"GET /api/whoami-v2", "whoami"),
    (r"POST /api/validate-yaml", "validate_yaml"),
    (r"POST /api/repos/create", "create_repo"),
    (rf"POST {_KIND}/branch/(?P<branch>.+)", "create_branch"),
    (rf"POST {_KIND}/preupload/(?P<rev>[^/]+)", "preupload"),
    (rf"POST {_KIND}/commit/(?P<rev>[^/]+)", "commit"),
    (rf"GET {_KIND}/tree/(?P<rev>[^/]+)(?P<path>/.*)?", "tree"),
    (rf"POST {_KIND}/paths-info/(?P<rev>[^/]+)", "paths_info"),
    (rf"GET {_KIND}/refs", "refs"),
    (rf"GET {_KIND}(?:/revision/(?P<rev>[^/]+))?", "info"),
    (rf"POST /(?:(?P<prefix>datasets|spaces)/)?{_REPO}\.git/info/lfs/objects/batch", "lfs_batch"),
    (r"PUT /lfs-upload/(?P<oid>[0-9a-f]{64})", "lfs_upload"),
    (rf"(?:GET|HEAD) /(?:(?P<prefix>datasets|spaces)/)?{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
]
