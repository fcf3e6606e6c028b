#!/bin/sh
# Prints the tag for the image built from the source in the current directory.
#   1. a git tag vX.Y.Z on the built commit      -> X.Y.Z (the highest, if several; tags fetched from origin)
#   2. otherwise, with git metadata               -> the first 10 characters of the commit id
#   3. no git metadata (an S3 source.zip)         -> the content of the VERSION file in the zip
# ECR tags are immutable here, so every source revision must give its own tag.
# buildspec.yml also tags the image <tag>-src-<12 hex> (the content it was built
# from), and ECR takes at most 128 characters: so a tag has at most 111.
set -eu
max=111

# Prints the tag, or refuses one too long to leave room for the content tag.
emit() {
  if [ "${#1}" -gt "$max" ]; then
    echo "image-tag: $2 is ${#1} characters long; an image tag here may have at most $max, so that the content tag <tag>-src-<12 hex> stays within ECR's 128. Use a shorter one." >&2
    exit 2
  fi
  echo "$1"
  exit 0
}

if git rev-parse --verify --quiet HEAD >/dev/null 2>&1; then
  # A pipeline's clone (CodeCommit's CODEBUILD_CLONE_REF) may bring the branch without its tags: fetch
  # them, with the build role's credentials (git-credential-helper in buildspec.yml). If that fails,
  # the clone's own tags decide, and the log says so.
  if git remote get-url origin >/dev/null 2>&1; then
    if ! fetched=$(git fetch --quiet --tags origin 2>&1); then
      echo "image-tag: could not fetch the tags from origin ($fetched); going on with this clone's tags." >&2
    fi
  fi
  release=$(git tag --points-at HEAD | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sed 's/^v//' |
    sort -t . -k 1,1n -k 2,2n -k 3,3n | tail -n 1 || true)
  [ -z "$release" ] || emit "$release" "The release tag v$release"
  git rev-parse HEAD | cut -c 1-10
  exit 0
fi

if [ -f VERSION ]; then
  version=$(tr -d ' \t\r\n' < VERSION)
  # The characters ECR accepts in a tag; emit checks the length.
  if printf '%s' "$version" | grep -Eq '^[A-Za-z0-9_][A-Za-z0-9_.-]*$'; then
    emit "$version" "The tag in VERSION (\"$version\")"
  fi
  echo "image-tag: VERSION holds \"$version\", which is not a valid image tag (letters, digits, . _ -, starting with a letter, digit or _; at most $max characters)." >&2
  exit 2
fi

echo "image-tag: no git metadata and no VERSION file here ($(pwd)): cannot name the image. Build from a git checkout or a source.zip that contains VERSION." >&2
exit 2
