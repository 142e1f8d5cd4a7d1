// Package release holds the offline proof of the release artefacts: the
// Containerfiles build with buildah for linux/amd64 and linux/arm64 through
// `make build-image`, the pushed manifest lists hold exactly the expected
// files, modes and architectures, the Kubernetes manifests decode strictly
// and keep their security invariants, and `make runtime-samples` builds and
// pushes the runtime samples the cluster e2e runs (every sample pinned and
// with a recipe or an expectation).
package release
