package result

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SummaryFile is the one top-level file of a result directory: how the scan
// went, for the exporter's metrics. A dot-file, so that the original exporter,
// which reads only the container directories, passes it by.
//
//	cache-hits=2
//	containers-failed.container_gone=1
//	containers-listed=3
//	containers-scanned=2
//	containers-selected=3
//	containers-unknown=0
//	fingerprint-failures.java=1
//	fingerprint-runs.java=3
//	fingerprint-timeouts.java=1
//	scan-budget-exhausted=0
//
// Keys are sorted like every file of the directory; "<family>.<label>" keys
// carry one count per label. Unknown keys are ignored, so either side may be
// newer than the other.
const SummaryFile = ".scan-summary.txt"

// Keys of SummaryFile.
const (
	KeyListed              = "containers-listed"
	KeySelected            = "containers-selected"
	KeyScanned             = "containers-scanned"
	KeyUnknown             = "containers-unknown"
	KeyCacheHits           = "cache-hits"
	KeyBudgetExhausted     = "scan-budget-exhausted" // 1 when the scan's budget ran out, else 0
	KeyFailedPrefix        = "containers-failed."
	KeyFingerprintRuns     = "fingerprint-runs."
	KeyFingerprintFailures = "fingerprint-failures."
	KeyFingerprintTimeouts = "fingerprint-timeouts."
)

// MaxSummaryLabels bounds the distinct labels of one family (failure
// reasons, fingerprint names) read from a summary: they become metric label
// values, and a hostile file must not blow up the exporter's series.
const MaxSummaryLabels = 32

// maxCount bounds one count: far above any node, far below what a float64 or
// an int on any platform holds exactly.
const maxCount = 1<<31 - 1

// labelPattern is what a failure reason or a fingerprint name must be to
// become a metric label value.
var labelPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Summary is how one scan went, as the coordinator counted it.
type Summary struct {
	Listed    int // running containers the runtime listed
	Selected  int // those the request asked for
	Scanned   int // those with an entry in the result directory
	Unknown   int // requested ids that matched no running container
	CacheHits int // entries answered from the coordinator's cache
	// Failed counts the selected containers left out, by reason.
	Failed map[string]int
	// Fingerprints counts the sandboxed runs of each fingerprint.
	Fingerprints map[string]FingerprintCounts
	// BudgetExhausted tells that the scan's budget ran out before every
	// selected container was finished; Failed["scan_timeout"] says how many were not.
	BudgetExhausted bool
}

// FingerprintCounts are the runs of one fingerprint during a scan. A timeout
// is a failure too: Timeouts <= Failures <= Runs.
type FingerprintCounts struct{ Runs, Failures, Timeouts int }

// WriteSummary writes SummaryFile into the result directory. It refuses a
// label that is not a valid label value or a negative count, before writing.
func (w *Writer) WriteSummary(s Summary) error {
	content, err := s.render()
	if err != nil {
		return fmt.Errorf("scan summary: %w", err)
	}
	return w.writeFile(w.dir, SummaryFile, content)
}

func (s Summary) render() (string, error) {
	var props []property
	add := func(key string, n int) error {
		if n < 0 || n > maxCount {
			return fmt.Errorf("%s: count %d out of range", key, n)
		}
		props = append(props, property{key, strconv.Itoa(n)})
		return nil
	}
	label := func(l string) error {
		if !labelPattern.MatchString(l) {
			return fmt.Errorf("invalid label %q: want %s", l, labelPattern)
		}
		return nil
	}
	exhausted := 0
	if s.BudgetExhausted {
		exhausted = 1
	}
	for _, p := range []struct {
		key string
		n   int
	}{{KeyListed, s.Listed}, {KeySelected, s.Selected}, {KeyScanned, s.Scanned}, {KeyUnknown, s.Unknown}, {KeyCacheHits, s.CacheHits}, {KeyBudgetExhausted, exhausted}} {
		if err := add(p.key, p.n); err != nil {
			return "", err
		}
	}
	if len(s.Failed) > MaxSummaryLabels || len(s.Fingerprints) > MaxSummaryLabels {
		return "", fmt.Errorf("more than %d failure reasons or fingerprints", MaxSummaryLabels)
	}
	for _, reason := range slices.Sorted(maps.Keys(s.Failed)) {
		if err := label(reason); err != nil {
			return "", err
		}
		if err := add(KeyFailedPrefix+reason, s.Failed[reason]); err != nil {
			return "", err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Fingerprints)) {
		if err := label(name); err != nil {
			return "", err
		}
		c := s.Fingerprints[name]
		for _, err := range []error{
			add(KeyFingerprintRuns+name, c.Runs),
			add(KeyFingerprintFailures+name, c.Failures),
			add(KeyFingerprintTimeouts+name, c.Timeouts),
		} {
			if err != nil {
				return "", err
			}
		}
	}
	return render(props, refuseEmpty)
}

// ReadSummary reads SummaryFile of the result directory dir, bounded like
// every file of it (MaxFileSize) and without following symbolic links. A
// missing file (an older coordinator, or one that could not write it) is an
// error matching os.ErrNotExist. Malformed lines are dropped and counted.
func ReadSummary(dir string) (s Summary, dropped int, err error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return Summary{}, 0, fmt.Errorf("open result dir %s: %w", dir, err)
	}
	defer unix.Close(fd)
	data, err := readFile(fd, SummaryFile)
	if err != nil {
		return Summary{}, 0, err
	}
	s, dropped = ParseSummary(data)
	return s, dropped, nil
}

// ParseSummary is the pure part of ReadSummary: the summary data holds and
// how many lines it dropped. A line is dropped when it is not key=value, its
// count is not a decimal number within range, its label is invalid, its key
// repeats one already read, or its family already holds MaxSummaryLabels
// labels. Unknown keys are ignored without counting as dropped.
func ParseSummary(data []byte) (s Summary, dropped int) {
	lines, dropped := parseLines(data)
	seen := make(map[string]bool, len(lines))
	for _, l := range lines {
		n, err := strconv.ParseUint(l.value, 10, 31)
		if err != nil || seen[l.key] {
			dropped++
			continue
		}
		seen[l.key] = true
		count := int(n)
		if ok := s.set(l.key, count); !ok {
			dropped++
		}
	}
	return s, dropped
}

// set stores one count and reports false when the key is refused.
func (s *Summary) set(key string, n int) bool {
	switch key {
	case KeyListed:
		s.Listed = n
	case KeySelected:
		s.Selected = n
	case KeyScanned:
		s.Scanned = n
	case KeyUnknown:
		s.Unknown = n
	case KeyCacheHits:
		s.CacheHits = n
	case KeyBudgetExhausted:
		if n > 1 {
			return false
		}
		s.BudgetExhausted = n == 1
	default:
		family, label, ok := cutFamily(key)
		if !ok {
			return true // a newer coordinator's key: not ours to judge
		}
		if !labelPattern.MatchString(label) {
			return false
		}
		if family == KeyFailedPrefix {
			if _, known := s.Failed[label]; !known && len(s.Failed) >= MaxSummaryLabels {
				return false
			}
			if s.Failed == nil {
				s.Failed = map[string]int{}
			}
			s.Failed[label] = n
			return true
		}
		c, known := s.Fingerprints[label]
		if !known && len(s.Fingerprints) >= MaxSummaryLabels {
			return false
		}
		switch family {
		case KeyFingerprintRuns:
			c.Runs = n
		case KeyFingerprintFailures:
			c.Failures = n
		case KeyFingerprintTimeouts:
			c.Timeouts = n
		}
		if s.Fingerprints == nil {
			s.Fingerprints = map[string]FingerprintCounts{}
		}
		s.Fingerprints[label] = c
	}
	return true
}

// cutFamily splits a labelled key into its family prefix and label.
func cutFamily(key string) (family, label string, ok bool) {
	for _, f := range []string{KeyFailedPrefix, KeyFingerprintRuns, KeyFingerprintFailures, KeyFingerprintTimeouts} {
		if l, found := strings.CutPrefix(key, f); found {
			return f, l, true
		}
	}
	return "", "", false
}

// FailedTotal is the number of selected containers left out, whatever the reason.
func (s Summary) FailedTotal() int {
	n := 0
	for _, v := range s.Failed {
		n += v
	}
	return n
}
