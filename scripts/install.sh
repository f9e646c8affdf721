#!/usr/bin/env bash
# Installs a released b2bready: downloads this platform's archive and the release's
# SHA256SUMS, checks the archive against it, and only then puts the binary in DEST.
# Nothing is installed when a download fails or the checksum differs.
#
#   scripts/install.sh VERSION [DEST]        e.g. scripts/install.sh v0.1.0 "$HOME/.local/bin"
#
# B2BREADY_REPOSITORY (owner/name, the GitHub repository the releases belong to) or
# B2BREADY_RELEASE_URL (a base URL holding VERSION/ARCHIVE, for mirrors; plain http only on
# loopback) say where the release is downloaded from; B2BREADY_TARGET picks the archive
# (e.g. x86_64-unknown-linux-gnu) instead of this machine's.
set -euo pipefail

die() {
  printf 'install.sh: %s\n' "$1" >&2
  exit 1
}

version="${1:-}"
dest="${2:-$HOME/.local/bin}"
[[ "$version" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+([-.+][0-9A-Za-z.-]+)?$ ]] ||
  die "give the version to install, like v0.1.0 (got '${version}')"
version="v${version#v}"

if [[ -n "${B2BREADY_RELEASE_URL:-}" ]]; then
  base="${B2BREADY_RELEASE_URL%/}"
elif [[ -n "${B2BREADY_REPOSITORY:-}" ]]; then
  [[ "$B2BREADY_REPOSITORY" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] ||
    die "B2BREADY_REPOSITORY must be owner/name (got '${B2BREADY_REPOSITORY}')"
  base="https://github.com/${B2BREADY_REPOSITORY}/releases/download"
else
  die "set B2BREADY_REPOSITORY (owner/name) or B2BREADY_RELEASE_URL"
fi
case "$base" in
  https://*) protocols='=https' ;;
  http://127.0.0.1:* | http://127.0.0.1/* | http://localhost:* | http://localhost/*) protocols='=http' ;;
  *) die "the release URL must be https (plain http only on loopback): $base" ;;
esac

case "${B2BREADY_TARGET:+given}/$(uname -s)/$(uname -m)" in
  given/*)
    target="$B2BREADY_TARGET"
    [[ "$target" =~ ^[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+(-[a-z0-9_]+)?$ ]] || die "B2BREADY_TARGET is not a target triple: $target"
    ext=tar.gz
    [[ "$target" == *windows* ]] && ext=zip
    ;;
  /Linux/x86_64) target=x86_64-unknown-linux-gnu ext=tar.gz ;;
  /Linux/aarch64 | /Linux/arm64) target=aarch64-unknown-linux-gnu ext=tar.gz ;;
  /Darwin/arm64) target=aarch64-apple-darwin ext=tar.gz ;;
  /Darwin/x86_64) target=x86_64-apple-darwin ext=tar.gz ;;
  /MINGW*/x86_64 | /MSYS*/x86_64 | /CYGWIN*/x86_64) target=x86_64-pc-windows-msvc ext=zip ;;
  *) die "no release is built for $(uname -s) $(uname -m); build from source with cargo install" ;;
esac
archive="b2bready-${version}-${target}.${ext}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch() {
  curl --proto "$protocols" --fail --silent --show-error --location --retry 3 \
    --output "$work/$1" "$base/$version/$1" || die "cannot download $base/$version/$1"
}
fetch "$archive"
fetch SHA256SUMS

expected="$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1 }' "$work/SHA256SUMS")"
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "SHA256SUMS of $version does not list $archive"
if command -v sha256sum >/dev/null; then
  actual="$(sha256sum "$work/$archive" | awk '{ print $1 }')"
else
  actual="$(shasum -a 256 "$work/$archive" | awk '{ print $1 }')"
fi
[[ "$actual" == "$expected" ]] ||
  die "$archive does not match its checksum (expected $expected, got $actual): nothing installed"

mkdir -p "$work/unpacked"
if [[ "$ext" == zip ]]; then
  unzip -q "$work/$archive" -d "$work/unpacked"
else
  tar -xzf "$work/$archive" -C "$work/unpacked"
fi
binary="$(find "$work/unpacked" -type f \( -name b2bready -o -name b2bready.exe \) | head -n 1)"
[[ -n "$binary" ]] || die "$archive holds no b2bready binary"
mkdir -p "$dest"
name="$(basename "$binary")"
cp "$binary" "$dest/$name.new"
chmod 755 "$dest/$name.new"
mv -f "$dest/$name.new" "$dest/$name"
printf '%s\n' "$dest"
