package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options say what to run in the VM.
type Options struct {
	Image *Image
	// PayloadDir becomes the guest's /payload (an ext4 disk made from it);
	// its executable "run" is started as root once crio.service is up,
	// with /payload as working directory.
	PayloadDir string
	// OutputDir receives results/ (the guest's /results), ire-vm/ (stdout,
	// stderr, exit-code, journal.txt) and, unless ConsoleLog says
	// otherwise, console.log. Default: a new temporary directory, which the
	// caller removes.
	OutputDir string
	// Timeout bounds the whole run, boot included (default 15 min). The
	// guest ends the payload early enough to hand back its results; qemu
	// is killed at the deadline.
	Timeout time.Duration
	// Log receives progress: boot stages and the payload's output lines.
	Log *slog.Logger
	// ConsoleLog is where the serial console is written.
	ConsoleLog string
	// MemoryMB and CPUs size the VM (default 4096 and 2).
	MemoryMB, CPUs int
}

// Result is what a run handed back.
type Result struct {
	ExitCode   int    // of /payload/run; 124 when its timeout ended it
	Stdout     []byte // of /payload/run
	Stderr     []byte
	ResultsDir string // the guest's /results
	MetaDir    string // stdout, stderr, exit-code, journal.txt of the guest
	ConsoleLog string
	Boot       time.Duration // qemu start to the payload's start
	Payload    time.Duration // the payload's run
	Total      time.Duration
}

// Run boots the image with a copy-on-write overlay of its root disk, runs
// the payload and returns its result once the guest has powered off. A
// non-nil Result comes with most errors, so that the console log can be
// read.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Image == nil || o.PayloadDir == "" {
		return nil, errors.New("vm.Run: Image and PayloadDir are required")
	}
	if st, err := os.Stat(filepath.Join(o.PayloadDir, "run")); err != nil || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("vm.Run: %s/run is not an executable file", o.PayloadDir)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Minute
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = 4096
	}
	if o.CPUs <= 0 {
		o.CPUs = 2
	}
	if o.OutputDir == "" {
		d, err := os.MkdirTemp("", "ire-vm-")
		if err != nil {
			return nil, err
		}
		o.OutputDir = d
	}
	if o.ConsoleLog == "" {
		o.ConsoleLog = filepath.Join(o.OutputDir, "console.log")
	}
	start := time.Now()
	deadline := start.Add(o.Timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	// The disks are scratch: they live only as long as the run.
	scratch, err := os.MkdirTemp(o.OutputDir, ".disks-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	overlay := filepath.Join(scratch, "root.qcow2")
	payload := filepath.Join(scratch, "payload.img")
	results := filepath.Join(scratch, "results.img")
	// qemu opens the backing file read-only: the cached disk stays pristine
	// and any number of runs can share it.
	if err := run(ctx, "", "qemu-img", "create", "-q", "-f", "qcow2", "-b", o.Image.RootDisk, "-F", "raw", overlay); err != nil {
		return nil, err
	}
	size, err := dirSize(o.PayloadDir)
	if err != nil {
		return nil, err
	}
	if err := run(ctx, "", "mkfs.ext4", "-q", "-F", "-L", "ire-payload", "-d", o.PayloadDir, payload,
		fmt.Sprintf("%dk", (size*2+64<<20)>>10)); err != nil {
		return nil, err
	}
	// Sparse; the guest writes one tar, only as large as the results.
	if err := os.WriteFile(results, nil, 0o644); err != nil {
		return nil, err
	}
	if err := os.Truncate(results, 4<<30); err != nil {
		return nil, err
	}

	// Keep a margin after the payload's end for the journal and the tar.
	guestDeadline := deadline.Add(-45 * time.Second)
	cmdline := strings.Join([]string{
		"console=ttyS0", "root=/dev/vda", "rw", "panic=-1",
		// cgroup v2 only, as on OpenShift 4.14+: no v1 hierarchy can be mounted.
		"systemd.unified_cgroup_hierarchy=1", "cgroup_no_v1=all",
		"ire.deadline=" + strconv.FormatInt(guestDeadline.Unix(), 10),
	}, " ")
	args := []string{
		"-accel", "tcg", "-m", strconv.Itoa(o.MemoryMB), "-smp", strconv.Itoa(o.CPUs),
		"-nographic", "-no-reboot", "-nic", "none",
		"-kernel", o.Image.Kernel, "-initrd", o.Image.Initrd, "-append", cmdline,
		"-drive", "file=" + overlay + ",if=virtio,format=qcow2",
		"-drive", "file=" + payload + ",if=virtio,format=raw",
		"-drive", "file=" + results + ",if=virtio,format=raw",
	}
	console, err := os.Create(o.ConsoleLog)
	if err != nil {
		return nil, err
	}
	defer console.Close()
	res := &Result{ConsoleLog: o.ConsoleLog}

	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	// qemu dies with this process: no VM outlives a killed test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdin = nil
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.WaitDelay = 5 * time.Second
	o.Log.Info("booting the VM", "kernel", o.Image.KernelVersion, "timeout", o.Timeout, "console", o.ConsoleLog)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	w := &consoleWatcher{log: o.Log, start: start}
	go func() {
		defer wg.Done()
		w.watch(pr, console)
	}()
	waitErr := cmd.Wait()
	pw.Close()
	wg.Wait()
	res.Total = time.Since(start)
	res.Boot, res.Payload = w.durations()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return res, fmt.Errorf("VM run did not end within %s (qemu killed); console: %s", o.Timeout, o.ConsoleLog)
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("VM run: %w (qemu killed); console: %s", ctx.Err(), o.ConsoleLog)
	}
	if waitErr != nil {
		return res, fmt.Errorf("qemu: %w; console: %s", waitErr, o.ConsoleLog)
	}

	if err := unpackResults(ctx, results, o.OutputDir); err != nil {
		return res, fmt.Errorf("%w; console: %s", err, o.ConsoleLog)
	}
	res.ResultsDir = filepath.Join(o.OutputDir, "results")
	res.MetaDir = filepath.Join(o.OutputDir, "ire-vm")
	res.Stdout, _ = os.ReadFile(filepath.Join(res.MetaDir, "stdout"))
	res.Stderr, _ = os.ReadFile(filepath.Join(res.MetaDir, "stderr"))
	code, err := os.ReadFile(filepath.Join(res.MetaDir, "exit-code"))
	if err != nil {
		return res, fmt.Errorf("the guest wrote no exit code (see %s/journal.txt and %s)", res.MetaDir, o.ConsoleLog)
	}
	if res.ExitCode, err = strconv.Atoi(strings.TrimSpace(string(code))); err != nil {
		return res, fmt.Errorf("exit code %q: %w", code, err)
	}
	o.Log.Info("VM run done", "exit_code", res.ExitCode, "boot", res.Boot.Round(time.Second),
		"payload", res.Payload.Round(time.Second), "total", res.Total.Round(time.Second))
	return res, nil
}

// unpackResults extracts the tar the guest wrote onto the raw results disk
// (tar stops at the archive's end; the rest of the disk is zeros).
func unpackResults(ctx context.Context, disk, out string) error {
	head := make([]byte, 512)
	f, err := os.Open(disk)
	if err != nil {
		return err
	}
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil {
		return err
	}
	if string(head[257:262]) != "ustar" {
		return errors.New("the guest wrote no results (the payload unit never finished)")
	}
	for _, d := range []string{"results", "ire-vm"} {
		if err := os.RemoveAll(filepath.Join(out, d)); err != nil {
			return err
		}
	}
	return run(ctx, "", "tar", "-xf", disk, "-C", out, "--no-same-owner")
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// ansi matches the color and cursor sequences systemd writes to a console.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// consoleWatcher copies the serial console to its log file and turns the
// lines that mark progress into log records: a VM run lasts minutes, and a
// silent one looks hung.
type consoleWatcher struct {
	log   *slog.Logger
	start time.Time

	mu                        sync.Mutex
	payloadStart, payloadStop time.Time
}

// milestones are console texts worth a log line, with what they mean.
var milestones = []struct{ text, msg string }{
	{"Linux version", "kernel started"},
	{"Welcome to ", "systemd started"},
	{"Started crio.service", "crio started"},
	{"Failed to start crio.service", "crio failed to start"},
	{"Kernel panic", "kernel panic"},
	{"reboot: Power down", "powered off"},
}

func (w *consoleWatcher) watch(r io.Reader, copyTo io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		raw := sc.Text()
		fmt.Fprintln(copyTo, raw)
		line := strings.TrimSpace(ansi.ReplaceAllString(strings.ReplaceAll(raw, "\r", ""), ""))
		up := time.Since(w.start).Round(100 * time.Millisecond)
		if rest, ok := strings.CutPrefix(line, "ire-vm: | "); ok {
			w.log.Info("vm payload", "line", rest, "t", up)
			continue
		}
		if i := markerIndex(line); i >= 0 {
			msg := line[i:]
			w.mu.Lock()
			switch {
			case strings.HasPrefix(msg, "ire-vm: payload start"):
				w.payloadStart = time.Now()
			case strings.HasPrefix(msg, "ire-vm: payload exit"):
				w.payloadStop = time.Now()
			}
			w.mu.Unlock()
			w.log.Info("vm", "line", msg, "t", up)
			continue
		}
		for _, m := range milestones {
			if strings.Contains(line, m.text) {
				w.log.Info("vm "+m.msg, "t", up)
				break
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// markerIndex finds where a line of this package's guest scripts starts
// (the kernel may prefix a timestamp), or -1.
func markerIndex(line string) int {
	for _, m := range []string{"ire-vm: ", "ire-vm initrd: "} {
		if i := strings.Index(line, m); i >= 0 {
			return i
		}
	}
	return -1
}

func (w *consoleWatcher) durations() (boot, payload time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.payloadStart.IsZero() {
		boot = w.payloadStart.Sub(w.start)
		if !w.payloadStop.IsZero() {
			payload = w.payloadStop.Sub(w.payloadStart)
		}
	}
	return boot, payload
}
