package exporter

import (
	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/result"
)

// Report is the JSON answer (SPEC §2): namespace -> pod name -> container key
// ("<runtime>://<id>") -> what was found in it. encoding/json writes map
// keys sorted, so the same result always gives the same bytes.
type Report map[string]map[string]map[string]contract.Finding

// Build turns the containers of a result directory into the report, values
// obfuscated (contract.Finding.Hashed) when hash is set. Namespace, pod name
// and container key are never hashed. The runtimes keep the reader's order,
// sorted on the clear values, so that it does not depend on hashing.
func Build(containers []result.Container, hash bool) Report {
	rep := Report{}
	for _, c := range containers {
		f := c.Finding
		if hash {
			f = f.Hashed()
		}
		pods := rep[c.PodNamespace]
		if pods == nil {
			pods = map[string]map[string]contract.Finding{}
			rep[c.PodNamespace] = pods
		}
		if pods[c.PodName] == nil {
			pods[c.PodName] = map[string]contract.Finding{}
		}
		pods[c.PodName][c.ContainerID] = f
	}
	return rep
}
