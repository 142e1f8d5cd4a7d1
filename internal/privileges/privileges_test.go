package privileges

import (
	"bufio"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const sysAdmin, setuid = uint64(1) << 21, uint64(1) << 7
	tests := []struct {
		name        string
		effective   uint64
		wantMissing []Cap
		wantMessage string
	}{
		{name: "all capabilities of a privileged container pass", effective: ^uint64(0)},
		{name: "exactly the two needed pass", effective: sysAdmin | setuid},
		{name: "no capabilities names both", effective: 0, wantMissing: []Cap{CapSysAdmin, CapSetuid},
			wantMessage: "missing capabilities CAP_SYS_ADMIN, CAP_SETUID: run as root in a privileged container (securityContext.privileged: true)"},
		{name: "without CAP_SETUID names only it", effective: sysAdmin, wantMissing: []Cap{CapSetuid}},
		{name: "without CAP_SYS_ADMIN names only it", effective: setuid | 1<<0, wantMissing: []Cap{CapSysAdmin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.effective, CapSysAdmin, CapSetuid)
			if tt.wantMissing == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var missing *MissingError
			if !errors.As(err, &missing) {
				t.Fatalf("Check = %v, want *MissingError", err)
			}
			if !reflect.DeepEqual(missing.Missing, tt.wantMissing) {
				t.Errorf("missing = %v, want %v", missing.Missing, tt.wantMissing)
			}
			if tt.wantMessage != "" && err.Error() != tt.wantMessage {
				t.Errorf("message = %q, want %q", err.Error(), tt.wantMessage)
			}
		})
	}
}

// TestEffectiveMatchesProcStatus proves capget reads the same set the kernel
// reports in /proc/self/status, whoever runs the test.
func TestEffectiveMatchesProcStatus(t *testing.T) {
	got, err := Effective()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "CapEff:"); ok {
			want, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("Effective = %#x, /proc/self/status CapEff = %#x", got, want)
			}
			return
		}
	}
	t.Fatal("no CapEff line in /proc/self/status")
}

func TestRequireAgreesWithCheck(t *testing.T) {
	eff, err := Effective()
	if err != nil {
		t.Fatal(err)
	}
	if (Require(CapSysAdmin, CapSetuid) == nil) != (Check(eff, CapSysAdmin, CapSetuid) == nil) {
		t.Fatal("Require and Check disagree on the same set")
	}
}
