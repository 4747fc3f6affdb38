"""GitHub: the pull request that carries an approved change, and commit statuses for gates.

The token comes from the environment where the client is built and is handed to PyGithub
only; it is never stored elsewhere, written, or put in a message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from safedeploy.errors import BadInputError, GitHubError

if TYPE_CHECKING:
    from github.GithubException import GithubException
    from github.PullRequest import PullRequest
    from github.Repository import Repository
    from urllib3.util.retry import Retry

DEFAULT_API_URL = "https://api.github.com"
TOKEN_VARIABLE = "GITHUB_TOKEN"
T = TypeVar("T")
StatusState = Literal["error", "failure", "pending", "success"]


class PullRequestRef(NamedTuple):
    url: str
    number: int
    created: bool


class PullRequestState(NamedTuple):
    """Where a pull request stands: open, merged (with its commit and time) or closed."""

    number: int
    state: Literal["open", "merged", "closed"]
    merge_commit: str | None = None
    merged_at: datetime | None = None
    closed_at: datetime | None = None


class Throttle(NamedTuple):
    """PyGithub's pacing; tests set everything to zero."""

    seconds_between_requests: float = 0.25
    seconds_between_writes: float = 1.0
    # Retry reads only: a repeated POST could open a second pull request.
    retries: int = 2
    timeout_seconds: int = 15


DEFAULT_THROTTLE = Throttle()


def token_from_environment(environ: Mapping[str, str]) -> str:
    token = environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise BadInputError(f"{TOKEN_VARIABLE} is not set")
    return token


def normalize_api_url(api_url: str | None) -> str:
    """github.com's API, or a GitHub Enterprise base such as https://ghe.example.com/api/v3."""
    if not api_url:
        return DEFAULT_API_URL
    url = api_url.rstrip("/")
    return DEFAULT_API_URL if url in ("https://github.com", "https://www.github.com") else url


def _retry(throttle: Throttle) -> Retry | None:
    if throttle.retries <= 0:
        return None
    from urllib3.util.retry import Retry

    return Retry(
        total=throttle.retries,
        backoff_factor=0.5,
        status_forcelist=(502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
    )


class GitHubClient:
    """One repository on github.com or GitHub Enterprise; no request until first use."""

    def __init__(
        self,
        repo_full_name: str,
        api_url: str | None,
        token: str,
        *,
        throttle: Throttle = DEFAULT_THROTTLE,
    ) -> None:
        owner, _, name = repo_full_name.partition("/")
        if not owner or not name or "/" in name:
            raise BadInputError(f"github.repo: {repo_full_name!r} is not owner/name")
        if not token:
            raise BadInputError(f"{TOKEN_VARIABLE} is not set")
        from github import Auth, Github

        self.repo_full_name = repo_full_name
        self.api_url = normalize_api_url(api_url)
        self._owner = owner
        self._github = Github(
            base_url=self.api_url,
            auth=Auth.Token(token),
            timeout=throttle.timeout_seconds,
            retry=_retry(throttle),
            seconds_between_requests=throttle.seconds_between_requests,
            seconds_between_writes=throttle.seconds_between_writes,
        )
        self._repository: Repository | None = None

    @classmethod
    def from_environment(
        cls,
        repo_full_name: str,
        api_url: str | None,
        environ: Mapping[str, str],
        *,
        throttle: Throttle = DEFAULT_THROTTLE,
    ) -> GitHubClient:
        return cls(repo_full_name, api_url, token_from_environment(environ), throttle=throttle)

    def _repo(self) -> Repository:
        if self._repository is None:
            self._repository = self._call(
                "read repository", lambda: self._github.get_repo(self.repo_full_name)
            )
        return self._repository

    def find_or_open_pull_request(
        self, head: str, base: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> PullRequestRef:
        """The open pull request for `head`, or a new one; labels are added either way."""
        from github.GithubException import GithubException

        repo = self._repo()
        created = False
        pull = self._open_pull(repo, head)
        if pull is None:
            try:
                pull = repo.create_pull(base=base, head=head, title=title, body=body)
                created = True
            except GithubException as exc:
                # Someone (or an earlier, interrupted run) opened it since we looked.
                pull = self._open_pull(repo, head) if exc.status == 422 else None
                if pull is None:
                    raise self._error(f"open pull request for {head}", exc) from None
        missing = [label for label in labels if label not in {lb.name for lb in pull.labels}]
        if missing:
            found = pull
            self._call(f"label pull request #{found.number}", lambda: found.add_to_labels(*missing))
        return PullRequestRef(pull.html_url, pull.number, created)

    def _open_pull(self, repo: Repository, head: str) -> PullRequest | None:
        qualified = head if ":" in head else f"{self._owner}:{head}"

        def first() -> PullRequest | None:
            for pull in repo.get_pulls(state="open", head=qualified):
                return pull
            return None

        return self._call(f"list pull requests for {head}", first)

    # --- who is acting ----------------------------------------------------------------

    def authenticated_login(self) -> str:
        """The login of the token's owner (`GET /user`): who is acting, as GitHub knows it."""
        login = self._call("read the token's user", lambda: str(self._github.get_user().login))
        if not login:
            raise GitHubError(f"GitHub {self.api_url}: the token's user has no login")
        return login

    def is_team_member(self, org: str, team: str, login: str) -> bool:
        """Whether `login` is an active member of `@org/team` (a pending invitation is not)."""
        from github.GithubException import GithubException

        def membership() -> bool:
            found = self._github.get_organization(org).get_team_by_slug(team)
            try:
                return str(found.get_team_membership(login).state) == "active"
            except GithubException as exc:
                if exc.status == 404:  # not a member, or no such team the token can see
                    return False
                raise

        return self._call(f"read membership of {login} in @{org}/{team}", membership)

    def pull_request_state(self, number: int) -> PullRequestState:
        """Whether pull request #`number` of the repository is open, merged or closed."""
        pull = self._call(f"read pull request #{number}", lambda: self._repo().get_pull(number))
        if pull.merged:
            sha = str(pull.merge_commit_sha) if pull.merge_commit_sha else None
            return PullRequestState(number, "merged", sha, _utc(pull.merged_at))
        if pull.state == "closed":
            return PullRequestState(number, "closed", closed_at=_utc(pull.closed_at))
        return PullRequestState(number, "open")

    def post_commit_status(
        self,
        sha: str,
        state: StatusState,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> None:
        from github.GithubObject import NotSet

        repo = self._repo()
        # GitHub cuts descriptions longer than 140 characters with a 422.
        self._call(
            f"post status {context} on {sha[:12]}",
            lambda: repo.get_commit(sha).create_status(
                state=state,
                target_url=target_url if target_url is not None else NotSet,
                description=description[:140],
                context=context,
            ),
        )

    def _call(self, what: str, action: Callable[[], T]) -> T:
        from github.GithubException import GithubException

        try:
            return action()
        except GithubException as exc:
            raise self._error(what, exc) from None  # the chained error carries request data
        except OSError as exc:
            raise GitHubError(f"GitHub {self.api_url}: cannot {what}: {exc}") from None

    def _error(self, what: str, exc: GithubException) -> GitHubError:
        where = f"GitHub {self.api_url} ({self.repo_full_name})"
        detail = _detail(exc.data)
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        if exc.status in (403, 429) and headers.get("x-ratelimit-remaining") == "0":
            reset = _reset_time(headers.get("x-ratelimit-reset"))
            return GitHubError(f"{where}: cannot {what}: API rate limit exhausted{reset}")
        meaning = {
            401: "the token was refused",
            403: "forbidden (token lacks permission)",
            404: "not found, or the token cannot see it",
            422: "rejected as invalid",
        }.get(exc.status, "server error, safe to retry" if exc.status >= 500 else "failed")
        return GitHubError(f"{where}: cannot {what}: {exc.status} {meaning}{detail}")


def _detail(data: Any) -> str:
    """GitHub's own message and validation errors, which say what to fix."""
    if not isinstance(data, dict):
        return ""
    parts = [str(data["message"])] if data.get("message") else []
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            parts.append(str(error.get("message") or error.get("code") or ""))
    text = "; ".join(p for p in parts if p)
    return f": {text}" if text else ""


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _reset_time(header: str | None) -> str:
    if header is None or not header.isdigit():
        return ""
    reset = datetime.fromtimestamp(int(header), tz=UTC)
    return f", resets at {reset.strftime('%Y-%m-%dT%H:%M:%SZ')}"
