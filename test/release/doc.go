// Package release holds the offline proof of the release artefacts: the
// Containerfiles build with buildah for linux/amd64 and linux/arm64 through
// `make build-image`, the pushed manifest lists hold exactly the expected
// files, modes and architectures, and the Kubernetes manifests decode strictly
// and keep their security invariants.
package release
