package result

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
)

// Read returns the containers of the result directory dir, sorted by pid.
//
// It is bounded (files of at most MaxFileSize bytes, lines of at most
// MaxLineSize bytes, at most MaxContainers containers) and tolerant: a
// container directory without a usable container-info.txt is skipped, a
// broken file counts as absent, a malformed line is dropped; each is logged
// and none fails the whole answer. Symbolic links are never followed, and
// only regular files and directories are opened. Only a dir that cannot be
// opened or listed is an error.
func Read(dir string, log *slog.Logger) ([]Container, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open result dir %s: %w", dir, err)
	}
	d := os.NewFile(uintptr(fd), dir)
	defer d.Close()

	var containers []Container
	seen := 0
	for seen < maxEntries && len(containers) < MaxContainers {
		entries, err := d.ReadDir(256)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list result dir %s: %w", dir, err)
		}
		for _, e := range entries {
			seen++
			if len(containers) >= MaxContainers {
				log.Warn("result dir holds too many containers, ignoring the rest", "dir", dir, "max", MaxContainers)
				break
			}
			if e.Name() == SummaryFile {
				continue // read by ReadSummary
			}
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid <= 0 || strconv.Itoa(pid) != e.Name() {
				log.Warn("skipping result entry: not a pid", "dir", dir, "entry", e.Name())
				continue
			}
			if !e.IsDir() { // a symbolic link is not a directory here: DirEntry does not follow it
				log.Warn("skipping result entry: not a directory", "dir", dir, "entry", e.Name(), "type", e.Type().String())
				continue
			}
			c, err := readContainer(fd, e.Name(), pid, log.With("dir", dir, "pid", pid))
			if err != nil {
				log.Warn("skipping container", "dir", dir, "pid", pid, "error", err)
				continue
			}
			containers = append(containers, c)
		}
	}
	if seen >= maxEntries {
		log.Warn("result dir holds too many entries, ignoring the rest", "dir", dir, "max", maxEntries)
	}
	slices.SortFunc(containers, func(a, b Container) int { return cmp.Compare(a.PID, b.PID) })
	return containers, nil
}

func readContainer(parent int, name string, pid int, log *slog.Logger) (Container, error) {
	fd, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return Container{}, fmt.Errorf("open: %w", err)
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()

	info, err := readProperties(fd, ContainerInfoFile, log)
	if err != nil {
		return Container{}, err
	}
	c := Container{
		PID:          pid,
		ContainerID:  info[KeyContainerID],
		PodName:      info[KeyPodName],
		PodNamespace: info[KeyPodNamespace],
	}
	if c.ContainerID == "" || c.PodName == "" || c.PodNamespace == "" {
		return Container{}, fmt.Errorf("%s lacks %s, %s or %s", ContainerInfoFile, KeyContainerID, KeyPodName, KeyPodNamespace)
	}
	f := &c.Finding
	if props, err := readProperties(fd, OSFile, log); err == nil {
		f.OS, f.OSVersion = props[contract.KeyOSID], props[contract.KeyOSVersionID]
	} else if !errors.Is(err, os.ErrNotExist) {
		log.Warn("ignoring file", "file", OSFile, "error", err)
	}
	if props, err := readProperties(fd, RuntimeKindFile, log); err == nil {
		f.Kind, f.KindVersion, f.KindImplementer = props[contract.KeyKind], props[contract.KeyKindVersion], props[contract.KeyKindImplementer]
	} else if !errors.Is(err, os.ErrNotExist) {
		log.Warn("ignoring file", "file", RuntimeKindFile, "error", err)
	}

	entries, err := d.ReadDir(maxFilesPerContainer)
	if err != nil && !errors.Is(err, io.EOF) {
		return Container{}, fmt.Errorf("list: %w", err)
	}
	if len(entries) == maxFilesPerContainer {
		log.Warn("container dir holds too many files, reading only the first ones", "max", maxFilesPerContainer)
	}
	slices.SortFunc(entries, func(a, b os.DirEntry) int { return cmp.Compare(a.Name(), b.Name()) })
	for _, e := range entries {
		stem, ok := strings.CutSuffix(e.Name(), FingerprintsSuffix)
		if !ok || stem == "" {
			continue
		}
		lines, err := readLines(fd, e.Name(), log)
		if err != nil {
			log.Warn("ignoring file", "file", e.Name(), "error", err)
			continue
		}
		for _, l := range lines {
			f.Runtimes = append(f.Runtimes, contract.Runtime{Name: l.key, Version: l.value})
			if _, named := c.ReportedBy[l.key]; !named {
				if c.ReportedBy == nil {
					c.ReportedBy = make(map[string]string)
				}
				c.ReportedBy[l.key] = stem
			}
		}
	}
	// The same runtime in two files, or twice in one, is one item; the order
	// depends on neither the files nor their lines.
	slices.SortFunc(f.Runtimes, func(a, b contract.Runtime) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	f.Runtimes = slices.Compact(f.Runtimes)
	return c, nil
}

// readProperties reads a key=value file into a map; a repeated key keeps its
// last value.
func readProperties(dirfd int, name string, log *slog.Logger) (map[string]string, error) {
	lines, err := readLines(dirfd, name, log)
	if err != nil {
		return nil, err
	}
	props := make(map[string]string, len(lines))
	for _, l := range lines {
		props[l.key] = l.value
	}
	return props, nil
}

// readLines reads the well-formed "key=value" lines of one file, the value
// cleaned as contract.CleanValue does. A line that is too long, lacks '=',
// or whose key or non-empty value breaks the value rule (contract.ValidValue)
// is dropped, and the drops are logged once per file.
func readLines(dirfd int, name string, log *slog.Logger) ([]property, error) {
	data, err := readFile(dirfd, name)
	if err != nil {
		return nil, err
	}
	lines, dropped := parseLines(data)
	if dropped > 0 {
		log.Warn("dropped malformed lines", "file", name, "count", dropped)
	}
	return lines, nil
}

// parseLines is the pure part of readLines: the well-formed lines of data
// and how many others it dropped.
func parseLines(data []byte) (lines []property, dropped int) {
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		s := string(line)
		key, value, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		value, valid := contract.CleanValue(value)
		// An empty value is kept: "Quarkus=" is a runtime without a version.
		if len(line)+1 > MaxLineSize || !ok || !contract.ValidValue(key) || (value != "" && !valid) {
			dropped++
			continue
		}
		lines = append(lines, property{key, value})
	}
	return lines, dropped
}

// readFile reads one regular file of at most MaxFileSize bytes, without
// following a symbolic link and without blocking on a FIFO.
func readFile(dirfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
		}
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", name, st.Mode().Type())
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than %d", name, st.Size(), MaxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileSize)
	}
	return data, nil
}
