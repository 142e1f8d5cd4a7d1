package sandbox

import (
	"context"
	"testing"
)

func TestSmoke(t *testing.T) {
	requireRoot(t)
	for _, uid := range []int{0, 1000} {
		c := startContainer(t, uid, uid)
		s := newSandbox(t)
		out, err := s.Run(context.Background(), Target{HostPID: c.pid, UID: uint32(uid), GID: uint32(uid)}, bins.probe, []string{"-read", "/marker"}, nil, Limits{})
		t.Logf("uid %d: %s err=%v", uid, out, err)
	}
}
