package detect

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

func TestRegisterRefusesIncompleteAndDuplicateDetectors(t *testing.T) {
	ok := func(context.Context, Env) (contract.Finding, error) { return contract.Finding{}, nil }
	for _, tc := range []struct {
		name string
		d    Detector
		want string
	}{
		{"no name", Detector{Fingerprint: "t-reg", Detect: ok}, "incomplete"},
		{"no fingerprint", Detector{Name: "t-reg-a", Detect: ok}, "incomplete"},
		{"no Detect", Detector{Name: "t-reg-a", Fingerprint: "t-reg"}, "incomplete"},
		{"twice", Detector{Name: "t-reg-twice", Fingerprint: "t-reg", Detect: ok}, "registered twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "twice" {
				Register(tc.d)
			}
			defer func() {
				if r, _ := recover().(string); !strings.Contains(r, tc.want) {
					t.Errorf("panic %q, want %q", r, tc.want)
				}
			}()
			Register(tc.d)
		})
	}
}

// Run runs, by name, the detectors of one fingerprint that apply, merges
// their findings (first value wins) and keeps going past a detector error.
func TestRunMergesApplyingDetectorsInNameOrder(t *testing.T) {
	const fp = "t-run"
	found := func(f contract.Finding, err error) func(context.Context, Env) (contract.Finding, error) {
		return func(context.Context, Env) (contract.Finding, error) { return f, err }
	}
	Register(Detector{Name: "t-run-b", Fingerprint: fp, Detect: found(contract.Finding{Kind: "B", KindVersion: "2"}, nil)})
	Register(Detector{Name: "t-run-a", Fingerprint: fp, Detect: found(contract.Finding{Kind: "A"}, errors.New("half blind"))})
	Register(Detector{Name: "t-run-c", Fingerprint: fp, Detect: found(contract.Finding{KindImplementer: "C"}, nil),
		Applies: func(req fingerprint.Request) bool { return req.Process.Name == "c" }})
	Register(Detector{Name: "t-other", Fingerprint: "t-other", Detect: found(contract.Finding{OS: "other"}, nil)})

	var names []string
	for _, d := range Of(fp) {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, ","); got != "t-run-a,t-run-b,t-run-c" {
		t.Errorf("Of = %s", got)
	}
	for _, tc := range []struct {
		process string
		want    contract.Finding
	}{
		{"x", contract.Finding{Kind: "A", KindVersion: "2"}},
		{"c", contract.Finding{Kind: "A", KindVersion: "2", KindImplementer: "C"}},
	} {
		got, err := Run(context.Background(), fp, Env{Request: fingerprint.Request{Process: fingerprint.Process{Name: tc.process}}})
		if err != nil || got.Kind != tc.want.Kind || got.KindVersion != tc.want.KindVersion || got.KindImplementer != tc.want.KindImplementer || got.OS != "" {
			t.Errorf("%s: %+v, %v; want %+v", tc.process, got, err, tc.want)
		}
	}
	if _, err := Run(context.Background(), "t-none", Env{}); err == nil {
		t.Error("a fingerprint without detectors ran")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, fp, Env{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
