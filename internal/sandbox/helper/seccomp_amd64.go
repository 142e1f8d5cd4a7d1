package helper

import "golang.org/x/sys/unix"

const (
	auditArch = unix.AUDIT_ARCH_X86_64
	// x32SyscallBit marks the x32 ABI's system calls, which share this architecture's audit
	// value: all of them are refused.
	x32SyscallBit = 0x40000000
)

var archDeniedSyscalls = []uintptr{unix.SYS_IOPL, unix.SYS_IOPERM, unix.SYS_USELIB}
