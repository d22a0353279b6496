#!/usr/bin/env bash
# Builds a syncd release into dist/: static binaries for linux/amd64,
# linux/arm64, darwin/amd64 and darwin/arm64 with the version stamped in,
# one archive per platform, SHA256SUMS, a CycloneDX SBOM per binary, the
# release notes (the CHANGELOG.md section of the version), and the
# container image from deploy/docker/Dockerfile with the same version.
#
#   scripts/release.sh              release: HEAD must carry the tag vX.Y.Z,
#                                   the tree must be clean, CHANGELOG.md must
#                                   have a "## [X.Y.Z]" section; builds and,
#                                   with PUSH=1, pushes the image
#   scripts/release.sh --snapshot   a dry run from any commit: version
#                                   X.Y.Z-snapshot+<commit>, nothing pushed;
#                                   CI runs this on every change
#
# Environment: IMAGE (default ghcr.io/syncd/syncd), PUSH=1 to push the
# image (release only), DIST (default dist).
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot=false
case "${1:-}" in
--snapshot) snapshot=true ;;
"") ;;
*) echo "usage: scripts/release.sh [--snapshot]" >&2; exit 2 ;;
esac
image=${IMAGE:-ghcr.io/syncd/syncd}
dist=${DIST:-dist}
commit=$(git rev-parse --short=12 HEAD)

die() { echo "release: $*" >&2; exit 1; }

# The version: the tag on HEAD, or for a snapshot the last tag (v0.0.0 if
# none) marked as a snapshot of this commit.
if $snapshot; then
	last=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || echo v0.0.0)
	version="${last#v}-snapshot+${commit}"
	[ -z "$(git status --porcelain)" ] || version="${version}.dirty"
else
	tag=$(git tag --points-at HEAD --list 'v[0-9]*.[0-9]*.[0-9]*' | sort -V | tail -n 1)
	[ -n "$tag" ] || die "HEAD carries no tag vX.Y.Z (git tag -a vX.Y.Z -m ...)"
	[ -z "$(git status --porcelain)" ] || die "the working tree has uncommitted changes"
	version=${tag#v}
fi

# Release notes: the CHANGELOG.md section of the version ("Unreleased" for a
# snapshot when there is none yet).
notes() {
	awk -v v="$1" '
		$0 ~ "^## \\[" v "\\]" { on = 1; next }
		on && /^## \[/ { exit }
		on { print }
	' CHANGELOG.md
}
body=$(notes "$version")
if [ -z "$(echo "$body" | tr -d '[:space:]')" ]; then
	$snapshot || die "CHANGELOG.md has no section \"## [$version]\""
	body=$(notes Unreleased)
fi

rm -rf "$dist"
mkdir -p "$dist"
echo "$body" >"$dist/release-notes.md"
ldflags="-s -w -X github.com/syncd/syncd/internal/version.Version=v${version}"
platforms="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64"
for p in $platforms; do
	os=${p%/*} arch=${p#*/}
	name="syncd_${version}_${os}_${arch}"
	dir="$dist/$name"
	mkdir -p "$dir"
	for cmd in syncd teams-emulator; do
		CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$ldflags" -o "$dir/$cmd" "./cmd/$cmd"
	done
	go run ./scripts/sbom "$dir/syncd" >"$dist/$name.cdx.json"
	cp LICENSE README.md CHANGELOG.md config.example.yaml "$dir/"
	# Tracked files only: deploy/kubernetes/secrets/ (git-ignored) holds
	# the maintainer's own secrets when they deploy from this checkout.
	git ls-files -z deploy | tar --null -T - -cf - | tar -C "$dir" -xf -
	tar -C "$dist" --owner=0 --group=0 --sort=name --mtime="@$(git log -1 --format=%ct)" -czf "$dist/$name.tar.gz" "$name"
	rm -rf "$dir"
	echo "built $dist/$name.tar.gz"
done
(cd "$dist" && sha256sum -- *.tar.gz *.cdx.json >SHA256SUMS)

# The binary for this machine must say the version it was given.
host="syncd_${version}_$(go env GOOS)_$(go env GOARCH)"
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
tar -C "$check" -xzf "$dist/$host.tar.gz"
got=$("$check/$host/syncd" version)
case "$got" in
*"v$version"*) echo "checked: $got" ;;
*) die "the built syncd says \"$got\", want v$version" ;;
esac

# The container image, with the same version. No container engine (CI, a
# snapshot): print the command instead of failing.
build=(docker buildx build --platform linux/amd64,linux/arm64 -f deploy/docker/Dockerfile
	--build-arg "VERSION=v${version}" -t "${image}:${version}")
$snapshot || build+=(-t "${image}:latest")
if ! $snapshot && [ "${PUSH:-}" = 1 ]; then
	build+=(--push)
fi
if $snapshot || ! docker info >/dev/null 2>&1; then
	echo "image (not built here): ${build[*]} ."
else
	"${build[@]}" .
fi
echo "release $version: $(ls "$dist" | wc -l) files in $dist/"
