#!/usr/bin/env bash
# Prints, in clear text, what insights-runtime-extractor finds on every node:
# asks the exporter of each insights-runtime-extractor pod for
# /gather_runtime_info?hash=false and merges the answers into one JSON document
# on stdout (namespace -> pod -> container, as the HTTP API of the exporter).
# Progress goes to stderr.
#
# The exporter listens on the pod's 127.0.0.1:8000 only (kube-rbac-proxy on
# :8443 is the way in from the network): this script reaches it from inside
# the pod's network namespace, which the API server authorizes as pods/exec
# or pods/portforward in the DaemonSet's namespace.
#
# Environment:
#   NAMESPACE    where the DaemonSet runs (default: insights-runtime-extractor,
#                that of manifests/openshift and manifests/kubernetes;
#                openshift-insights reads the Insights Operator's own pods)
#   KUBECTL      the client to use (default: kubectl, else oc)
#   EXTRACT_VIA  exec (default): `kubectl exec -c exporter -- curl` in each pod;
#                port-forward: `kubectl port-forward` to the pod's 127.0.0.1:8000
#                and curl on this machine, for exporter images without curl
#                (needs the pods/portforward permission)
#
# Exit status: 0 when every pod answered; 1 when no pod was found or a pod
# failed (the document then holds the pods that answered).
set -euo pipefail

NAMESPACE="${NAMESPACE:-insights-runtime-extractor}"
EXTRACT_VIA="${EXTRACT_VIA:-exec}"
SELECTOR="app.kubernetes.io/name=insights-runtime-extractor"
QUERY="gather_runtime_info?hash=false"

die() { echo "extract.sh: $*" >&2; exit 1; }

if [[ -z "${KUBECTL:-}" ]]; then
  if command -v kubectl >/dev/null; then KUBECTL=kubectl
  elif command -v oc >/dev/null; then KUBECTL=oc
  else die "neither kubectl nor oc is on PATH"
  fi
fi
command -v jq >/dev/null || die "jq is needed to merge the answers: install jq"
case "$EXTRACT_VIA" in
  exec) ;;
  port-forward) command -v curl >/dev/null || die "EXTRACT_VIA=port-forward needs curl on this machine: install curl" ;;
  proxy) die "EXTRACT_VIA=proxy is gone: the exporter listens on the pod's 127.0.0.1 only, which the API server's pod proxy cannot reach; use EXTRACT_VIA=port-forward" ;;
  *) die "EXTRACT_VIA must be exec or port-forward, not '$EXTRACT_VIA'" ;;
esac

# port_forward POD OUT ERR: asks the exporter of POD through
# `kubectl port-forward` on a free local port; the exit status is curl's, or
# 1 when the forward did not start within 20 s.
port_forward() {
  local pod=$1 out=$2 err=$3 pf port="" rc i
  : >"$work/$pod.pf"
  "$KUBECTL" port-forward -n "$NAMESPACE" "pod/$pod" :8000 >"$work/$pod.pf" 2>"$err" &
  pf=$!
  for ((i = 0; i < 200; i++)); do
    port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9][0-9]*\) -> 8000$/\1/p' "$work/$pod.pf" | head -n 1)
    [[ -n "$port" ]] && break
    kill -0 "$pf" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -n "$port" ]]; then
    curl -s -S --fail-with-body "http://127.0.0.1:$port/$QUERY" >"$out" 2>>"$err" && rc=0 || rc=$?
  else
    echo "kubectl port-forward did not start" >>"$err"
    rc=1
  fi
  kill "$pf" 2>/dev/null || true
  wait "$pf" 2>/dev/null || true
  return "$rc"
}

if ! pods=$("$KUBECTL" get pods -n "$NAMESPACE" --selector="$SELECTOR" \
    --no-headers -o custom-columns=:metadata.name 2>&1); then
  die "listing the pods of namespace $NAMESPACE failed: $pods"
fi
pods=$(echo "$pods" | grep -v '^[[:space:]]*$' || true)
[[ -n "$pods" ]] || die "no pod labelled $SELECTOR in namespace $NAMESPACE (is the DaemonSet deployed there? set NAMESPACE)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
for pod in $pods; do
  echo "Extracting runtime info from $pod..." >&2
  out="$work/$pod.json"
  if [[ "$EXTRACT_VIA" == exec ]]; then
    # --fail-with-body: an HTTP error of the exporter is a failure that keeps its message.
    "$KUBECTL" exec -n "$NAMESPACE" "$pod" -c exporter -- \
      curl -s -S --fail-with-body "http://127.0.0.1:8000/$QUERY" >"$out" 2>"$work/$pod.err" && rc=0 || rc=$?
  else
    port_forward "$pod" "$out" "$work/$pod.err" && rc=0 || rc=$?
  fi
  if [[ $rc -ne 0 ]]; then
    msg=$(tr '\n' ' ' <"$work/$pod.err" | cut -c1-500)
    body=$(tr '\n' ' ' <"$out" | cut -c1-500)
    echo "extract.sh: $pod failed (exit status $rc): ${msg}${body}" >&2
    failed+=("$pod")
    rm -f "$out"
  elif ! jq -e 'type == "object"' "$out" >/dev/null 2>&1; then
    echo "extract.sh: $pod answered something that is not a JSON object: $(head -c 300 "$out")" >&2
    failed+=("$pod")
    rm -f "$out"
  fi
done

# One node's pods are disjoint from another's: a recursive merge of the
# per-node documents is the cluster's document.
shopt -s nullglob
answers=("$work"/*.json)
if [[ ${#answers[@]} -gt 0 ]]; then
  jq -s 'reduce .[] as $node ({}; . * $node)' "${answers[@]}"
else
  echo '{}'
fi

if [[ ${#failed[@]} -gt 0 ]]; then
  die "${#failed[@]} of $(echo "$pods" | wc -w) pods failed: ${failed[*]}"
fi
