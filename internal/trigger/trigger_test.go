package trigger

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseIDs(t *testing.T) {
	full := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name    string
		payload string
		want    []string
		wantErr string
	}{
		{name: "empty payload means every container", payload: "", want: nil},
		{name: "blank payload means every container", payload: " \n\t", want: nil},
		{name: "full id", payload: full, want: []string{full}},
		{name: "full id with trailing newline", payload: full + "\n", want: []string{full}},
		{name: "runtime prefixes kept", payload: "cri-o://" + full + ",containerd://" + full, want: []string{"cri-o://" + full, "containerd://" + full}},
		{name: "hex prefix", payload: "abc123", want: []string{"abc123"}},
		{name: "upper case is lowered", payload: "CRI-O://ABCDEF", want: []string{"cri-o://abcdef"}},
		{name: "spaces around ids trimmed", payload: " abc , def ", want: []string{"abc", "def"}},
		{name: "duplicates dropped, order kept", payload: "def,abc,def", want: []string{"def", "abc"}},
		{name: "65 hex digits", payload: full + "0", wantErr: "invalid container id at position 1"},
		{name: "not hex", payload: "abc,xyz", wantErr: `invalid container id at position 2: "xyz"`},
		{name: "shell metacharacters", payload: "abc;rm -rf /", wantErr: `invalid container id at position 1: "abc;rm -rf /"`},
		{name: "unknown runtime", payload: "docker://abc", wantErr: "invalid container id"},
		{name: "runtime without id", payload: "cri-o://", wantErr: "invalid container id"},
		{name: "option-like id", payload: "-config=/etc/passwd", wantErr: "invalid container id"},
		{name: "path", payload: "../../etc", wantErr: "invalid container id"},
		{name: "empty element", payload: "abc,,def", wantErr: "empty container id at position 2"},
		{name: "trailing comma", payload: "abc,", wantErr: "empty container id at position 2"},
		{name: "binary", payload: "\x00\xff\xfe", wantErr: `invalid container id at position 1: "\x00\xff\xfe"`},
		{name: "long garbage is quoted short", payload: strings.Repeat("z", 500), wantErr: `"` + strings.Repeat("z", 80) + `"…`},
		{name: "more ids than one argument can hold", payload: manyIDs(2100), wantErr: "too many container ids"},
		{name: "as many ids as one argument can hold", payload: manyIDs(1950), want: strings.Split(manyIDs(1950), ",")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIDs([]byte(tt.payload))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ids = %q, want %q", got, tt.want)
			}
		})
	}
}

// manyIDs returns n distinct full ids, comma-joined.
func manyIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064x", i)
	}
	return strings.Join(ids, ",")
}

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		answer, wantPath, wantErr string
	}{
		{"/data/out-1\n", "/data/out-1", ""},
		{"/data/out-1", "/data/out-1", ""},
		{"error: busy: 16 requests already waiting\n", "", "extractor: busy: 16 requests already waiting"},
		{"", "", "without an answer"},
		{"/data/out-1\n/data/out-2\n", "", "more than one line"},
	}
	for _, tt := range tests {
		path, err := ParseAnswer(tt.answer)
		if path != tt.wantPath || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("ParseAnswer(%q) = %q, %v; want %q, %q", tt.answer, path, err, tt.wantPath, tt.wantErr)
		}
	}
}

// TestServerErrorKinds: the client tells a full queue and a killed
// coordinator apart by the exact prefixes the server writes, and nothing else.
func TestServerErrorKinds(t *testing.T) {
	tests := []struct {
		answer               string
		wantBusy, wantTimout bool
	}{
		{ErrorPrefix + BusyPrefix + "16 requests already waiting\n", true, false},
		{ErrorPrefix + BusyPrefix + "too many connections\n", true, false},
		{ErrorPrefix + TimeoutPrefix + "after 75s and was killed\n", false, true},
		{"error: coordinator failed: exit status 1: busy: the runtime is busy\n", false, false},
		{"error: server shutting down\n", false, false},
		{"error: Busy: no\n", false, false},
	}
	for _, tt := range tests {
		_, err := ParseAnswer(tt.answer)
		if err == nil {
			t.Fatalf("ParseAnswer(%q): no error", tt.answer)
		}
		if got := errors.Is(err, ErrBusy); got != tt.wantBusy {
			t.Errorf("%q: Is(ErrBusy) = %v", tt.answer, got)
		}
		if got := errors.Is(err, ErrCoordinatorTimeout); got != tt.wantTimout {
			t.Errorf("%q: Is(ErrCoordinatorTimeout) = %v", tt.answer, got)
		}
	}
}
