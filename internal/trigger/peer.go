package trigger

import (
	"encoding/binary"
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// A client that half-closes and then closes its socket sends nothing more:
// its FIN went with the half-close, and TCP tells the server nothing until
// the server writes. A client on this host (the listener is loopback only,
// SPEC §3) still leaves a trace the kernel shows: its socket lives on,
// orphaned (no process holds it), until its FIN_WAIT2 or TIME_WAIT times
// out. peerClosed asks the kernel's socket diagnostics (sock_diag(7)) for
// the client's own end of the connection.

// Sizes and states of linux/inet_diag.h and net/tcp_states.h.
const (
	inetDiagReqSize   = 56 // struct inet_diag_req_v2
	inetDiagMsgSize   = 72 // struct inet_diag_msg
	tcpEstablished    = 1
	tcpFinWait1       = 4
	tcpFinWait2       = 5
	inetDiagNoCookie  = ^uint32(0)
	diagMsgStateIndex = 1  // idiag_state in struct inet_diag_msg
	diagMsgInodeIndex = 68 // idiag_inode in struct inet_diag_msg
)

// peerClosed reports whether the client of conn, a TCP connection between
// two addresses of this host, no longer holds its socket. known is false
// when the kernel could not be asked: the caller then cannot tell.
func peerClosed(conn net.Conn) (closed, known bool) {
	local, ok1 := conn.LocalAddr().(*net.TCPAddr)
	remote, ok2 := conn.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 || !remote.IP.IsLoopback() {
		return false, false
	}
	family := uint8(unix.AF_INET6)
	if remote.IP.To4() != nil && local.IP.To4() != nil {
		family = unix.AF_INET
	}
	// The client's socket: its local end is our remote one.
	req := make([]byte, unix.NLMSG_HDRLEN+inetDiagReqSize)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST)
	r := req[unix.NLMSG_HDRLEN:]
	r[0], r[1] = family, unix.IPPROTO_TCP
	binary.NativeEndian.PutUint32(r[4:], ^uint32(0)) // every state
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], uint16(remote.Port))
	binary.BigEndian.PutUint16(id[2:], uint16(local.Port))
	putAddr(id[4:20], remote.IP, family)
	putAddr(id[20:36], local.IP, family)
	binary.NativeEndian.PutUint32(id[40:], inetDiagNoCookie)
	binary.NativeEndian.PutUint32(id[44:], inetDiagNoCookie)

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return false, false
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return false, false
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return false, false
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil || len(msgs) == 0 {
		return false, false
	}
	m := msgs[0]
	switch m.Header.Type {
	case unix.NLMSG_ERROR:
		if len(m.Data) < 4 {
			return false, false
		}
		errno := -int32(binary.NativeEndian.Uint32(m.Data))
		if errors.Is(unix.Errno(errno), unix.ENOENT) {
			return true, true // no such socket any more
		}
		return false, false
	case unix.SOCK_DIAG_BY_FAMILY:
		if len(m.Data) < inetDiagMsgSize {
			return false, false
		}
		state := m.Data[diagMsgStateIndex]
		inode := binary.NativeEndian.Uint32(m.Data[diagMsgInodeIndex:])
		alive := inode != 0 && (state == tcpEstablished || state == tcpFinWait1 || state == tcpFinWait2)
		return !alive, true
	}
	return false, false
}

func putAddr(dst []byte, ip net.IP, family uint8) {
	if family == unix.AF_INET {
		copy(dst, ip.To4())
		return
	}
	copy(dst, ip.To16())
}
