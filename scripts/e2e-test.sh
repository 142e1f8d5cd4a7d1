#!/usr/bin/env bash
# make e2e-test: the cluster e2e (test/e2e/cluster) against the cluster of
# KUBECONFIG (or ~/.kube/config, or the in-cluster service account).
# Images: INSIGHTS_RUNTIME_EXTRACTOR and INSIGHTS_RUNTIME_EXPORTER, or
# $IMAGE_REGISTRY/insights-runtime-{extractor,exporter}:$TAG; samples from
# $INSIGHTS_RUNTIME_SAMPLES_REGISTRY (default $IMAGE_REGISTRY). Logs of the
# DaemonSet go to $ARTIFACT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

kubeconfig_found() {
  local f
  if [[ -n "${KUBECONFIG:-}" ]]; then
    IFS=: read -ra files <<<"$KUBECONFIG"
    for f in "${files[@]}"; do [[ -f "$f" ]] && return 0; done
    return 1
  fi
  [[ -f "${HOME:-/nonexistent}/.kube/config" || -n "${KUBERNETES_SERVICE_HOST:-}" ]]
}
if ! kubeconfig_found; then
  echo "e2e-test: no cluster configured: set KUBECONFIG to the kubeconfig of the cluster to test" >&2
  exit 1
fi
# The suite is of the test module (test/go.mod).
exec "${GO:-go}" -C test test -tags e2e -count=1 -timeout "${E2E_TIMEOUT:-60m}" -v ./e2e/cluster/... "$@"
