#!/bin/sh
# Prints a digest of the source tree in the current directory: 12 hex
# characters that change when any file's content or path changes, and only
# then (file order, timestamps and permissions do not count).
#   sh scripts/source-digest.sh
# Counted: every regular file, except version control (.git) and what builds
# write into the tree (node_modules/, reports/, coverage/, service-config.json).
# The digest is the sha256 of the list "sha256  path" of those files, sorted
# byte by byte (C locale), so it is the same on every machine.
# buildspec.yml tags each image with it, so a tag is reused only for the content
# it was built from.
set -eu
files=$(mktemp)
sums=$(mktemp)
trap 'rm -f "$files" "$sums"' EXIT

find . \( -name .git -o -path ./node_modules -o -path ./reports -o -path ./coverage \) -prune \
  -o -type f ! -path ./service-config.json -print0 > "$files"
# Through files, so that a file that cannot be read fails the script instead of being left out.
LC_ALL=C sort -z "$files" | xargs -0 -r sha256sum -- > "$sums"
sha256sum < "$sums" | cut -c 1-12
