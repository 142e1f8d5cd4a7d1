package extractor

import (
	"log/slog"
	"time"
)

// SkipNodeChecks lets tests start a Server without CAP_SYS_ADMIN,
// CAP_SETUID, cgroups or a container runtime. It exists only in test builds:
// users have no way to skip them.
func SkipNodeChecks(c *Config) {
	c.requirePrivileges = func() error { return nil }
	c.requireRuntime = func() error { return nil }
}

// SetPrivilegeCheck replaces the capability and cgroup check of New.
func SetPrivilegeCheck(c *Config, check func() error) { c.requirePrivileges = check }

// WaitForRuntime exposes waitForRuntime with a wait short enough for tests.
func WaitForRuntime(endpoint string, wait time.Duration, log *slog.Logger) error {
	return waitForRuntime(endpoint, wait, log)
}

// Waiting returns how many requests wait for the running coordinator.
func Waiting(s *Server) int64 { return s.waiting.Load() }
