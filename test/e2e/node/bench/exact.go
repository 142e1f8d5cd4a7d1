package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/openshift/insights-runtime-extractor/test/e2e/expect"
	"github.com/openshift/insights-runtime-extractor/test/e2e/node/workloads"
)

// exactness holds, per sample, the entry every container of that sample must
// have in the exporter's JSON: derived once, from the first such container,
// by the node e2e's own code (test/e2e/expect).
type exactness struct {
	env  *workloads.Env
	want map[string]string // sample → canonical JSON of its entry
}

func newExactness(env *workloads.Env) *exactness {
	return &exactness{env: env, want: map[string]string{}}
}

// check compares the answer of a hash=false GET with what every pod must
// report: each container its sample's entry, and no other container.
func (x *exactness) check(ctx context.Context, body []byte, pods []benchPod) error {
	return compare(body, pods, x.env.Node.KeyPrefix(), func(p benchPod) (string, error) { return x.entry(ctx, p) })
}

// compare is check with the node's key prefix and the expected entries given.
func compare(body []byte, pods []benchPod, prefix string, entry func(benchPod) (string, error)) error {
	var doc expect.Document
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("the answer is not the exporter's JSON: %w", err)
	}
	var diffs []string
	seen := 0
	for _, p := range pods {
		c := p.pod.Containers[0]
		want, err := entry(p)
		if err != nil {
			return err
		}
		key := prefix + c.ID
		got, ok := doc[p.pod.Namespace][p.pod.Name][key]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s/%s %s (%s): missing", p.pod.Namespace, p.pod.Name, key, p.sample))
			continue
		}
		seen++
		if g := expect.Canonical(got); g != want {
			diffs = append(diffs, fmt.Sprintf("%s/%s %s (%s):\n  want %s\n  got  %s", p.pod.Namespace, p.pod.Name, key, p.sample,
				oneLine(want), oneLine(g)))
		}
	}
	total := 0
	for _, ps := range doc {
		for _, cs := range ps {
			total += len(cs)
		}
	}
	if total != seen {
		diffs = append(diffs, fmt.Sprintf("%d containers reported that the bench did not start", total-seen))
	}
	if len(diffs) == 0 {
		return nil
	}
	if len(diffs) > 10 {
		diffs = append(diffs[:10], fmt.Sprintf("… and %d more", len(diffs)-10))
	}
	return fmt.Errorf("NOT EXACT: %d of %d containers differ from what their samples must report:\n%s", len(diffs), len(pods), strings.Join(diffs, "\n"))
}

// entry is the canonical JSON of the entry of p's sample.
func (x *exactness) entry(ctx context.Context, p benchPod) (string, error) {
	if w, ok := x.want[p.sample]; ok {
		return w, nil
	}
	c := p.pod.Containers[0]
	s := x.env.Images.Sample(p.sample)
	e, err := expect.EntryOf(ctx, x.env.Images, s, s.Container(c.Name), c.ID, expect.NodeExec(x.env.Node))
	if err != nil {
		return "", fmt.Errorf("what %s must report: %w", p.sample, err)
	}
	x.want[p.sample] = expect.Canonical(e.Fields())
	return x.want[p.sample], nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
