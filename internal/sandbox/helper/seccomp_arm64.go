package helper

import "golang.org/x/sys/unix"

const (
	auditArch     = unix.AUDIT_ARCH_AARCH64
	x32SyscallBit = 0
)

var archDeniedSyscalls []uintptr
