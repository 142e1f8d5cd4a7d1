package extractor

import "net"

// SkipPrivilegeCheck lets tests start a Server without CAP_SYS_ADMIN and
// CAP_SETUID. It exists only in test builds: users have no way to skip it.
func SkipPrivilegeCheck(c *Config) { c.requirePrivileges = func() error { return nil } }

// SetPrivilegeCheck replaces the capability check of New.
func SetPrivilegeCheck(c *Config, check func() error) { c.requirePrivileges = check }

// PeerGone exposes peerGone to the tests of the protocol.
func PeerGone(c net.Conn) bool { return peerGone(c) }

// Waiting returns how many requests wait for the running coordinator.
func Waiting(s *Server) int64 { return s.waiting.Load() }
