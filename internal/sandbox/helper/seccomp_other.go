//go:build !amd64 && !arm64

package helper

// No filter is written for this architecture: Run fails rather than run unfiltered.
const (
	auditArch     = 0
	x32SyscallBit = 0
)

var archDeniedSyscalls []uintptr
