"""Privacy: `privacy.localOnly` globs and secret detection keep code away from Claude."""

from __future__ import annotations

import pytest

from ladder_lsp.privacy import (
    SECRET_PATTERNS,
    local_only_reason,
    matches_local_only,
    secret_kind,
)
from ladder_lsp.settings import DEFAULT_LOCAL_ONLY

# -- globs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "glob"),
    [
        ("/home/me/proj/.env", "**/.env*"),
        ("/home/me/proj/.env.local", "**/.env*"),
        ("/home/me/proj/config/.envrc", "**/.env*"),
        (".env", "**/.env*"),
        ("sub/.env.production", "**/.env*"),
        ("C:\\Users\\me\\proj\\.env", "**/.env*"),
        ("/home/me/proj/certs/server.pem", "**/*.pem"),
        ("server.key", "**/*.key"),
        ("/home/me/proj/secrets/db.py", "**/secrets/**"),
        ("/home/me/proj/secrets/deep/er/db.py", "**/secrets/**"),
        ("secrets/db.py", "**/secrets/**"),
        ("file:///home/me/proj/secrets/db.py", "**/secrets/**"),
        ("file:///home/me/my%20proj/.env", "**/.env*"),
        ("/home/me/proj/.ENV", "**/.env*"),
    ],
)
def test_default_globs_keep_these_files_local(path: str, glob: str) -> None:
    assert matches_local_only(path, DEFAULT_LOCAL_ONLY) == glob


@pytest.mark.parametrize(
    "path",
    [
        "/home/me/proj/app.py",
        "/home/me/proj/environment.py",
        "/home/me/proj/env/settings.py",
        "/home/me/proj/secrets.py",
        "/home/me/proj/keyboard.py",
        "/home/me/proj/notsecrets/db.py",
        "/home/me/proj/docs/pem.md",
        "src/main.rs",
        "untitled:Untitled-1",
    ],
)
def test_ordinary_files_are_not_matched(path: str) -> None:
    assert matches_local_only(path, DEFAULT_LOCAL_ONLY) is None


def test_unanchored_custom_glob_matches_from_any_folder() -> None:
    globs = ["config/*.yaml"]
    assert matches_local_only("/home/me/proj/config/prod.yaml", globs) == "config/*.yaml"
    assert matches_local_only("config/prod.yaml", globs) == "config/*.yaml"
    assert matches_local_only("/home/me/proj/config.yaml", globs) is None


def test_anchored_glob_matches_only_from_the_root() -> None:
    globs = ["/srv/private/**"]
    assert matches_local_only("/srv/private/a.py", globs) == "/srv/private/**"
    assert matches_local_only("/home/srv/private/a.py", globs) is None


def test_first_matching_glob_is_reported_and_empty_list_matches_nothing() -> None:
    assert matches_local_only("/p/secrets/x.pem", ["**/*.pem", "**/secrets/**"]) == "**/*.pem"
    assert matches_local_only("/p/.env", []) is None


# -- secrets -----------------------------------------------------------------------------------

PRIVATE_KEY = (
    "KEY = '''\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7...\n"
    "-----END RSA PRIVATE KEY-----\n'''\n"
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (PRIVATE_KEY, "a private key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXkt\n", "a private key"),
        ("-----BEGIN PRIVATE KEY-----", "a private key"),
        (
            'client = Anthropic(api_key="sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-123_456")',
            "an Anthropic API key",
        ),
        ('OPENAI = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123"', "an OpenAI-style API key"),
        ('aws_key_id = "AKIAIOSFODNN7EXAMPLE"', "an AWS access key"),
        ("token ghp_0123456789abcdefghijABCDEFGHIJ0123456789 here", "a GitHub token"),
        ('auth = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"', "a GitHub token"),
        ('password = "correct-horse-battery-staple"', "a hard-coded credential"),
        ("API_KEY: 'abcdefghijklmnop1234'", "a hard-coded credential"),
        ('{"api_key": "0f3a9c2b7d1e4f5a6b8c"}', "a hard-coded credential"),
        ('const cfg = { apiKey: "AbC123dEf456GhI789jKl" };', "a hard-coded credential"),
        ('DB_PASSWORD = "Tr0ub4dor&3-very-long"', "a hard-coded credential"),
        ('client_secret="9f8e7d6c5b4a39281706"', "a hard-coded credential"),
        (
            'AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
            "a hard-coded credential",
        ),
        ('headers = {"auth_token": "a1b2c3d4e5f6g7h8i9j0"}', "a hard-coded credential"),
    ],
)
def test_secret_kinds_are_detected(text: str, kind: str) -> None:
    assert secret_kind(text) == kind


def test_secret_kind_never_returns_the_secret() -> None:
    secret = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-123_456"
    kind = secret_kind(f"KEY = '{secret}'")
    assert kind is not None and secret not in kind and "sk-ant" not in kind


ORDINARY_CODE = '''\
import os
from typing import Optional

TOKEN_URL = "https://oauth2.googleapis.com/token/v2/endpoint"
SECRET_KEY_ENV = "DJANGO_SECRET_KEY"
password_hash_algorithm = "pbkdf2_sha256"


class Session:
    """Holds the auth token; the password never touches disk."""

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token or os.environ.get("ANTHROPIC_API_KEY", "")
        self.api_key = self.load_api_key(path="~/.config/app/credentials.json")
        self.password = input("password: ")
        self.secret = hashlib.sha256(b"abc").hexdigest()

    def risk_score(self, task_list: list[str]) -> int:
        tokens = [t for t in task_list if t.startswith("sk-")]
        digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        return len(tokens) + len(digest)
'''


def test_no_false_positive_on_ordinary_code() -> None:
    assert secret_kind(ORDINARY_CODE) is None


@pytest.mark.parametrize(
    "text",
    [
        'password = "short"',  # too short to be a real credential
        'token = get_token("some-long-argument-value")',  # not an assignment of a literal
        'secret_name = "database-password-for-prod"',  # compound name, no digit: a label
        'TOKEN_ENDPOINT = "https://example.com/v1/oauth2/token"',  # a URL
        "AKIA1234",  # too short for an access key id
    ],
)
def test_near_misses_are_not_secrets(text: str) -> None:
    assert secret_kind(text) is None


# -- the combined verdict ----------------------------------------------------------------------


def test_local_only_reason_prefers_the_glob_and_names_it() -> None:
    reason = local_only_reason("/p/.env", "A=1\n", DEFAULT_LOCAL_ONLY)
    assert reason == "the file matches privacy.localOnly (**/.env*)"


def test_local_only_reason_for_a_secret_names_the_kind_only() -> None:
    code = 'KEY = "AKIAIOSFODNN7EXAMPLE"\n'
    reason = local_only_reason("/p/app.py", code, DEFAULT_LOCAL_ONLY)
    assert reason == "the selection seems to contain an AWS access key"
    assert "AKIA" not in reason


def test_ordinary_file_and_code_may_go_to_claude() -> None:
    assert local_only_reason("/p/app.py", ORDINARY_CODE, DEFAULT_LOCAL_ONLY) is None


def _reference_kind(text: str) -> str | None:
    """secret_kind without its hints: every regex on the whole text."""
    return next((label for label, pattern, _ in SECRET_PATTERNS if pattern.search(text)), None)


@pytest.mark.parametrize(
    "text",
    [
        "def f(x):\n    return x + 1\n",
        'API_KEY = "abcdefghijklmnop1234"',
        'apiKey: "abcdefghijklmnopqrst"',
        'db_password = "hunter2hunter2hunter2"',
        'AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"',
        'toKen = "abcdefghijklmnop1234"',  # a Kelvin sign: (?i) matches it to k
        'ſecret = "abcdefghijklmnop1234"',  # a long s: (?i) matches it to s
        'apı_key = "abcdefghijklmnop1234"',  # a dotless i: (?i) matches it to i
        'PASSWORD = "https://example.com/1234567890"',
        "sk-" + "a" * 24,
        "sk-ant-" + "b" * 24,
        "AKIA" + "A" * 16,
        "ghp_" + "c" * 36,
        "xoxb-" + "d" * 12,
        "AIza" + "e" * 35,
        "-----BEGIN RSA PRIVATE KEY-----",
    ],
)
def test_the_hints_only_skip_regexes_that_cannot_match(text: str) -> None:
    assert secret_kind(text) == _reference_kind(text)


def test_local_only_answers_the_same_for_any_iterable_of_globs() -> None:
    """The match is cached by path and globs: a new list of globs is asked afresh."""
    assert matches_local_only("/p/.env.local", ["**/.env*"]) == "**/.env*"
    assert matches_local_only("/p/.env.local", ("**/.env*",)) == "**/.env*"
    assert matches_local_only("/p/.env.local", ["**/*.pem"]) is None
