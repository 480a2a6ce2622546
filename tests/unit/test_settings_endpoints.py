"""`local.endpoints` (settings_lists.py): the pool's extra members, each bad entry skipped with
a warning naming it, the rest kept; keys never shown."""

from __future__ import annotations

from typing import Any

from ladder_lsp.privacy import known_secrets
from ladder_lsp.settings import parse_settings, pool_settings
from ladder_lsp.settings_lists import Endpoint

GPU = {"baseUrl": "http://192.168.1.20:1234/v1", "name": "gpu-box", "maxParallel": 4}


def endpoints(*entries: Any, **local: Any) -> tuple[tuple[Endpoint, ...], list[str]]:
    settings, problems = parse_settings({"local": {**local, "endpoints": list(entries)}})
    return settings.local.endpoints, [f"{p.path} {p.message}" for p in problems if p.warn]


def test_entries_become_members_with_their_defaults() -> None:
    found, problems = endpoints(GPU, {"baseUrl": "http://127.0.0.1:8080/v1", "model": "qwen"})
    assert problems == []
    assert found == (
        Endpoint("http://192.168.1.20:1234/v1", max_parallel=4, name="gpu-box"),
        Endpoint("http://127.0.0.1:8080/v1", model="qwen", max_parallel=1),
    )


def test_each_bad_entry_is_skipped_with_a_warning_naming_it() -> None:
    found, problems = endpoints(
        "http://not-an-object:1234/v1",
        {"baseUrl": "ftp://files.example/v1", "name": "ftp"},
        {"baseUrl": "http://localhost:1234/v1/"},  # the primary baseUrl again
        GPU,
        {"baseUrl": "http://192.168.1.20:1234/v1"},  # the gpu box again
        {"baseUrl": "http://b:1/v1", "maxParallel": 0},
        {"baseUrl": "http://c:1/v1", "maxParallel": True},
        {"model": "qwen"},
    )
    assert [e.name for e in found] == ["gpu-box"]
    assert problems == [
        "local.endpoints[0] must be an object with a baseUrl; skipped",
        "local.endpoints[1] ('ftp') has baseUrl 'ftp://files.example/v1', which is not an "
        "http(s) URL; skipped",
        "local.endpoints[2] repeats the baseUrl 'http://localhost:1234/v1/'; skipped",
        "local.endpoints[4] repeats the baseUrl 'http://192.168.1.20:1234/v1'; skipped",
        "local.endpoints[5] has maxParallel below 1 (or not a whole number); skipped",
        "local.endpoints[6] has maxParallel below 1 (or not a whole number); skipped",
        "local.endpoints[7] needs a baseUrl; skipped",
    ]


def test_a_duplicate_of_a_custom_primary_url_is_caught_too() -> None:
    found, problems = endpoints({"baseUrl": "http://gpu:1234/v1"}, baseUrl="http://GPU:1234/v1")
    assert found == () and "repeats the baseUrl" in problems[0]


def test_an_endpoint_key_is_kept_but_never_shown() -> None:
    found, problems = endpoints({**GPU, "apiKey": "sk-lan-secret-123"})
    assert found[0].api_key == "sk-lan-secret-123"
    assert "sk-lan-secret" not in repr(found) and problems == []


def test_not_a_list_keeps_the_default() -> None:
    settings, problems = parse_settings({"local": {"endpoints": {"baseUrl": "http://x:1/v1"}}})
    assert settings.local.endpoints == ()
    assert [p.path for p in problems] == ["local.endpoints"]


def test_endpoint_keys_are_secrets_even_in_an_entry_that_was_skipped() -> None:
    raw = {
        "local": {
            "endpoints": [
                {**GPU, "apiKey": "sk-lan-secret-123"},
                {"baseUrl": "ftp://x", "apiKey": "sk-skipped-secret-456"},
            ]
        }
    }
    settings, _ = parse_settings(raw)
    assert {"sk-lan-secret-123", "sk-skipped-secret-456"} <= set(known_secrets(settings, raw))


def test_the_pool_is_base_url_first_then_the_endpoints() -> None:
    settings, _ = parse_settings(
        {"local": {"model": "qwen", "apiKey": "k1", "maxParallel": 2, "endpoints": [GPU]}}
    )
    (first, primary), (second, gpu) = pool_settings(settings.local)
    assert (first, primary.base_url, primary.max_parallel) == (
        "localhost:1234",
        "http://localhost:1234/v1",
        2,
    )
    assert (second, gpu.base_url, gpu.model, gpu.api_key, gpu.max_parallel) == (
        "gpu-box",
        "http://192.168.1.20:1234/v1",
        "qwen",  # no model of its own: it serves local.model
        "",  # the primary's key is not sent to another server
        4,
    )
    assert primary.endpoints == () and gpu.endpoints == ()
