package cri

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPIDFromInfo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fixture string            // testdata file holding the Info map
		info    map[string]string // used when fixture is empty
		wantPID int
		wantErr error
	}{
		{name: "real containerd 1.6 payload", fixture: "containerd-1.6.20-status-info.json", wantPID: 29481},
		{name: "real CRI-O 1.34 payload (no infra container, pinned namespaces)", fixture: "cri-o-1.34.0-status-info.json", wantPID: 25184},
		{name: "CRI-O payload", fixture: "cri-o-status-info.json", wantPID: 48213},
		{name: "CRI-O payload with checkpoint fields", fixture: "cri-o-checkpoint-status-info.json", wantPID: 7321},
		{name: "minimal document", info: map[string]string{"info": `{"pid": 1}`}, wantPID: 1},
		{name: "no info key", info: map[string]string{"other": `{"pid": 12}`}, wantErr: ErrBadResponse},
		{name: "nil map", info: nil, wantErr: ErrBadResponse},
		{name: "info is not JSON", info: map[string]string{"info": `pid=12`}, wantErr: ErrBadResponse},
		{name: "info is a JSON array", info: map[string]string{"info": `[12]`}, wantErr: ErrBadResponse},
		{name: "no pid field", info: map[string]string{"info": `{"sandboxID": "x"}`}, wantErr: ErrBadResponse},
		{name: "pid null", info: map[string]string{"info": `{"pid": null}`}, wantErr: ErrBadResponse},
		{name: "pid not a number", info: map[string]string{"info": `{"pid": "twelve"}`}, wantErr: ErrBadResponse},
		{name: "pid fractional", info: map[string]string{"info": `{"pid": 1.5}`}, wantErr: ErrBadResponse},
		{name: "pid negative", info: map[string]string{"info": `{"pid": -4}`}, wantErr: ErrBadResponse},
		{name: "pid above the kernel limit", info: map[string]string{"info": `{"pid": 4194305}`}, wantErr: ErrBadResponse},
		{name: "pid overflowing int64", info: map[string]string{"info": `{"pid": 99999999999999999999999}`}, wantErr: ErrBadResponse},
		{name: "pid zero: task exited", info: map[string]string{"info": `{"pid": 0}`}, wantErr: ErrContainerGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := tc.info
			if tc.fixture != "" {
				b, err := os.ReadFile(filepath.Join("testdata", tc.fixture))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, &info); err != nil {
					t.Fatal(err)
				}
			}
			pid, err := pidFromInfo(info)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("pidFromInfo() = %d, %v; want error %v", pid, err, tc.wantErr)
				}
				return
			}
			if err != nil || pid != tc.wantPID {
				t.Fatalf("pidFromInfo() = %d, %v; want %d", pid, err, tc.wantPID)
			}
		})
	}
}

func FuzzPIDFromInfo(f *testing.F) {
	for _, s := range []string{`{"pid": 12}`, `{"pid": 0}`, `{"pid": -1}`, `{}`, `[`, `{"pid": 1e400}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pid, err := pidFromInfo(map[string]string{"info": s})
		if err == nil && (pid <= 0 || pid > pidMaxLimit) {
			t.Fatalf("pidFromInfo(%q) = %d without error", s, pid)
		}
	})
}
