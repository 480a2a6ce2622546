"""Command line: serve LSP (stdio or TCP), `doctor`, `run`, `usage`, `settings-schema`,
`languages`.

Heavy imports (pygls, the engine, the Anthropic SDK) happen inside the subcommand that needs
them, so `--version` is instant and the server starts as fast as pygls allows.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import sys
from typing import Any

from ladder_lsp import __version__
from ladder_lsp.analysis.languages import served_languages

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ladder-lsp",
        description="LLM code actions over LSP: local model first, Claude when it matters.",
    )
    p.add_argument("--version", action="version", version=f"ladder-lsp {__version__}")
    p.add_argument("--stdio", action="store_true", help="serve over stdio (the default)")
    p.add_argument("--tcp", action="store_true", help="serve over TCP")
    p.add_argument("--host", default="127.0.0.1", help="TCP host (default: loopback)")
    p.add_argument("--port", type=int, default=2087, help="TCP port (default: 2087)")
    p.add_argument(
        "--log-level",
        help="stderr log level (default: INFO when serving, WARNING for doctor/run/usage)",
    )
    sub = p.add_subparsers(dest="cmd")
    doctor = sub.add_parser("doctor", help="check each backend and print a report")
    doctor.add_argument("--json", action="store_true", help="the same report as JSON")
    _settings_args(doctor)
    run = sub.add_parser("run", help="run one action on a file and print the diff")
    run.add_argument("action", help="refactor, edit, docstring, explain, fix, tests or a custom id")
    run.add_argument("location", help="PATH[:START[-END]] (1-based lines)")
    run.add_argument("--tier", choices=["local", "claude", "auto"], default="auto")
    run.add_argument(
        "--apply",
        "--yes",
        action="store_true",
        help="write the change to the file (without the question edits.confirm may ask)",
    )
    run.add_argument(
        "--diagnostic",
        action="append",
        default=[],
        help="a diagnostic message for `fix` (repeatable)",
    )
    run.add_argument(
        "-m",
        "--instruction",
        default="",
        metavar="INSTRUCTION",
        help="what to do, in your words: required for `edit`, extra guidance for the others",
    )
    _settings_args(run)
    job = sub.add_parser("job", help="run a workspace job: a plan of units over many files")
    job.add_argument(
        "words",
        nargs="*",
        metavar="INSTRUCTION [PATH|GLOB ...]",
        help="what to do, then files, folders or globs (default: the working directory)",
    )
    job.add_argument("--plan", help="a plan file (JSON); the instruction may then be omitted")
    job.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    job.add_argument("--apply", action="store_true", help="write the changed files")
    job.add_argument("--resume", metavar="JOB_ID", help="run what is left of an earlier job")
    job.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _settings_args(job)
    usage = sub.add_parser("usage", help="print the usage ledger summary")
    _settings_args(usage)
    schema = sub.add_parser("settings-schema", help="print the settings schema as JSON")
    schema.add_argument("--markdown", action="store_true", help="the README's table instead")
    sub.add_parser("languages", help="print the LSP languageIds Ladder serves as JSON")
    return p


def _settings_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="JSON file with settings in the editor's nested shape")
    p.add_argument("--base-url", help="local.baseUrl")
    p.add_argument("--model", help="local.model")


def load_cli_settings(args: argparse.Namespace) -> Any:
    """Settings for CLI commands: --config file, then flags; problems go to stderr."""
    from ladder_lsp.engine.actions import BUILTIN_IDS
    from ladder_lsp.settings import merge_raw, parse_settings

    raw: dict[str, Any] = {}
    if getattr(args, "config", None):
        with open(args.config, encoding="utf-8") as f:
            raw = json.load(f)
    local: dict[str, Any] = {}
    if getattr(args, "base_url", None):
        local["baseUrl"] = args.base_url
    if getattr(args, "model", None):
        local["model"] = args.model
    settings, problems = parse_settings(
        merge_raw(raw, {"local": local}), reserved_action_ids=BUILTIN_IDS
    )
    for problem in problems:
        print(f"ladder-lsp: setting {problem.path}: {problem.message}", file=sys.stderr)
    return settings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cli_command = args.cmd in ("doctor", "run", "usage", "job")
    level = (args.log_level or ("WARNING" if cli_command else "INFO")).upper()
    logging.basicConfig(stream=sys.stderr, level=level, format=LOG_FORMAT)
    if level != "DEBUG":  # pygls logs every message at INFO, httpx every request: far too
        for chatty in ("pygls", "httpx"):  # chatty for users (Ladder logs each answer)
            logging.getLogger(chatty).setLevel(logging.WARNING)
    if args.cmd == "settings-schema":
        from ladder_lsp.settings_schema import settings_schema, settings_table

        print(settings_table() if args.markdown else json.dumps(settings_schema(), indent=2))
        return 0
    if args.cmd == "languages":
        print(json.dumps({"languages": list(served_languages())}, indent=2))
        return 0
    if args.cmd == "job":
        from ladder_lsp import cli_job

        return cli_job.main(args, load_cli_settings(args))
    if cli_command:
        from ladder_lsp import cli

        return cli.dispatch(args, load_cli_settings(args))
    return serve(args)


def serve(args: argparse.Namespace) -> int:
    from ladder_lsp.lsp.server import create_server

    server = create_server()
    if args.tcp:
        if not _is_loopback(args.host):
            logging.getLogger("ladder_lsp").warning(
                "LISTENING ON %s:%s, NOT LOOPBACK: anyone who can reach this address can read "
                "your code through this server.",
                args.host,
                args.port,
            )
        server.start_tcp(args.host, args.port)
    else:
        server.start_io()
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    sys.exit(main())
