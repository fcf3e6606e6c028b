#!/bin/sh
# Prints the tag for the image built from the source in the current directory.
#   1. a git tag vX.Y.Z on the built commit      -> X.Y.Z (the highest, if several)
#   2. otherwise, with git metadata               -> the first 10 characters of the commit id
#   3. no git metadata (an S3 source.zip)         -> the content of the VERSION file in the zip
# ECR tags are immutable here, so every source revision must give its own tag.
set -eu

if git rev-parse --verify --quiet HEAD >/dev/null 2>&1; then
  release=$(git tag --points-at HEAD | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sed 's/^v//' |
    sort -t . -k 1,1n -k 2,2n -k 3,3n | tail -n 1 || true)
  if [ -n "$release" ]; then
    echo "$release"
  else
    git rev-parse HEAD | cut -c 1-10
  fi
  exit 0
fi

if [ -f VERSION ]; then
  version=$(tr -d ' \t\r\n' < VERSION)
  # What ECR accepts as a tag.
  if printf '%s' "$version" | grep -Eq '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'; then
    echo "$version"
    exit 0
  fi
  echo "image-tag: VERSION holds \"$version\", which is not a valid image tag (letters, digits, . _ -; at most 128)." >&2
  exit 2
fi

echo "image-tag: no git metadata and no VERSION file here ($(pwd)): cannot name the image. Build from a git checkout or a source.zip that contains VERSION." >&2
exit 2
