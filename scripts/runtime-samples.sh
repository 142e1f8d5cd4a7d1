#!/usr/bin/env bash
# make runtime-samples: builds the image of every runtime sample a cluster runs
# (runtime-samples/*/Containerfile but those whose recipe.json is marked
# "nodeOnly") for the build machine's platform and pushes it as
#   $INSIGHTS_RUNTIME_SAMPLES_REGISTRY/insights-runtime-sample-<folder>:$TAG
# which is what the cluster e2e (make e2e-test) pulls.
#
# Samples whose Containerfile copies rootfs/ are generated: their content is
# written by test/e2e/cluster/samplerootfs (the node e2e's generators, which
# need a JDK on this machine) into a build context under $WORK_DIR.
# Samples based on registry.redhat.io (jws, eap7) need `podman login
# registry.redhat.io` (or buildah login) first.
#
# Environment:
#   INSIGHTS_RUNTIME_SAMPLES_REGISTRY  default $IMAGE_REGISTRY; one of them is required
#   TAG              default latest
#   RUNTIME_SAMPLES  the folders to build, space-separated; default all of them
#   BUILD_TOOL       podman or buildah; default podman when installed, else buildah
#   BUILD_FLAGS      extra flags for every build, word-split (e.g. --platform, --pull)
#   PUSH             default true; false leaves the images in local storage
#   TLS_VERIFY       false pushes to a plain-HTTP or self-signed registry
#   WORK_DIR         build contexts of generated samples; default bin/runtime-samples
#   DRY_RUN          1 prints the commands (shell-quoted, one a line) instead of running them
#   GO               default go
set -euo pipefail

cd "$(dirname "$0")/.."
export LC_ALL=C # the glob order of the samples, whatever the locale

die() { echo "runtime-samples: $*" >&2; exit 1; }
DRY_RUN="${DRY_RUN:-}"
say() { [[ -n "$DRY_RUN" ]] || echo "runtime-samples: $*" >&2; }
# run runs a command, or prints it under DRY_RUN.
run() {
  if [[ -n "$DRY_RUN" ]]; then
    local out="" arg
    for arg in "$@"; do out+="${out:+ }$(printf '%q' "$arg")"; done
    echo "$out"
  else
    "$@"
  fi
}

case "$DRY_RUN" in ""|1) ;; *) die "DRY_RUN must be 1 or unset, not '$DRY_RUN'" ;; esac
registry="${INSIGHTS_RUNTIME_SAMPLES_REGISTRY:-${IMAGE_REGISTRY:-}}"
[[ -n "$registry" ]] || die "no registry: set INSIGHTS_RUNTIME_SAMPLES_REGISTRY or IMAGE_REGISTRY, e.g. IMAGE_REGISTRY=quay.io/<user> make runtime-samples"
TAG="${TAG:-latest}"
PUSH="${PUSH:-true}"
case "$PUSH" in true|false) ;; *) die "PUSH must be true or false, not '$PUSH'" ;; esac
WORK_DIR="${WORK_DIR:-bin/runtime-samples}"
GO="${GO:-go}"

if [[ -z "${BUILD_TOOL:-}" ]]; then
  if command -v podman >/dev/null; then BUILD_TOOL=podman
  elif command -v buildah >/dev/null; then BUILD_TOOL=buildah
  else die "neither podman nor buildah is installed"
  fi
fi
case "$BUILD_TOOL" in
  podman|buildah)
    # A dry run only prints: it does not need the tool.
    [[ -n "$DRY_RUN" ]] || command -v "$BUILD_TOOL" >/dev/null || die "$BUILD_TOOL is not installed" ;;
  *) die "BUILD_TOOL must be podman or buildah, not '$BUILD_TOOL'" ;;
esac

# A recipe marked "nodeOnly" (read by the node e2e as well) never goes to a registry.
node_only() { grep -q '"nodeOnly": *true' "runtime-samples/$1/recipe.json" 2>/dev/null; }

if [[ -n "${RUNTIME_SAMPLES:-}" ]]; then
  # shellcheck disable=SC2206 # a list of names on purpose
  samples=($RUNTIME_SAMPLES)
  for s in "${samples[@]}"; do
    [[ -f "runtime-samples/$s/Containerfile" ]] || die "no runtime sample '$s' (runtime-samples/$s/Containerfile)"
    if node_only "$s"; then die "'$s' runs only on the local node of the node e2e, never on a cluster"; fi
  done
else
  samples=()
  # By name ("quarkus" before "quarkus-redhat"), not by path.
  for s in $(for f in runtime-samples/*/Containerfile; do basename "$(dirname "$f")"; done | sort); do
    node_only "$s" || samples+=("$s")
  done
fi

generated() { grep -q '^COPY rootfs/' "runtime-samples/$1/Containerfile"; }

# shellcheck disable=SC2206 # BUILD_FLAGS is a list of flags on purpose
extra_flags=(${BUILD_FLAGS:-})
push_flags=()
# An explicit --tls-verify=true would override an `insecure = true` of registries.conf.
if [[ -n "${TLS_VERIFY:-}" ]]; then push_flags+=(--tls-verify="$TLS_VERIFY"); fi

generator="$WORK_DIR/samplerootfs"
for s in "${samples[@]}"; do
  if generated "$s"; then
    say "building the sample generator"
    run mkdir -p "$WORK_DIR"
    # The generator is of the test module (test/go.mod): built there.
    out="$generator"; [[ "$out" = /* ]] || out="../$out"
    run "$GO" -C test build -o "$out" ./e2e/cluster/samplerootfs || die "building the sample generator failed"
    break
  fi
done

for s in "${samples[@]}"; do
  image="$registry/insights-runtime-sample-$s:$TAG"
  context="runtime-samples/$s"
  if generated "$s"; then
    context="$WORK_DIR/$s"
    say "generating the content of $s into $context/rootfs"
    run rm -rf "$context"
    run mkdir -p "$context"
    run cp -R "runtime-samples/$s/." "$context"
    run "$generator" -recipe "runtime-samples/$s" -rootfs "$context/rootfs" || die "generating $s failed"
  fi
  hint=""
  if grep -q '^FROM registry.redhat.io/' "runtime-samples/$s/Containerfile"; then
    hint=" (its base image is on registry.redhat.io: $BUILD_TOOL login registry.redhat.io first)"
  fi
  say "building $image"
  run "$BUILD_TOOL" build "${extra_flags[@]}" -t "$image" -f "$context/Containerfile" "$context" \
    || die "building $image failed$hint"
  if [[ "$PUSH" == true ]]; then
    say "pushing $image"
    run "$BUILD_TOOL" push "${push_flags[@]}" "$image" "docker://$image" || die "pushing $image failed"
  fi
done
say "done: ${#samples[@]} samples"
