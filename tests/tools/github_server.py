"""A loopback GitHub REST API (port 0) implementing what PyGithub calls for pull requests; records requests.

Every URL in its JSON uses its own host and port (PyGithub follows them and refuses another host). Tests
drive the human side with :meth:`GitHubServer.merge` and :meth:`GitHubServer.close_by`, and assert on
``requests`` (method, path, JSON body) and on the stored pull requests.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorized: bool


@dataclass
class FakeRepo:
    owner: str = "acme"
    name: str = "gitops"
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    next_number: int = 1


class GitHubServer:
    """Start with ``with GitHubServer() as gh:``; ``gh.url`` is the API base URL."""

    def __init__(self, owner: str = "acme", name: str = "gitops", token: str = "") -> None:
        self.repo = FakeRepo(owner, name)
        self.token = token
        self.requests: list[Recorded] = []
        self.fail_next: dict[str, int] = {}  # "POST /pulls" → HTTP status to answer once
        self.slow: dict[str, float] = {}  # "GET /pulls" → seconds to wait before answering (a slow GitHub)
        self.lock = threading.Lock()
        self.link = ""  # the Link header of the answer being built (under ``lock``)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> GitHubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- the human side --------------------------------------------------------------------------------

    def merge(self, number: int, by: str, commit: str | None = None) -> None:
        """``commit``: the merge commit on the base branch (``merge_commit_sha``), when a test made one."""
        pr = self.repo.pulls[number]
        pr.update(state="closed", merged=True, merged_by=self._user(by), closed_by=self._user(by))
        if commit is not None:
            pr["merge_commit_sha"] = commit

    def close_by(self, number: int, by: str, comment: str = "") -> None:
        if comment:
            self._add_comment(number, comment, by)
        self.repo.pulls[number].update(state="closed", merged=False, closed_by=self._user(by))

    def open_by(
        self, login: str, title: str, head_ref: str, *, fork_owner: str | None = None, body: str = ""
    ) -> int:
        """A pull request opened by ``login`` (``…[bot]`` logins are GitHub Apps, ``type: Bot``) from a branch
        of this repository, or of ``fork_owner``'s fork; returns its number."""
        n = self.repo.next_number
        self.repo.next_number += 1
        user = self._user(login)
        if login.endswith("[bot]"):
            user["type"] = "Bot"
        self.repo.pulls[n] = {
            "number": n, "id": 100 + n, "title": title, "body": body, "state": "open", "draft": False,
            "merged": False, "merged_by": None, "mergeable_state": "clean", "head_ref": head_ref,
            "head_sha": "2" * 40, "base_ref": "main", "labels": [], "reviewers": [], "teams": [], "user": user,
            "head_owner": fork_owner,
        }  # fmt: skip
        return n

    def set_mergeable_state(self, number: int, state: str) -> None:
        self.repo.pulls[number]["mergeable_state"] = state

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def all_text(self) -> str:
        """Everything the bot sent (paths and bodies), for grepping."""
        return "\n".join(f"{r.method} {r.path} {json.dumps(r.body)}" for r in self.requests)

    # --- JSON shapes -----------------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"{self.url}/repos/{self.repo.owner}/{self.repo.name}"

    def _user(self, login: str) -> dict[str, Any]:
        return {
            "login": login,
            "id": abs(hash(login)) % 10**6,
            "type": "User",
            "url": f"{self.url}/users/{login}",
        }

    def _repo_json(self) -> dict[str, Any]:
        return {
            "id": 1,
            "name": self.repo.name,
            "full_name": f"{self.repo.owner}/{self.repo.name}",
            "owner": self._user(self.repo.owner),
            "url": self.base,
            "html_url": f"{self.url}/{self.repo.owner}/{self.repo.name}",
            "default_branch": "main",
            "private": True,
        }

    def _pull_json(self, pr: dict[str, Any]) -> dict[str, Any]:
        n = pr["number"]
        out = dict(pr)
        out.update(
            url=f"{self.base}/pulls/{n}",
            html_url=f"{self.url}/{self.repo.owner}/{self.repo.name}/pull/{n}",
            issue_url=f"{self.base}/issues/{n}",
            comments_url=f"{self.base}/issues/{n}/comments",
            head={
                "ref": pr["head_ref"],
                "sha": pr["head_sha"],
                "label": f"{pr.get('head_owner') or self.repo.owner}:{pr['head_ref']}",
                "repo": self._head_repo_json(pr.get("head_owner")),
            },
            base={"ref": pr["base_ref"], "sha": "0" * 40, "label": f"{self.repo.owner}:{pr['base_ref']}"},
            labels=[{"name": name, "url": f"{self.base}/labels/{name}"} for name in pr["labels"]],
            requested_reviewers=[self._user(u) for u in pr["reviewers"]],
            requested_teams=[{"slug": t, "name": t} for t in pr["teams"]],
        )
        for k in ("head_ref", "head_sha", "base_ref", "reviewers", "teams"):
            out.pop(k)
        out.pop("head_owner", None)
        return out

    def _head_repo_json(self, fork_owner: str | None) -> dict[str, Any]:
        if not fork_owner:
            return self._repo_json()
        fork = self._repo_json()
        fork.update(
            id=2,
            full_name=f"{fork_owner}/{self.repo.name}",
            owner=self._user(fork_owner),
            url=f"{self.url}/repos/{fork_owner}/{self.repo.name}",
            html_url=f"{self.url}/{fork_owner}/{self.repo.name}",
            fork=True,
        )
        return fork

    def _page(self, items: list[Any], query: dict[str, str], path: str) -> tuple[list[Any], str]:
        """GitHub's pagination: ``per_page`` (default 30, at most 100) and ``page``, with a ``Link`` header."""
        per_page = min(100, max(1, int(query.get("per_page", "30"))))
        page = max(1, int(query.get("page", "1")))
        last = max(1, -(-len(items) // per_page))
        links = []
        for rel, n in (("next", page + 1), ("last", last)):
            if page < last:
                args = "&".join(f"{k}={v}" for k, v in {**query, "per_page": per_page, "page": n}.items())
                links.append(f'<{self.url}{path}?{args}>; rel="{rel}"')
        return items[(page - 1) * per_page : page * per_page], ", ".join(links)

    def _issue_json(self, pr: dict[str, Any]) -> dict[str, Any]:
        n = pr["number"]
        return {
            "number": n,
            "id": 1000 + n,
            "url": f"{self.base}/issues/{n}",
            "html_url": f"{self.url}/{self.repo.owner}/{self.repo.name}/pull/{n}",
            "comments_url": f"{self.base}/issues/{n}/comments",
            "title": pr["title"],
            "body": pr["body"],
            "state": pr["state"],
            "closed_by": pr.get("closed_by"),
            "labels": [{"name": name, "url": f"{self.base}/labels/{name}"} for name in pr["labels"]],
            "pull_request": {"url": f"{self.base}/pulls/{n}"},
        }

    def _add_comment(self, number: int, body: str, login: str) -> dict[str, Any]:
        comments = self.repo.comments.setdefault(number, [])
        cid = 5000 + sum(len(c) for c in self.repo.comments.values())
        comment = {
            "id": cid,
            "body": body,
            "user": self._user(login),
            "url": f"{self.base}/issues/comments/{cid}",
            "html_url": f"{self.url}/{self.repo.owner}/{self.repo.name}/pull/{number}#issuecomment-{cid}",
        }
        comments.append(comment)
        return comment

    # --- routing ---------------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        prefix = f"/repos/{self.repo.owner}/{self.repo.name}"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}
        rest = path[len(prefix) :]
        shape = re.sub(r"/\d+", "/N", rest) or "/"
        key = f"{method} {shape}"
        if key in self.fail_next:
            return self.fail_next.pop(key), {"message": "injected failure"}
        if method == "GET" and rest == "":
            return 200, self._repo_json()
        if rest == "/pulls" and method == "GET":
            head = query.get("head", "")
            found = [
                self._pull_json(p)
                for p in self.repo.pulls.values()
                if (query.get("state", "open") in ("all", p["state"]))
                and (not head or f"{self.repo.owner}:{p['head_ref']}" == head)
            ]
            if query.get("direction", "desc" if query.get("sort") == "created" else "asc") == "desc":
                found.reverse()
            found, self.link = self._page(found, query, path)
            return 200, found
        if rest == "/pulls" and method == "POST":
            if any(p["head_ref"] == body["head"] and p["state"] == "open" for p in self.repo.pulls.values()):
                return 422, {
                    "message": "Validation Failed",
                    "errors": [{"message": "A pull request already exists"}],
                }
            n = self.repo.next_number
            self.repo.next_number += 1
            self.repo.pulls[n] = {
                "number": n,
                "id": 100 + n,
                "title": body["title"],
                "body": body["body"],
                "state": "open",
                "draft": bool(body.get("draft", False)),
                "merged": False,
                "merged_by": None,
                "mergeable_state": "clean",
                "head_ref": body["head"],
                "head_sha": "1" * 40,
                "base_ref": body["base"],
                "labels": [],
                "reviewers": [],
                "teams": [],
                "user": self._user("secops-bot"),
            }
            return 201, self._pull_json(self.repo.pulls[n])
        m = re.fullmatch(r"/(pulls|issues)/(\d+)(/.*)?", rest)
        if not m or int(m.group(2)) not in self.repo.pulls:
            return 404, {"message": "Not Found"}
        kind, n, tail = m.group(1), int(m.group(2)), m.group(3) or ""
        pr = self.repo.pulls[n]
        if tail == "" and method == "GET":
            return 200, self._pull_json(pr) if kind == "pulls" else self._issue_json(pr)
        if tail == "" and method == "PATCH" and kind == "pulls":
            if "state" in body:
                pr["state"] = body["state"]
                if body["state"] == "closed":
                    pr["closed_by"] = self._user("secops-bot")
            if "body" in body:
                pr["body"] = body["body"]
            return 200, self._pull_json(pr)
        if tail == "/labels" and method == "POST":
            names = body if isinstance(body, list) else body.get("labels", [])
            pr["labels"] = sorted(set(pr["labels"]) | set(names))
            return 200, [{"name": x, "url": f"{self.base}/labels/{x}"} for x in pr["labels"]]
        if tail == "/comments" and method == "POST":
            return 201, self._add_comment(n, body["body"], "secops-bot")
        if tail == "/comments" and method == "GET":
            return 200, self.repo.comments.get(n, [])
        if tail == "/requested_reviewers" and method == "POST":
            pr["reviewers"] = sorted(set(pr["reviewers"]) | set(body.get("reviewers", [])))
            pr["teams"] = sorted(set(pr["teams"]) | set(body.get("team_reviewers", [])))
            return 201, self._pull_json(pr)
        return 404, {"message": f"not implemented: {method} {rest}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _serve(self) -> None:
                path, _, qs = self.path.partition("?")
                query = dict(p.split("=", 1) for p in qs.split("&") if "=" in p)
                query = {k: _unquote(v) for k, v in query.items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                auth = self.headers.get("Authorization", "")
                wait = server.slow.get(f"{self.command} {re.sub(r'^/repos/[^/]+/[^/]+', '', path)}", 0.0)
                if wait:
                    time.sleep(wait)
                with server.lock:
                    server.requests.append(
                        Recorded(self.command, self.path, body, bool(server.token) and server.token in auth)
                    )
                    server.link = ""
                    status, payload = server.route(self.command, path, query, body)
                    link = server.link
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if link:
                    self.send_header("Link", link)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        return Handler


def _unquote(text: str) -> str:
    from urllib.parse import unquote_plus

    return unquote_plus(text)
