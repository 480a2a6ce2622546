#!/usr/bin/env bash
# Lints, type-checks, tests, builds and packages the extension; checks what the .vsix holds.
set -euo pipefail
cd "$(dirname "$0")"

npm ci
npm run lint
npm run typecheck
npm test
npm run build
npx --no-install vsce package --no-dependencies

vsix="ladder-$(node -p "require('./package.json').version").vsix"
listing="$(unzip -l "$vsix")"
if ! grep -q ' extension/dist/extension\.js$' <<<"$listing"; then
  echo "$vsix lacks extension/dist/extension.js" >&2
  exit 1
fi
if grep -Eq ' extension/(src|node_modules)/' <<<"$listing"; then
  echo "$vsix holds extension/src/ or extension/node_modules/" >&2
  exit 1
fi
echo "$vsix is ready"
