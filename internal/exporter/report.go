package exporter

import (
	"cmp"
	"slices"

	"github.com/openshift/insights-runtime-extractor/internal/result"
)

// Report is the JSON answer: namespace -> pod name -> container key
// ("<runtime>://<id>"). encoding/json writes map keys sorted, so the same
// result always gives the same bytes.
type Report map[string]map[string]map[string]ContainerInfo

// ContainerInfo is what was found in one container; every field is
// optional. The field names are a contract with the Insights Operator.
type ContainerInfo struct {
	OS              string        `json:"os,omitempty"`
	OSVersion       string        `json:"osVersion,omitempty"`
	Kind            string        `json:"kind,omitempty"`
	KindVersion     string        `json:"kindVersion,omitempty"`
	KindImplementer string        `json:"kindImplementer,omitempty"`
	Runtimes        []RuntimeInfo `json:"runtimes,omitempty"`
}

// RuntimeInfo is one runtime component (framework, application server).
type RuntimeInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Build turns the containers of a result directory into the report, values
// obfuscated with Hash when hash is set. Namespace, pod name and container
// key are never hashed. Runtimes of all fingerprint files are merged,
// sorted by name then version on the clear values and made unique, so that
// their order does not depend on file names or hashing.
func Build(containers []result.Container, hash bool) Report {
	value := func(v string) string { return v }
	if hash {
		value = Hash
	}
	rep := Report{}
	for _, c := range containers {
		var runtimes []result.Runtime
		for _, items := range c.Fingerprints {
			runtimes = append(runtimes, items...)
		}
		slices.SortFunc(runtimes, func(a, b result.Runtime) int {
			return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
		})
		runtimes = slices.Compact(runtimes)
		info := ContainerInfo{
			OS:              value(c.OSID),
			OSVersion:       value(c.OSVersionID),
			Kind:            value(c.Kind),
			KindVersion:     value(c.KindVersion),
			KindImplementer: value(c.KindImplementer),
		}
		for _, rt := range runtimes {
			info.Runtimes = append(info.Runtimes, RuntimeInfo{Name: value(rt.Name), Version: value(rt.Version)})
		}
		pods := rep[c.PodNamespace]
		if pods == nil {
			pods = map[string]map[string]ContainerInfo{}
			rep[c.PodNamespace] = pods
		}
		if pods[c.PodName] == nil {
			pods[c.PodName] = map[string]ContainerInfo{}
		}
		pods[c.PodName][c.ContainerID] = info
	}
	return rep
}
