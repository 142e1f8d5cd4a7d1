#!/usr/bin/env bash
# Builds CRI-O (crio + pinns) and crictl from their Go modules into a cache
# directory outside the checkout, keyed by the versions and this recipe, and
# prints that directory. A second call finds the cache and returns at once.
#
#   test/crio/build.sh            # prints e.g. /var/cache/insights-runtime-extractor/crio-v1.34.0-<hash>
#
# Needs root (apt-get), the Go module proxy and gcc. Cold: ~15-20 min on 2
# cores, nearly all of it Go compilation; warm: instant.
set -euo pipefail

CRIO_VERSION=${CRIO_VERSION:-v1.34.0}     # the CRI-O minor of recent OpenShift; the proxy serves this tag whole
CRICTL_VERSION=${CRICTL_VERSION:-v1.34.0}
BUILDTAGS="containers_image_ostree_stub containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper seccomp"
PACKAGES="libseccomp-dev pkg-config gcc make libc6-dev"
CACHE=${IRE_CACHE_DIR:-/var/cache/insights-runtime-extractor}

here=$(cd "$(dirname "$0")" && pwd)
key=$( { echo "$CRIO_VERSION $CRICTL_VERSION $BUILDTAGS $PACKAGES"; go version; cat "$here/build.sh"; } | sha256sum | cut -c1-12)
out="$CACHE/crio-$CRIO_VERSION-$key"
if [ -x "$out/bin/crio" ] && [ -x "$out/bin/pinns" ] && [ -x "$out/bin/crictl" ]; then
  echo "$out"; exit 0
fi

log() { echo "[crio-build $(date +%T)] $*" >&2; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.crio-build.lock"
flock 9
if [ -x "$out/bin/crio" ] && [ -x "$out/bin/pinns" ] && [ -x "$out/bin/crictl" ]; then
  echo "$out"; exit 0   # another process built it while this one waited
fi

missing=$(for p in $PACKAGES; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
  log "apt-get install $missing"
  exec 8>"${TMPDIR:-/tmp}/insights-runtime-extractor-apt.lock"   # the lock test/debpkg shares
  flock 8
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; }
  flock -u 8
fi

tmp=$(mktemp -d "$CACHE/.crio-build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export GOFLAGS=-buildvcs=false
start=$SECONDS
log "download github.com/cri-o/cri-o@$CRIO_VERSION"
src=$(cd "$tmp" && go mod download -json "github.com/cri-o/cri-o@$CRIO_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "crio-build: no source directory for cri-o $CRIO_VERSION" >&2; exit 1; }
cp -r "$src" "$tmp/cri-o"; chmod -R u+w "$tmp/cri-o"
mkdir -p "$tmp/out/bin"
log "build crictl $CRICTL_VERSION (in parallel)"
( cd "$tmp" && CGO_ENABLED=0 GOBIN="$tmp/out/bin" go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" ) &
crictl_pid=$!
log "build pinns"
make -s -C "$tmp/cri-o/pinns" >/dev/null
cp "$tmp/cri-o/bin/pinns" "$tmp/out/bin/pinns"
log "build crio (the long step: several minutes on 2 cores)"
( cd "$tmp/cri-o" && go build -tags "$BUILDTAGS" -o "$tmp/out/bin/crio" ./cmd/crio )
wait "$crictl_pid"
"$tmp/out/bin/crio" --version | head -1 >&2
rm -rf "$out"; mv "$tmp/out" "$out"
log "done in $((SECONDS - start)) s: $out"
echo "$out"
