package result

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
)

// stampLayout is the time part of a result directory name; a random suffix
// follows it so that concurrent coordinators never share a directory.
const stampLayout = "20060102T150405.000000000Z"

// stemPattern restricts fingerprint file stems to names that are plain file
// names everywhere.
var stemPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Writer creates one result directory and writes container directories into
// it. Add is safe for concurrent use: each container has its own directory.
type Writer struct {
	dir string
	// owner of the data dir: the new tree is given to it so that the exporter,
	// which may run as another, unprivileged user, can delete it.
	uid, gid int
	chown    bool
	// dirMode lets the exporter, another user, delete the tree: it is as open
	// as the data dir is. With an fsGroup, /data is an emptyDir of root and
	// group fsGroup, mode 2775: the tree is 0775, and the exporter deletes it
	// as a member of that group. Without one (the Insights Operator's pod),
	// /data is root's, mode 0777, and the exporter runs as its image's user:
	// the tree is 0777, which shows it to no one new, as only the pod's two
	// containers mount /data.
	dirMode os.FileMode
}

// Create makes a new, empty result directory <dataDir>/out-<stamp>/.
func Create(dataDir string) (*Writer, error) {
	st, err := os.Stat(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("data dir %s is not a directory", dataDir)
	}
	w := &Writer{uid: -1, gid: -1, dirMode: 0o755}
	switch perm := st.Mode().Perm(); {
	case perm&0o002 != 0:
		w.dirMode = 0o777
	case perm&0o020 != 0:
		w.dirMode = 0o775
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		w.uid, w.gid, w.chown = int(sys.Uid), int(sys.Gid), true
	}
	for range 10 {
		name, err := newStamp(time.Now())
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(dataDir, name)
		err = os.Mkdir(dir, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create result dir: %w", err)
		}
		w.dir = dir
		if err := w.own(dir, w.dirMode); err != nil {
			_ = os.Remove(dir)
			return nil, err
		}
		return w, nil
	}
	return nil, fmt.Errorf("create result dir in %s: no unique name after 10 attempts", dataDir)
}

func newStamp(now time.Time) (string, error) {
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", fmt.Errorf("random stamp suffix: %w", err)
	}
	return DirPrefix + now.UTC().Format(stampLayout) + "-" + hex.EncodeToString(suffix[:]), nil
}

// StampTime returns the creation time encoded in a result directory name
// made by Create, so that a caller can tell which directories appeared while
// a coordinator ran.
func StampTime(name string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(name, DirPrefix)
	if !ok {
		return time.Time{}, false
	}
	i := strings.LastIndexByte(rest, '-')
	if i < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(stampLayout, rest[:i])
	return t, err == nil
}

// Dir returns the path of the result directory.
func (w *Writer) Dir() string { return w.dir }

// own sets the mode (whatever the umask) and, when running as root, the owner.
func (w *Writer) own(path string, mode os.FileMode) error {
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if w.chown {
		if err := os.Lchown(path, w.uid, w.gid); err != nil {
			return fmt.Errorf("chown %s: %w", path, err)
		}
	}
	return nil
}

// Add writes the directory of one container. It refuses, before writing
// anything, a container whose values would break the format or not read back
// as written: an empty pod name, namespace or container id, a value that is
// not one printable line of at most contract.MaxValueLen bytes, a runtime
// name holding '=', a bad fingerprint name in ReportedBy. Values are cleaned
// (contract.CleanValue) as the reader cleans them.
func (w *Writer) Add(c Container) error {
	if c.PID <= 0 {
		return fmt.Errorf("container %q: invalid pid %d", c.ContainerID, c.PID)
	}
	files, err := c.files()
	if err != nil {
		return fmt.Errorf("container pid %d: %w", c.PID, err)
	}
	dir := filepath.Join(w.dir, strconv.Itoa(c.PID))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("container pid %d: %w", c.PID, err)
	}
	if err := w.writeAll(dir, files); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("container pid %d: %w", c.PID, err)
	}
	return nil
}

func (w *Writer) writeAll(dir string, files map[string]string) error {
	if err := w.own(dir, w.dirMode); err != nil {
		return err
	}
	for name, content := range files {
		if err := w.writeFile(dir, name, content); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates dir/name, which must not exist yet (never through a
// link), with content, owned as the rest of the result tree.
func (w *Writer) writeFile(dir, name, content string) error {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return w.own(path, 0o644)
}

type property struct{ key, value string }

// files renders the container as file name -> content, validating every value.
func (c Container) files() (map[string]string, error) {
	files := make(map[string]string)
	info, err := render([]property{
		{KeyContainerID, c.ContainerID}, {KeyPodName, c.PodName}, {KeyPodNamespace, c.PodNamespace},
	}, refuseEmpty)
	if err != nil {
		return nil, err
	}
	files[ContainerInfoFile] = info
	f := c.Finding
	for name, props := range map[string][]property{
		OSFile:          {{contract.KeyOSID, f.OS}, {contract.KeyOSVersionID, f.OSVersion}},
		RuntimeKindFile: {{contract.KeyKind, f.Kind}, {contract.KeyKindImplementer, f.KindImplementer}, {contract.KeyKindVersion, f.KindVersion}},
	} {
		content, err := render(props, omitEmpty)
		if err != nil {
			return nil, err
		}
		if content != "" {
			files[name] = content
		}
	}
	byStem := make(map[string][]property)
	for _, r := range f.Runtimes {
		stem, named := c.ReportedBy[r.Name]
		if !named {
			stem = OtherRuntimes
		}
		if !stemPattern.MatchString(stem) {
			return nil, fmt.Errorf("invalid fingerprint name %q", stem)
		}
		name, _ := contract.CleanValue(r.Name)
		if name == "" || strings.Contains(name, "=") {
			return nil, fmt.Errorf("fingerprint %s: invalid runtime name %q", stem, r.Name)
		}
		byStem[stem] = append(byStem[stem], property{name, r.Version})
	}
	for stem, props := range byStem {
		content, err := render(props, keepEmpty)
		if err != nil {
			return nil, fmt.Errorf("fingerprint %s: %w", stem, err)
		}
		if content != "" {
			files[stem+FingerprintsSuffix] = content
		}
	}
	return files, nil
}

// emptyPolicy says what render does with an empty value.
type emptyPolicy int

const (
	refuseEmpty emptyPolicy = iota // container-info.txt: every key is needed
	omitEmpty                      // os.txt, runtime-kind.txt: a missing key means not detected
	keepEmpty                      // fingerprints: "Quarkus=" is a finding without a version
)

// render writes unique "key=value" lines sorted by key, then value, each
// value cleaned and checked by the rules of the finding (contract).
func render(props []property, empty emptyPolicy) (string, error) {
	var kept []property
	for _, p := range props {
		v, ok := contract.CleanValue(p.value)
		if v == "" {
			switch empty {
			case refuseEmpty:
				return "", fmt.Errorf("%s is empty", p.key)
			case omitEmpty:
				continue
			}
			ok = true
		}
		if n := len(p.key) + len("=") + len(v) + len("\n"); n > MaxLineSize {
			return "", fmt.Errorf("%s: line of %d bytes is longer than %d", p.key, n, MaxLineSize)
		}
		if !ok || !contract.ValidValue(p.key) {
			return "", fmt.Errorf("%s: value %q is not one line of printable text of at most %d bytes", p.key, p.value, contract.MaxValueLen)
		}
		kept = append(kept, property{p.key, v})
	}
	slices.SortFunc(kept, func(a, b property) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.value, b.value))
	})
	kept = slices.Compact(kept)
	var b strings.Builder
	for _, p := range kept {
		b.WriteString(p.key + "=" + p.value + "\n")
	}
	if b.Len() > MaxFileSize {
		return "", fmt.Errorf("file of %d bytes is larger than %d", b.Len(), MaxFileSize)
	}
	return b.String(), nil
}
