#!/usr/bin/env bash
# Builds the insights-runtime-extractor and insights-runtime-exporter images for
# every platform of PLATFORMS (cross-compiled, no emulation) and pushes each as a
# manifest list:
#   $IMAGE_REGISTRY/insights-runtime-extractor:$TAG
#   $IMAGE_REGISTRY/insights-runtime-exporter:$TAG
#
# Environment:
#   IMAGE_REGISTRY  required, e.g. quay.io/<user>
#   TAG             default latest
#   PLATFORMS       default "linux/amd64 linux/arm64"
#   BUILD_TOOL      podman or buildah; default podman when installed, else buildah
#   BUILDER_IMAGE, BASE_IMAGE, GOFIPS140, GOEXPERIMENT
#                   passed as --build-arg when set (see Containerfile.extractor)
#   BUILD_FLAGS     extra flags for every build, word-split (e.g. --volume, --isolation)
#   PUSH            default true; false leaves the manifest lists in local storage
#   TLS_VERIFY      false pushes to a plain-HTTP or self-signed registry; unset
#                   leaves it to registries.conf (TLS unless the registry is insecure)
set -euo pipefail

cd "$(dirname "$0")/.."

die() { echo "build-image: $*" >&2; exit 1; }
say() { echo "build-image: $*" >&2; }

[[ -n "${IMAGE_REGISTRY:-}" ]] || die "IMAGE_REGISTRY is not set: IMAGE_REGISTRY=quay.io/<user> make build-image"
TAG="${TAG:-latest}"
PLATFORMS="${PLATFORMS:-linux/amd64 linux/arm64}"
PUSH="${PUSH:-true}"

if [[ -z "${BUILD_TOOL:-}" ]]; then
  if command -v podman >/dev/null; then BUILD_TOOL=podman
  elif command -v buildah >/dev/null; then BUILD_TOOL=buildah
  else die "neither podman nor buildah is installed"
  fi
fi
case "$BUILD_TOOL" in
  podman|buildah) command -v "$BUILD_TOOL" >/dev/null || die "$BUILD_TOOL is not installed" ;;
  *) die "BUILD_TOOL must be podman or buildah, not '$BUILD_TOOL'" ;;
esac

# Older buildah (Debian 12's 1.28) leaves BUILDPLATFORM empty when --platform is
# given, which would make `FROM --platform=$BUILDPLATFORM` pick the target
# platform's builder; set it explicitly.
case "$(uname -m)" in
  x86_64) build_arch=amd64 ;;
  aarch64|arm64) build_arch=arm64 ;;
  ppc64le) build_arch=ppc64le ;;
  s390x) build_arch=s390x ;;
  *) die "unsupported build machine $(uname -m)" ;;
esac

build_args=(--build-arg "BUILDPLATFORM=linux/$build_arch")
for arg in BUILDER_IMAGE BASE_IMAGE GOFIPS140 GOEXPERIMENT; do
  if [[ -n "${!arg:-}" ]]; then build_args+=(--build-arg "$arg=${!arg}"); fi
done
# shellcheck disable=SC2206 # BUILD_FLAGS is a list of flags on purpose
extra_flags=(${BUILD_FLAGS:-})
push_flags=(--all)
# An explicit --tls-verify=true would override an `insecure = true` of registries.conf.
if [[ -n "${TLS_VERIFY:-}" ]]; then push_flags+=(--tls-verify="$TLS_VERIFY"); fi

for component in extractor exporter; do
  image="$IMAGE_REGISTRY/insights-runtime-$component:$TAG"
  # A fresh list: an old one would keep the previous build's images.
  if "$BUILD_TOOL" manifest inspect "$image" >/dev/null 2>&1; then
    "$BUILD_TOOL" manifest rm "$image" >/dev/null
  fi
  "$BUILD_TOOL" manifest create "$image" >/dev/null
  for platform in $PLATFORMS; do
    say "building $image for $platform"
    "$BUILD_TOOL" build --platform "$platform" --manifest "$image" \
      "${build_args[@]}" "${extra_flags[@]}" -f "Containerfile.$component" . \
      || die "building $image for $platform failed"
  done
  if [[ "$PUSH" == true ]]; then
    say "pushing $image"
    "$BUILD_TOOL" manifest push "${push_flags[@]}" "$image" "docker://$image" \
      || die "pushing $image failed"
  fi
  say "done $image ($PLATFORMS)"
done
