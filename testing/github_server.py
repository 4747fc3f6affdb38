"""A small stateful GitHub REST v3 server on 127.0.0.1 for tests.

It answers with the shapes PyGithub reads from real GitHub (every object carries its own
`url`, which PyGithub follows), records each request for assertions, and can be told to
fail the next requests to a path with 422, 500 or a 403 rate limit. Tokens belong to
users (`GET /user` answers with the token's owner, an unknown token gets 401), teams have
members (`GET /orgs/{org}/teams/{slug}/memberships/{login}`), and pull requests can be
merged or closed. Paths also answer under `/api/v3`, as GitHub Enterprise serves them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

_REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
_TEAM = r"/orgs/(?P<org>[^/]+)/teams/(?P<slug>[^/]+)"
ENTERPRISE_PREFIX = "/api/v3"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    method: str | None
    path: str
    status: int
    remaining: int
    rate_limited: bool


def _now() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeGitHub:
    """State and behaviour; the HTTP handler only translates."""

    base_url: str = ""
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    statuses: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # token -> login of its owner; (org, team slug) -> {login: "active" | "pending"}.
    tokens: dict[str, str] = field(default_factory=dict)
    teams: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1000, 10**9)))

    # --- test API ---------------------------------------------------------------------

    def add_repo(self, full_name: str, default_branch: str = "main") -> dict[str, Any]:
        owner, name = full_name.split("/")
        repo = {
            "id": next(self._ids),
            "node_id": "R_kgDO" + name,
            "name": name,
            "full_name": full_name,
            "private": True,
            "owner": self._user(owner, "Organization"),
            "html_url": f"https://github.example.com/{full_name}",
            "url": f"{self.base_url}/repos/{full_name}",
            "default_branch": default_branch,
            "visibility": "private",
        }
        self.repos[full_name] = repo
        self.pulls.setdefault(full_name, [])
        return repo

    def add_user(self, login: str, token: str) -> None:
        """`login` owns `token`: `GET /user` with it answers with `login`."""
        self.tokens[token] = login

    def add_team(self, org: str, slug: str, members: dict[str, str]) -> None:
        """Team `@org/slug` with `{login: "active" | "pending"}` memberships."""
        self.teams[(org, slug)] = dict(members)

    @property
    def enterprise_url(self) -> str:
        """The same server as a GitHub Enterprise API base (`https://ghe/api/v3`)."""
        return f"{self.base_url}{ENTERPRISE_PREFIX}"

    def merge_pull(self, full_name: str, number: int, merge_commit: str) -> dict[str, Any]:
        """Mark pull request `number` merged as `merge_commit` (made in the real repo)."""
        pull = self._pull(full_name, number)
        pull.update(
            state="closed",
            merged=True,
            merge_commit_sha=merge_commit,
            merged_at=_now(),
            closed_at=_now(),
            updated_at=_now(),
        )
        return pull

    def close_pull(self, full_name: str, number: int) -> dict[str, Any]:
        """Close pull request `number` without merging it."""
        pull = self._pull(full_name, number)
        pull.update(state="closed", merged=False, closed_at=_now(), updated_at=_now())
        return pull

    def _pull(self, full_name: str, number: int) -> dict[str, Any]:
        return next(p for p in self.pulls[full_name] if p["number"] == number)

    def fail_next(
        self,
        path: str,
        status: int,
        count: int = 1,
        *,
        method: str | None = None,
        rate_limited: bool = False,
    ) -> None:
        """The next `count` requests whose path ends with `path` answer `status`."""
        self.faults.append(Fault(method, path, status, count, rate_limited))

    def requests_to(self, path_suffix: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.path.endswith(path_suffix) and (method is None or r.method == method)
        ]

    # --- dispatch ---------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        token: str | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        if path.startswith(f"{ENTERPRISE_PREFIX}/"):
            # GitHub Enterprise's API lives under /api/v3, and so do the URLs it answers with.
            status, payload, headers = self.handle(
                method, path.removeprefix(ENTERPRISE_PREFIX), query, body, token
            )
            return status, _under(payload, self.base_url, self.enterprise_url), headers
        fault = self._take_fault(method, path)
        if fault is not None:
            return self._fault_response(fault)
        if method == "GET" and path == "/user":
            return self._authenticated_user(token)
        found = self._team_route(method, path)
        if found is not None:
            return found
        routes = (
            ("GET", rf"{_REPO}$", self._get_repo),
            ("GET", rf"{_REPO}/pulls$", self._list_pulls),
            ("POST", rf"{_REPO}/pulls$", self._create_pull),
            ("GET", rf"{_REPO}/pulls/(?P<number>\d+)$", self._get_pull),
            ("POST", rf"{_REPO}/issues/(?P<number>\d+)/labels$", self._add_labels),
            ("GET", rf"{_REPO}/commits/(?P<sha>[0-9a-f]+)$", self._get_commit),
            ("POST", rf"{_REPO}/statuses/(?P<sha>[0-9a-f]+)$", self._create_status),
            ("GET", rf"{_REPO}/commits/(?P<sha>[0-9a-f]+)/statuses$", self._list_statuses),
            ("GET", rf"{_REPO}/statuses/(?P<sha>[0-9a-f]+)$", self._list_statuses),
        )
        for verb, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match is not None:
                args = match.groupdict()
                full_name = f"{args.pop('owner')}/{args.pop('name')}"
                if full_name not in self.repos:
                    return 404, _message("Not Found"), {}
                status, payload = action(full_name, query, body, **args)
                return status, payload, {}
        return 404, _message("Not Found"), {}

    def _authenticated_user(self, token: str | None) -> tuple[int, Any, dict[str, str]]:
        login = self.tokens.get(token or "")
        if login is None:
            return 401, _message("Bad credentials"), {}
        return 200, self._user(login), {}

    def _team_route(self, method: str, path: str) -> tuple[int, Any, dict[str, str]] | None:
        """`GET /orgs/{org}`, `/orgs/{org}/teams/{slug}` and one user's membership in it."""
        if method != "GET":
            return None
        org_only = re.fullmatch(r"/orgs/(?P<org>[^/]+)", path)
        if org_only is not None:
            org = org_only["org"]
            if org not in {known for known, _ in self.teams}:
                return 404, _message("Not Found"), {}
            return (
                200,
                {**self._user(org, "Organization"), "url": f"{self.base_url}/orgs/{org}"},
                {},
            )
        match = re.fullmatch(rf"{_TEAM}(?:/memberships/(?P<login>[^/]+))?", path)
        if match is None:
            return None
        org, slug, login = match["org"], match["slug"], match["login"]
        members = self.teams.get((org, slug))
        url = f"{self.base_url}/orgs/{org}/teams/{slug}"
        if members is None:
            return 404, _message("Not Found"), {}
        if login is None:
            return 200, {"id": abs(hash(url)) % 10**6, "slug": slug, "name": slug, "url": url}, {}
        state = members.get(login)
        if state is None:
            return 404, _message("Not Found"), {}
        return 200, {"url": f"{url}/memberships/{login}", "role": "member", "state": state}, {}

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            wanted = fault.method is None or fault.method == method
            if wanted and fault.remaining > 0 and path.endswith(fault.path):
                fault.remaining -= 1
                return fault
        return None

    def _fault_response(self, fault: Fault) -> tuple[int, Any, dict[str, str]]:
        if fault.rate_limited:
            headers = {
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Used": "5000",
                "X-RateLimit-Reset": str(int(time.time()) + 3600),
                "X-RateLimit-Resource": "core",
            }
            return fault.status, _message("API rate limit exceeded for user ID 1."), headers
        if fault.status == 422:
            payload = _message("Validation Failed")
            payload["errors"] = [
                {"resource": "PullRequest", "code": "custom", "message": "Injected failure"}
            ]
            return 422, payload, {}
        return fault.status, _message("Server Error"), {}

    # --- resources --------------------------------------------------------------------

    def _user(self, login: str, kind: str = "User") -> dict[str, Any]:
        return {
            "login": login,
            "id": abs(hash(login)) % 10**6,
            "type": kind,
            "url": f"{self.base_url}/users/{login}",
            "html_url": f"https://github.example.com/{login}",
            "site_admin": False,
        }

    def _get_repo(self, full_name: str, *_: Any) -> tuple[int, Any]:
        return 200, self.repos[full_name]

    def _list_pulls(self, full_name: str, query: dict[str, list[str]], _: Any) -> tuple[int, Any]:
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        base = query.get("base", [None])[0]
        found = [
            p
            for p in self.pulls[full_name]
            if (state == "all" or p["state"] == state)
            and (head is None or p["head"]["label"] == head)
            and (base is None or p["base"]["ref"] == base)
        ]
        return 200, found

    def _create_pull(self, full_name: str, _: Any, body: Any) -> tuple[int, Any]:
        repo = self.repos[full_name]
        owner = repo["owner"]["login"]
        missing = [k for k in ("head", "base") if not (body or {}).get(k)]
        if missing:
            return 422, _message(f"Invalid request: missing {', '.join(missing)}")
        head = body["head"] if ":" in body["head"] else f"{owner}:{body['head']}"
        if any(p["head"]["label"] == head and p["state"] == "open" for p in self.pulls[full_name]):
            payload = _message("Validation Failed")
            payload["errors"] = [
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {head}.",
                }
            ]
            return 422, payload
        number = len(self.pulls[full_name]) + 1
        url = f"{self.base_url}/repos/{full_name}"
        pull = {
            "id": next(self._ids),
            "node_id": f"PR_{number}",
            "number": number,
            "state": "open",
            "locked": False,
            "title": body.get("title", ""),
            "body": body.get("body"),
            "draft": bool(body.get("draft", False)),
            "user": self._user("safedeploy-bot", "Bot"),
            "labels": [],
            "url": f"{url}/pulls/{number}",
            "issue_url": f"{url}/issues/{number}",
            "html_url": f"{repo['html_url']}/pull/{number}",
            "diff_url": f"{repo['html_url']}/pull/{number}.diff",
            "head": _ref(head, repo),
            "base": _ref(f"{owner}:{body['base']}", repo),
            "merged": False,
            "merge_commit_sha": None,
            "merged_at": None,
            "closed_at": None,
            "mergeable": None,
            "created_at": _now(),
            "updated_at": _now(),
        }
        self.pulls[full_name].append(pull)
        return 201, pull

    def _get_pull(self, full_name: str, _: Any, __: Any, number: str) -> tuple[int, Any]:
        for pull in self.pulls[full_name]:
            if pull["number"] == int(number):
                return 200, pull
        return 404, _message("Not Found")

    def _add_labels(self, full_name: str, _: Any, body: Any, number: str) -> tuple[int, Any]:
        names = body.get("labels", []) if isinstance(body, dict) else body
        status, pull = self._get_pull(full_name, None, None, number)
        if status != 200:
            return status, pull
        for name in names:
            if name not in {label["name"] for label in pull["labels"]}:
                pull["labels"].append(
                    {
                        "id": next(self._ids),
                        "node_id": f"LA_{name}",
                        "url": f"{self.base_url}/repos/{full_name}/labels/{name}",
                        "name": name,
                        "color": "ededed",
                        "default": False,
                        "description": None,
                    }
                )
        return 200, pull["labels"]

    def _get_commit(self, full_name: str, _: Any, __: Any, sha: str) -> tuple[int, Any]:
        url = f"{self.base_url}/repos/{full_name}/commits/{sha}"
        return 200, {
            "sha": sha,
            "node_id": f"C_{sha[:8]}",
            "url": url,
            "html_url": f"{self.repos[full_name]['html_url']}/commit/{sha}",
            "commit": {
                "message": "",
                "url": f"{self.base_url}/repos/{full_name}/git/commits/{sha}",
            },
            "parents": [],
            "files": [],
        }

    def _create_status(self, full_name: str, _: Any, body: Any, sha: str) -> tuple[int, Any]:
        if (body or {}).get("state") not in ("error", "failure", "pending", "success"):
            return 422, _message("Validation Failed")
        status = {
            "url": f"{self.base_url}/repos/{full_name}/statuses/{sha}",
            "avatar_url": None,
            "id": next(self._ids),
            "node_id": "SC_status",
            "state": body["state"],
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "context": body.get("context", "default"),
            "created_at": _now(),
            "updated_at": _now(),
            "creator": self._user("safedeploy-bot", "Bot"),
        }
        self.statuses.setdefault((full_name, sha), []).insert(0, status)
        return 201, status

    def _list_statuses(self, full_name: str, _: Any, __: Any, sha: str) -> tuple[int, Any]:
        return 200, self.statuses.get((full_name, sha), [])


def _under(payload: Any, base: str, api: str) -> Any:
    """`payload` with every API URL of `base` moved under `api`."""
    if isinstance(payload, dict):
        return {key: _under(value, base, api) for key, value in payload.items()}
    if isinstance(payload, list):
        return [_under(value, base, api) for value in payload]
    if isinstance(payload, str) and payload.startswith(f"{base}/"):
        return api + payload.removeprefix(base)
    return payload


def _message(text: str) -> dict[str, Any]:
    return {"message": text, "documentation_url": "https://docs.github.com/rest"}


def _ref(label: str, repo: dict[str, Any]) -> dict[str, Any]:
    ref = label.split(":", 1)[1]
    return {"label": label, "ref": ref, "sha": "0" * 40, "user": repo["owner"], "repo": repo}


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            query = parse_qs(parts.query)
            with fake.lock:
                fake.requests.append(
                    RecordedRequest(self.command, parts.path, query, dict(self.headers), body)
                )
                auth = self.headers.get("Authorization") or ""
                token = auth.split(" ", 1)[1] if " " in auth else None
                status, payload, headers = fake.handle(self.command, parts.path, query, body, token)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

    return Handler


@pytest.fixture
def github_server() -> Iterator[FakeGitHub]:
    """A running fake GitHub holding the repository `acme/env`; base URL in `.base_url`."""
    fake = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    fake.add_repo("acme/env")
    # A short poll keeps shutdown, and so each test's teardown, fast.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
