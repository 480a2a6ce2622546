"""Finding LM Studio when the default `http://localhost:1234/v1` answers nothing.

The usual cause is WSL2: LM Studio runs on the Windows host, Ladder in the Linux guest, and the
guest's `localhost` is not the host's (unless WSL's mirrored networking is on). The Windows host
is the guest's default gateway (`/proc/net/route`) and, usually, its DNS server
(`/etc/resolv.conf`). The pure functions take those files' text, so tests fake them;
`read_host_files` reads the real ones. Probes are short and parallel (≤ 300 ms in all), so
`doctor` and the server's start-up are not slowed down by hosts that never answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ladder_lsp.backends.base import BackendError, ModelInfo
from ladder_lsp.backends.discovery import ModelDiscovery, SharedClient
from ladder_lsp.settings import LocalSettings
from ladder_lsp.settings_lists import same_url

if TYPE_CHECKING:
    import httpx
else:
    from ladder_lsp.backends.lazy_http import httpx

DEFAULT_BASE_URL = LocalSettings().base_url
LMSTUDIO_PORT = 1234
PROBE_SECONDS = 0.3
SERVE_ON_NETWORK = "In LM Studio's Developer tab switch on 'Serve on Local Network'"
MIRRORED_NETWORKING = (
    "use WSL mirrored networking (networkingMode=mirrored in %UserProfile%\\.wslconfig, "
    "then `wsl --shutdown`)"
)


@attrs.frozen
class Found:
    """A server that answered: its OpenAI base URL and the models it listed."""

    base_url: str
    models: tuple[ModelInfo, ...]


@attrs.frozen
class HostFiles:
    """Where the facts live on a real machine; tests pass their own paths."""

    osrelease: Path = Path("/proc/sys/kernel/osrelease")
    route: Path = Path("/proc/net/route")
    resolv: Path = Path("/etc/resolv.conf")


REAL_FILES = HostFiles()


@attrs.frozen
class Discovery:
    """What the search found: whether this is WSL, the hosts tried and the server, if any."""

    wsl: bool
    hosts: tuple[str, ...]
    found: Found | None

    @property
    def advice(self) -> str:
        return advice(self.found, wsl=self.wsl, hosts=self.hosts)


def is_wsl(kernel_release: str) -> bool:
    """WSL kernels say so in their release string (`5.15.167.4-microsoft-standard-WSL2`)."""
    return "microsoft" in kernel_release.lower()


def windows_host_candidates(route_text: str, resolv_text: str) -> list[str]:
    """The default gateway, then the nameservers: the addresses the Windows host may have
    from inside WSL2 (deduplicated; loopback, unspecified and malformed entries left out)."""
    found = [*_default_gateways(route_text), *_nameservers(resolv_text)]
    out: list[str] = []
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified or str(address) in out:
            continue
        out.append(str(address))
    return out


def _default_gateways(route_text: str) -> list[str]:
    """Gateways of the rows with Destination 00000000 (`/proc/net/route` writes IPv4
    addresses as little-endian hex)."""
    out = []
    for line in route_text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 3 or fields[1] != "00000000":
            continue
        try:
            packed = struct.pack("<I", int(fields[2], 16))
        except (ValueError, struct.error):
            continue
        out.append(socket.inet_ntoa(packed))
    return out


def _nameservers(resolv_text: str) -> list[str]:
    out = []
    for line in resolv_text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            out.append(fields[1])
    return out


def read_host_files(files: HostFiles = REAL_FILES) -> tuple[bool, list[str]]:
    """(is this WSL, the Windows host's candidate addresses) from the real files; missing or
    unreadable files count as empty. Blocking: call it through `asyncio.to_thread`."""
    if not is_wsl(_read(files.osrelease)):
        return False, []
    return True, windows_host_candidates(_read(files.route), _read(files.resolv))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def host_url(host: str, port: int) -> str:
    """The OpenAI base URL of LM Studio on `host` (IPv6 addresses in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


async def find_local_server(
    client: httpx.AsyncClient | SharedClient,
    hosts: list[str] | tuple[str, ...],
    port: int = LMSTUDIO_PORT,
    timeout: float = PROBE_SECONDS,
) -> Found | None:
    """The first of `hosts` whose server answers `/models` with a model list within
    `timeout` seconds; all are asked at once, and the rest are cancelled when one answers."""
    probes = [asyncio.create_task(_probe(client, host_url(h, port))) for h in dict.fromkeys(hosts)]
    try:
        for next_done in asyncio.as_completed(probes, timeout=timeout):
            found = await next_done
            if found is not None:
                return found
    except asyncio.TimeoutError:  # the builtin TimeoutError from 3.11 on
        pass
    finally:
        for probe in probes:
            probe.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
    return None


async def _probe(client: httpx.AsyncClient | SharedClient, base_url: str) -> Found | None:
    """The server's model list through the usual discovery (LM Studio's `/api/v0`, else
    `/v1/models`); None when it does not answer with one."""
    discovery = ModelDiscovery(LocalSettings(base_url=base_url), client)
    try:
        models = await discovery.list_models(fresh=True)
    except BackendError:
        return None
    return Found(base_url, tuple(models))


def applies(base_url: str) -> bool:
    """The search is for users who set nothing: a chosen URL is taken as meant."""
    return same_url(base_url, DEFAULT_BASE_URL)


async def discover(
    client: httpx.AsyncClient | SharedClient,
    files: HostFiles = REAL_FILES,
    timeout: float = PROBE_SECONDS,
) -> Discovery:
    """Look for LM Studio on the obvious other hosts (under WSL: the Windows host). Call it
    when `applies(local.base_url)` and nothing answered there."""
    wsl, hosts = await asyncio.to_thread(read_host_files, files)
    found = await find_local_server(client, hosts, timeout=timeout) if hosts else None
    return Discovery(wsl, tuple(hosts), found)


def setting_line(found: Found) -> str:
    """The exact setting to paste (VS Code's name; other editors: `local.baseUrl`)."""
    return f'"ladder.local.baseUrl": "{found.base_url}"'


def advice(found: Found | None, *, wsl: bool, hosts: tuple[str, ...] = ()) -> str:
    """One actionable sentence: the setting to use, or the one thing to switch on."""
    if found is not None:
        where = " on the Windows host" if wsl else ""
        return f"LM Studio answers at {found.base_url}{where}; set {setting_line(found)}"
    if wsl:
        tried = f" ({', '.join(hosts)})" if hosts else ""
        return (
            f"Nothing answers on port {LMSTUDIO_PORT} of the Windows host{tried}. "
            f"{SERVE_ON_NETWORK}, or {MIRRORED_NETWORKING}."
        )
    return (
        "Start LM Studio's server (Developer tab → Start Server, or `lms server start`), or set "
        "ladder.local.baseUrl to the server you use."
    )
