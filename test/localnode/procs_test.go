package localnode

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, line string
		want       Proc
		wantErr    bool
	}{
		{"plain", "42 (sleep) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 1000 100 ...",
			Proc{PID: 42, PPID: 1, Comm: "sleep", State: "S", StartTime: 12345}, false},
		{"comm with spaces and parentheses", "7 (a) b (c)) Z 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
			Proc{PID: 7, PPID: 3, Comm: "a) b (c)", State: "Z", StartTime: 99}, false},
		{"no command name", "7 a Z 3", Proc{}, true},
		{"cut short", "7 (a) S 3 7", Proc{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat(tc.line)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("parseStat = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestReadProcOfItself(t *testing.T) {
	p, err := ReadProc(os.Getpid())
	if err != nil || p.PID != os.Getpid() || p.PPID != os.Getppid() || p.StartTime == 0 {
		t.Fatalf("ReadProc(self) = %+v, %v", p, err)
	}
}
