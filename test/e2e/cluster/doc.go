// Package cluster is the end-to-end suite against a real cluster
// (sigs.k8s.io/e2e-framework + Gomega): it deploys the DaemonSet of
// manifests/ with the images under test, runs the runtime samples as pods,
// asks the exporter on each sample's node and asserts the exact JSON, POST
// filtering, hashing and a sidecar. Build tag e2e; run with `make e2e-test`
// against the cluster of KUBECONFIG (see README.adoc). Not part of make test.
package cluster
