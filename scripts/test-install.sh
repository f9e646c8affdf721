#!/usr/bin/env bash
# Tests scripts/install.sh (what the GitHub Action runs) against a release served over
# loopback: an archive that matches SHA256SUMS is installed and runs; a tampered one, or one
# SHA256SUMS does not list, is refused with nothing left in the destination.
#
#   scripts/test-install.sh PATH/TO/b2bready
set -euo pipefail
binary="${1:?give a built b2bready binary}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
server=""
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  printf 'test-install: FAILED: %s\n' "$1" >&2
  exit 1
}

version=v0.0.0-test
target=x86_64-unknown-linux-gnu
name="b2bready-${version}-${target}"
mkdir -p "$work/release/$version/$name"
cp "$binary" "$work/release/$version/$name/b2bready"
tar -czf "$work/release/$version/$name.tar.gz" -C "$work/release/$version" "$name"
rm -rf "${work:?}/release/$version/$name"
(cd "$work/release/$version" && sha256sum -- *.tar.gz > SHA256SUMS)

python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$work/release" > "$work/server.log" 2>&1 &
server=$!
port=""
for _ in $(seq 50); do
  port="$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$work/server.log" | head -n 1)"
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || fail "the loopback server did not start"
export B2BREADY_RELEASE_URL="http://127.0.0.1:$port" B2BREADY_TARGET="$target"

"$here/install.sh" "$version" "$work/good" > /dev/null || fail "a good release was not installed"
"$work/good/b2bready" --version | grep -q '^b2bready ' || fail "the installed binary does not run"

printf 'x' >> "$work/release/$version/$name.tar.gz"
if "$here/install.sh" "$version" "$work/bad" 2> "$work/bad.err"; then
  fail "a tampered archive was installed"
fi
grep -q 'does not match its checksum' "$work/bad.err" || fail "the refusal does not say why: $(cat "$work/bad.err")"
[[ ! -e "$work/bad/b2bready" ]] || fail "a tampered archive left a binary behind"

if B2BREADY_TARGET=aarch64-apple-darwin "$here/install.sh" "$version" "$work/other" 2> /dev/null; then
  fail "an archive the release does not have was installed"
fi
[[ ! -e "$work/other/b2bready" ]] || fail "a missing archive left a binary behind"
echo "test-install: a verified release is installed; a tampered or missing one is refused"
