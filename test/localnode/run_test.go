package localnode

import (
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A long step says what it is, that it still runs and, when asked, streams
// its output; a failing one keeps the end of its output in the error.
func TestRunLoggedShowsProgress(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		stream   bool
		wantLog  []string
		wantNot  []string
		wantErr  string
		minTicks int
	}{
		{
			name:     "a quiet build says it still runs",
			script:   "echo compiling; sleep 0.4",
			wantLog:  []string{`msg="build x: started"`, `msg="build x: still running" elapsed=`, `msg="build x: done"`},
			wantNot:  []string{"output=compiling"},
			minTicks: 2,
		},
		{
			name:    "a streamed step logs each line as it comes",
			script:  "echo 'I: Retrieving InRelease'; echo 'I: Extracting base-files'",
			stream:  true,
			wantLog: []string{`msg="build x" output="I: Retrieving InRelease"`, `msg="build x" output="I: Extracting base-files"`},
		},
		{
			name:    "a failure keeps the end of the output",
			script:  "echo 'E: no such suite' >&2; exit 3",
			wantErr: "build x: exit status 3: E: no such suite",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log strings.Builder
			err := runLoggedEvery(slog.New(slog.NewTextHandler(&log, nil)), "build x", tc.stream,
				exec.Command("sh", "-c", tc.script), 100*time.Millisecond)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.wantLog {
				if !strings.Contains(log.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, log.String())
				}
			}
			for _, not := range tc.wantNot {
				if strings.Contains(log.String(), not) {
					t.Errorf("log has %q:\n%s", not, log.String())
				}
			}
			if n := strings.Count(log.String(), "still running"); n < tc.minTicks {
				t.Errorf("%d progress lines, want at least %d:\n%s", n, tc.minTicks, log.String())
			}
		})
	}
}
