package flock

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLockWaitsForTheHolderAndGivesUpWithTheContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, path); err == nil || !strings.Contains(err.Error(), "waiting for lock") {
		t.Fatalf("second Lock while held: %v, want it to give up with the context", err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		unlock()
		close(released)
	}()
	start := time.Now()
	unlock2, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock2()
	<-released
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("took the lock after %v, before the holder released it", waited)
	}
}
