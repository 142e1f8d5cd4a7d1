package node

import (
	"context"

	"github.com/openshift/insights-runtime-extractor/test/e2e/expect"
	"github.com/openshift/insights-runtime-extractor/test/e2e/node/workloads"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// document is the exporter's JSON: namespace → pod → container key → fields.
type document = expect.Document

// expectedDocument derives, from the samples themselves, what the extractor
// must report for every running container (test/e2e/expect), asking the
// containers through CRI where only they know.
func expectedDocument(ctx context.Context, env *workloads.Env, pods []workloads.Pod, running map[string]*localnode.Pod) (document, error) {
	var ps []expect.Pod
	for _, p := range pods {
		ps = append(ps, expect.Pod{Spec: p.Spec, Samples: p.Samples, Running: running[p.Spec.Namespace+"/"+p.Spec.Name]})
	}
	return expect.Expected(ctx, env.Images, env.Node.KeyPrefix(), ps, expect.NodeExec(env.Node))
}

// key is a container's key in the exporter's JSON: exactly what Kubernetes
// shows as its containerID, "<runtime>://<64 hex>" with the node's runtime
// ("cri-o://" on CRI-O, the key the Insights Operator joins on).
func key(id string) string {
	return state.env.Node.KeyPrefix() + id
}

// subset keeps only the containers with these (bare) ids.
func subset(d document, ids ...string) document {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = key(id)
	}
	return d.Subset(keys...)
}
