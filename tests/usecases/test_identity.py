"""Who decides, proven: the GitHub token's owner, or a signature git checks; else declared.

Every test here runs on a state directory that is a Git work tree, because the record
(approvers, owners, the [approvals] table, the allowed signers) is what its HEAD holds.
Identities come from real parts: the local GitHub server's users and teams, and SSH keys
made by ssh-keygen that git signs the state commits with.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from safedeploy.adapters.github import Throttle
from safedeploy.errors import BadInputError, NotAuthorizedError
from safedeploy.usecases.approval import ApprovalResult, approve, reject
from safedeploy.usecases.context import Context
from safedeploy.usecases.state_queries import transition_incident
from testing.builders import service_yaml, write_service
from testing.cli import tree_snapshot
from testing.github_server import FakeGitHub
from testing.gitrepos import EnvRemote, git
from testing.scenario import APPROVED_AT, Scenario, build_scenario, commit_state
from testing.signing import GpgKey, SigningKey, sign_with, sign_with_gpg, signature_status

NO_WAIT = Throttle(seconds_between_requests=0, seconds_between_writes=0, retries=0)
TOKENS = {"alice": "ghp_alice-token", "bob": "ghp_bob-token", "mallory": "ghp_mallory-token"}
SIGNERS = "allowed_signers"


def recorded_scenario(
    root: Path, remote: EnvRemote, approvers: tuple[str, ...] = ("alice",)
) -> Scenario:
    """The scenario with verified identities (no [approvals] keys), not yet committed."""
    return build_scenario(root, remote, approvers=approvers, approvals={})


def context(scenario: Scenario, environ: dict[str, str] | None = None) -> Context:
    return Context(scenario.state, environ=environ or {}, github_throttle=NO_WAIT)


def approving(
    scenario: Scenario, by: str | None = None, environ: dict[str, str] | None = None
) -> ApprovalResult:
    return approve(context(scenario, environ), scenario.proposal.id, by, APPROVED_AT)


def branches(remote: EnvRemote) -> list[str]:
    return git(remote.path, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def refused(
    scenario: Scenario, attempt: Callable[[], object], match: str, error: type = NotAuthorizedError
) -> None:
    """The attempt is refused with `match`, and nothing was written or pushed."""
    before = tree_snapshot(scenario.state)
    head = git(scenario.state, "rev-parse", "HEAD")
    with pytest.raises(error, match=match) as caught:
        attempt()
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value)
    assert tree_snapshot(scenario.state) == before
    assert git(scenario.state, "rev-parse", "HEAD") == head
    assert branches(scenario.remote) == ["main"]


# --- with GitHub: the token's owner ----------------------------------------------------------


def on_github(scenario: Scenario, server: FakeGitHub, api_url: str | None = None) -> None:
    for login, token in TOKENS.items():
        server.add_user(login, token)
    scenario.configure(
        environment={"repo": scenario.remote.url},
        github={"provider": "github", "repo": "acme/env", "api_url": api_url or server.base_url},
    )
    commit_state(scenario.state)


@pytest.fixture
def github_scenario(tmp_path: Path, env_remote: EnvRemote, github_server: FakeGitHub) -> Scenario:
    scenario = recorded_scenario(tmp_path, env_remote)
    on_github(scenario, github_server)
    return scenario


def token_of(login: str, **more: str) -> dict[str, str]:
    return {"GITHUB_TOKEN": TOKENS[login], **more}


def test_the_tokens_owner_approves_and_every_record_says_how(
    github_scenario: Scenario, github_server: FakeGitHub
) -> None:
    result = approving(github_scenario, environ=token_of("alice"))
    approval = result.proposal.approval
    assert approval is not None and approval.by == "alice"
    proof = f"GitHub user alice (the token's owner, {github_server.base_url})"
    assert approval.identity == proof
    assert github_server.requests_to("/user", "GET")
    record = json.loads((github_scenario.evidence / "approval.json").read_text())
    assert record["identity"] == proof
    (pull,) = github_server.pulls["acme/env"]
    assert f"- **Identity:** {proof}" in pull["body"]
    assert "Approved by **alice** at" in pull["body"]
    readme = (github_scenario.evidence / "README.md").read_text()
    assert f"by alice (verified: {proof}) at" in readme
    assert "not verified" not in readme + pull["body"]
    # The decision is in the record, made by the one the token names.
    subject = git(github_scenario.state, "log", "-1", "--format=%s")
    assert subject == f"approve {github_scenario.proposal.id} by alice"


def test_by_naming_someone_else_than_the_tokens_owner_is_refused(
    github_scenario: Scenario,
) -> None:
    refused(
        github_scenario,
        lambda: approving(github_scenario, by="bob", environ=token_of("alice")),
        f"^--by bob: the GitHub token belongs to alice, and safedeploy acts as the token's "
        f"owner, so bob cannot approve {github_scenario.proposal.id} with it$",
    )


def test_github_actor_does_not_choose_who_acts(github_scenario: Scenario) -> None:
    """mallory's token with GITHUB_ACTOR=alice is mallory, who is no approver."""
    refused(
        github_scenario,
        lambda: approving(github_scenario, environ=token_of("mallory", GITHUB_ACTOR="alice")),
        f"^mallory may not approve {github_scenario.proposal.id}: not an approver or owner of "
        "checkout as committed at [0-9a-f]{12} \\(approvers: alice; owner: team-checkout\\)$",
    )


def test_logins_match_whatever_their_case(
    tmp_path: Path, env_remote: EnvRemote, github_server: FakeGitHub
) -> None:
    scenario = recorded_scenario(tmp_path, env_remote, approvers=("Alice",))
    on_github(scenario, github_server)
    result = approving(scenario, by="ALICE", environ=token_of("alice"))
    assert result.proposal.approval is not None and result.proposal.approval.by == "alice"


@pytest.mark.parametrize(
    ("membership", "allowed"),
    [("active", True), ("pending", False), (None, False)],
    ids=["active-member", "pending-invitation", "not-a-member"],
)
def test_a_team_gives_its_active_members_a_say(
    tmp_path: Path,
    env_remote: EnvRemote,
    github_server: FakeGitHub,
    membership: str | None,
    allowed: bool,
) -> None:
    scenario = recorded_scenario(tmp_path, env_remote, approvers=("@acme/sre",))
    github_server.add_team(
        "acme", "sre", {"alice": membership} if membership else {"bob": "active"}
    )
    on_github(scenario, github_server)
    attempt = lambda: approving(scenario, environ=token_of("alice"))  # noqa: E731
    if allowed:
        assert attempt().proposal.status == "approved"
    else:
        refused(scenario, attempt, r"^alice may not approve .*\(approvers: @acme/sre; owner: ")
    assert github_server.requests_to("/orgs/acme/teams/sre/memberships/alice", "GET")


def test_github_enterprise_answers_for_identity_and_teams(
    tmp_path: Path, env_remote: EnvRemote, github_server: FakeGitHub
) -> None:
    scenario = recorded_scenario(tmp_path, env_remote, approvers=("@acme/sre",))
    github_server.add_team("acme", "sre", {"alice": "active"})
    on_github(scenario, github_server, api_url=github_server.enterprise_url)
    result = approving(scenario, environ=token_of("alice"))
    assert result.proposal.approval is not None
    assert result.proposal.approval.identity == (
        f"GitHub user alice (the token's owner, {github_server.enterprise_url})"
    )
    paths = {r.path for r in github_server.requests}
    assert {"/api/v3/user", "/api/v3/orgs/acme/teams/sre/memberships/alice"} <= paths
    assert all(p.startswith("/api/v3/") for p in paths)


def test_another_github_than_the_committed_one_is_refused(
    github_scenario: Scenario, github_server: FakeGitHub
) -> None:
    """An environment override could point at a server that says anyone is anyone."""
    other = token_of("alice", SAFEDEPLOY_GITHUB_API_URL="http://127.0.0.1:9/api/v3")
    refused(
        github_scenario,
        lambda: approving(github_scenario, environ=other),
        f"identities are checked with the GitHub of safedeploy.toml as committed at "
        f"[0-9a-f]{{12}} \\({github_server.base_url}\\), and this run's settings say "
        "http://127.0.0.1:9/api/v3",
    )
    assert github_server.requests == []


# --- authority from the record ---------------------------------------------------------------


def test_an_uncommitted_approver_does_not_count_until_committed(
    github_scenario: Scenario,
) -> None:
    services = github_scenario.state / "services"
    edited = service_yaml("checkout").replace("approvers: [alice]", "approvers: [alice, mallory]")
    write_service(services, "checkout", edited)
    refused(
        github_scenario,
        lambda: approving(github_scenario, environ=token_of("mallory")),
        "^mallory may not approve .*\\(approvers: alice; owner: team-checkout\\); "
        "services/checkout.yaml has uncommitted changes, which do not count$",
    )
    commit_state(github_scenario.state, "mallory approves checkout")
    assert approving(github_scenario, environ=token_of("mallory")).proposal.status == "approved"


def test_an_approver_of_another_service_has_no_say_here(github_scenario: Scenario) -> None:
    payments = service_yaml("payments").replace("approvers: [alice]", "approvers: [bob]")
    write_service(github_scenario.state / "services", "payments", payments)
    commit_state(github_scenario.state, "payments")
    bob = context(github_scenario, token_of("bob"))
    proposal, incident = github_scenario.proposal.id, github_scenario.incident.id
    refused(
        github_scenario,
        lambda: approve(bob, proposal, None, APPROVED_AT),
        f"^bob may not approve {proposal}: not an approver or owner of checkout",
    )
    refused(
        github_scenario,
        lambda: reject(bob, proposal, None, APPROVED_AT, reason="not mine"),
        f"^bob may not reject {proposal}: not an approver or owner of checkout",
    )
    refused(
        github_scenario,
        lambda: transition_incident(
            bob, incident, "acknowledge", by=None, reason="looking", at=APPROVED_AT
        ),
        f"^bob may not acknowledge incident {incident}: not an approver or owner of checkout",
    )


def test_the_owner_decides_like_an_approver(
    tmp_path: Path, env_remote: EnvRemote, github_server: FakeGitHub
) -> None:
    scenario = recorded_scenario(tmp_path, env_remote, approvers=())
    write_service(
        scenario.state / "services",
        "checkout",
        service_yaml("checkout")
        .replace("  approvers: [alice]\n", "")
        .replace("owner: team-checkout", "owner: '@acme/payments'"),
    )
    github_server.add_team("acme", "payments", {"bob": "active"})
    on_github(scenario, github_server)
    moved = transition_incident(
        context(scenario, token_of("bob")),
        scenario.incident.id,
        "acknowledge",
        by=None,
        reason="on it",
        at=APPROVED_AT,
    )
    assert (moved.state, moved.transitions[-1].actor) == ("investigating", "bob")
    assert git(scenario.state, "log", "-1", "--format=%s") == (
        f"acknowledge {scenario.incident.id} by bob"
    )


def test_the_approvals_table_is_read_as_committed_never_from_the_environment(
    tmp_path: Path, env_remote: EnvRemote
) -> None:
    scenario = recorded_scenario(tmp_path, env_remote)
    commit_state(scenario.state)
    unverified = "no verified identity without GitHub"
    refused(
        scenario,
        lambda: approving(
            scenario, by="alice", environ={"SAFEDEPLOY_APPROVALS_IDENTITY": "declared"}
        ),
        unverified,
    )
    scenario.configure(approvals={"identity": "declared"}, environment={"repo": env_remote.url})
    refused(scenario, lambda: approving(scenario, by="alice"), unverified)


# --- the default: unverified is refused -------------------------------------------------------


def test_without_github_or_signers_an_approval_is_refused(
    tmp_path: Path, env_remote: EnvRemote
) -> None:
    scenario = recorded_scenario(tmp_path, env_remote)
    commit_state(scenario.state)
    refused(
        scenario,
        lambda: approving(scenario, by="alice"),
        f"^alice cannot approve {scenario.proposal.id}: no verified identity without GitHub: "
        "name an allowed-signers file in approvals.allowed_signers \\(git's "
        "gpg.ssh.allowedSignersFile format\\), use the github provider, or set "
        'approvals.identity = "declared"$',
    )


def test_without_a_record_only_declared_identities_are_possible(
    tmp_path: Path, env_remote: EnvRemote
) -> None:
    scenario = recorded_scenario(tmp_path, env_remote)
    before = tree_snapshot(scenario.state)
    with pytest.raises(NotAuthorizedError, match="is not a Git work tree with a commit"):
        approving(scenario, by="alice")
    assert tree_snapshot(scenario.state) == before
    assert branches(scenario.remote) == ["main"]


# --- without GitHub: a signature git checks ---------------------------------------------------


def signed_scenario(
    root: Path, remote: EnvRemote, signers: list[str], key: SigningKey | None
) -> Scenario:
    scenario = recorded_scenario(root, remote)
    scenario.configure(approvals={"allowed_signers": SIGNERS}, environment={"repo": remote.url})
    (scenario.state / SIGNERS).write_text("".join(f"{line}\n" for line in signers))
    commit_state(scenario.state)
    if key is not None:
        sign_with(scenario.state, key)
    return scenario


def allowed_file(tmp_path: Path, *keys: SigningKey) -> Path:
    path = tmp_path / "check-signers"
    path.write_text("".join(f"{k.allowed()}\n" for k in keys))
    return path


def test_an_ssh_signature_proves_who_approves_and_signs_the_decision(
    tmp_path: Path, env_remote: EnvRemote, signing_keys: dict[str, SigningKey]
) -> None:
    alice = signing_keys["alice"]
    signers = [
        "# who may sign decisions",
        alice.allowed('alice,"alice@example.com"'),
        signing_keys["bob"].allowed(),
    ]
    scenario = signed_scenario(tmp_path, env_remote, signers, alice)
    record_head = git(scenario.state, "rev-parse", "HEAD")
    result = approving(scenario)
    approval = result.proposal.approval
    assert approval is not None and approval.by == "alice"
    assert approval.identity == (
        f"SSH key {alice.fingerprint} of alice in {SIGNERS} as committed at {record_head[:12]}"
    )
    head = git(scenario.state, "rev-parse", "HEAD")
    assert git(scenario.state, "log", "-1", "--format=%s") == (
        f"approve {scenario.proposal.id} by alice"
    )
    assert signature_status(scenario.state, head, allowed_file(tmp_path, alice)) == (
        "G",
        alice.fingerprint,
    )
    assert branches(scenario.remote) == ["main", scenario.branch]


def test_a_principal_may_be_named_that_the_key_holds(
    tmp_path: Path, env_remote: EnvRemote, signing_keys: dict[str, SigningKey]
) -> None:
    alice = signing_keys["alice"]
    scenario = signed_scenario(tmp_path, env_remote, [alice.allowed("alice,al")], alice)
    write_service(
        scenario.state / "services",
        "checkout",
        service_yaml("checkout").replace("approvers: [alice]", "approvers: [al]"),
    )
    commit_state(scenario.state, "al approves")
    assert approving(scenario, by="al").proposal.approval is not None


def test_by_naming_another_than_the_keys_owner_is_refused(
    tmp_path: Path, env_remote: EnvRemote, signing_keys: dict[str, SigningKey]
) -> None:
    alice, bob = signing_keys["alice"], signing_keys["bob"]
    scenario = signed_scenario(tmp_path, env_remote, [alice.allowed(), bob.allowed()], alice)
    refused(
        scenario,
        lambda: approving(scenario, by="bob"),
        f"^--by bob: the signing key {re.escape(alice.fingerprint)} belongs to alice in "
        f"{SIGNERS} as committed at [0-9a-f]{{12}}, so bob cannot approve "
        f"{scenario.proposal.id} with it$",
    )


def test_a_key_the_committed_file_does_not_list_is_refused(
    tmp_path: Path, env_remote: EnvRemote, signing_keys: dict[str, SigningKey]
) -> None:
    alice, mallory = signing_keys["alice"], signing_keys["mallory"]
    scenario = signed_scenario(tmp_path, env_remote, [alice.allowed()], mallory)
    # Listed in the work tree only: the record does not know the key.
    with (scenario.state / SIGNERS).open("a") as extra:
        extra.write(f"{mallory.allowed('alice')}\n")
    refused(
        scenario,
        lambda: approving(scenario, by="alice"),
        f"^alice cannot approve {scenario.proposal.id}: the signing key git uses here "
        f"\\({re.escape(mallory.fingerprint)}\\) is not in {SIGNERS} as committed at "
        "[0-9a-f]{12} \\(git says good signature, but of a key the allowed signers do not list\\)$",
    )


def test_no_signing_key_is_refused_before_anything_is_pushed(
    tmp_path: Path, env_remote: EnvRemote, signing_keys: dict[str, SigningKey]
) -> None:
    scenario = signed_scenario(tmp_path, env_remote, [signing_keys["alice"].allowed()], None)
    refused(
        scenario,
        lambda: approving(scenario, by="alice"),
        "^cannot sign with your git signing key in .*\\(set user.signingKey, and gpg.format = "
        "ssh for an SSH key\\)$",
        BadInputError,
    )


def test_a_signed_decision_needs_its_commit(
    tmp_path: Path, env_remote: EnvRemote, signing_keys: dict[str, SigningKey]
) -> None:
    alice = signing_keys["alice"]
    scenario = signed_scenario(tmp_path, env_remote, [alice.allowed()], alice)
    refused(
        scenario,
        lambda: approve(context(scenario), scenario.proposal.id, None, APPROVED_AT, commit=False),
        "^--no-commit \\(or state.commit = false\\): a signed decision is a signed commit",
        BadInputError,
    )


def test_rejections_and_transitions_are_signed_too(
    tmp_path: Path, env_remote: EnvRemote, signing_keys: dict[str, SigningKey]
) -> None:
    alice, bob = signing_keys["alice"], signing_keys["bob"]
    scenario = signed_scenario(tmp_path, env_remote, [alice.allowed(), bob.allowed()], alice)
    check = allowed_file(tmp_path, alice, bob)
    moved = transition_incident(
        context(scenario),
        scenario.incident.id,
        "acknowledge",
        by=None,
        reason="looking",
        at=APPROVED_AT,
    )
    assert moved.transitions[-1].actor == "alice"
    assert signature_status(scenario.state, "HEAD", check) == ("G", alice.fingerprint)
    sign_with(scenario.state, bob)
    # bob signs, but only alice approves checkout.
    refused(
        scenario,
        lambda: reject(context(scenario), scenario.proposal.id, None, APPROVED_AT, reason="no"),
        f"^bob may not reject {scenario.proposal.id}: not an approver or owner of checkout",
    )
    sign_with(scenario.state, alice)
    done = reject(context(scenario), scenario.proposal.id, None, APPROVED_AT, reason="noise")
    assert done.proposal.transitions[-1].actor == "alice"
    assert signature_status(scenario.state, "HEAD", check) == ("G", alice.fingerprint)
    subjects = git(scenario.state, "log", "--format=%s", "-2").splitlines()
    assert subjects == [
        f"reject {scenario.proposal.id} by alice",
        f"acknowledge {scenario.incident.id} by alice",
    ]


def test_the_signers_file_is_gits_own_format(
    tmp_path: Path, env_remote: EnvRemote, signing_keys: dict[str, SigningKey]
) -> None:
    """What safedeploy accepts, `git verify-commit` accepts with the same file."""
    alice = signing_keys["alice"]
    line = f'alice namespaces="git",valid-after="20260101" {alice.public}'
    scenario = signed_scenario(tmp_path, env_remote, [line], alice)
    approving(scenario)
    verified = subprocess.run(
        [
            "git",
            "-c",
            f"gpg.ssh.allowedSignersFile={scenario.state / SIGNERS}",
            "verify-commit",
            "HEAD",
        ],
        cwd=scenario.state,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert 'Good "git" signature for alice' in verified.stderr


def test_a_gpg_signature_proves_who_approves_too(
    tmp_path: Path,
    env_remote: EnvRemote,
    gpg_key: GpgKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_key.home))
    spaced = " ".join(gpg_key.fingerprint[i : i + 4] for i in range(0, 40, 4))
    scenario = signed_scenario(tmp_path, env_remote, [f"alice gpg {spaced}"], None)
    sign_with_gpg(scenario.state, gpg_key)
    result = approving(scenario)
    assert result.proposal.approval is not None
    assert result.proposal.approval.identity is not None
    assert result.proposal.approval.identity.startswith(f"GPG key {gpg_key.fingerprint} of alice")
    signed = git(scenario.state, "log", "-1", "--format=%G?%x1f%GF%x1f%s")
    assert signed.split("\x1f") == [
        "G",
        gpg_key.fingerprint,
        f"approve {scenario.proposal.id} by alice",
    ]


def test_a_gpg_key_the_file_does_not_list_is_refused(
    tmp_path: Path,
    env_remote: EnvRemote,
    gpg_key: GpgKey,
    signing_keys: dict[str, SigningKey],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_key.home))
    scenario = signed_scenario(tmp_path, env_remote, [signing_keys["alice"].allowed()], None)
    sign_with_gpg(scenario.state, gpg_key)
    refused(
        scenario,
        lambda: approving(scenario, by="alice"),
        f"^alice cannot approve {scenario.proposal.id}: the signing key git uses here "
        f"\\({gpg_key.fingerprint}\\) is not in {SIGNERS}",
    )


# --- declared: taken as given, and said so everywhere ----------------------------------------


def test_declared_identities_say_so_in_every_record_and_the_pull_request(
    tmp_path: Path, env_remote: EnvRemote, github_server: FakeGitHub
) -> None:
    scenario = build_scenario(tmp_path, env_remote)  # approvals.identity = "declared"
    scenario.configure(
        environment={"repo": env_remote.url},
        github={"provider": "github", "repo": "acme/env", "api_url": github_server.base_url},
    )
    commit_state(scenario.state)
    result = approving(scenario, by="alice", environ={"GITHUB_TOKEN": "ghp_anyone"})
    assert result.proposal.approval is not None
    assert result.proposal.approval.identity == "identity not verified"
    assert github_server.requests_to("/user") == []  # nobody asked: declared is declared
    (pull,) = github_server.pulls["acme/env"]
    assert "Approved by **alice (identity not verified)** at" in pull["body"]
    assert "- **Identity:** identity not verified" in pull["body"]
    message = git(env_remote.path, "log", "-1", "--format=%B", scenario.branch)
    assert "Approved by: alice (identity not verified)" in message
    record = json.loads((scenario.evidence / "approval.json").read_text())
    assert record["identity"] == "identity not verified"
    ctx = context(scenario)
    for event in ("mitigate", "resolve"):
        transition_incident(
            ctx, scenario.incident.id, event, by="alice", reason="done", at=APPROVED_AT
        )
    resolution = json.loads((scenario.evidence / "resolution.json").read_text())
    assert resolution["resolved_by"] == "alice (identity not verified)"
    readme = (scenario.evidence / "README.md").read_text()
    assert "by alice (identity not verified) at 2026-11-01T00:20:00Z" in readme
    assert "resolve: mitigated -> resolved (fast-burn) by alice (identity not verified)" in readme
    assert git(scenario.state, "log", "-1", "--format=%s") == (
        f"resolve {scenario.incident.id} by alice (identity not verified)"
    )
