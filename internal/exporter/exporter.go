// Package exporter is the unprivileged HTTP side of the product (SPEC §2):
// the /gather_runtime_info handler, which asks extractor_server for one
// extraction (package trigger), reads the result directory, answers JSON
// (values obfuscated unless hash=false) and deletes the directory; and
// /healthz, /readyz and /metrics, whose extractor figures come with each
// result (result.SummaryFile). It links nothing of the privileged side.
package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/result"
	"github.com/openshift/insights-runtime-extractor/internal/trigger"
)

// Path is the endpoint of the exporter's API.
const Path = "/gather_runtime_info"

// Health endpoints: the exporter is alive; the extractor takes connections.
const (
	HealthzPath = "/healthz"
	ReadyzPath  = "/readyz"
)

// RetryAfter is what a client is told to wait when the extractor's queue is
// full: a few scans' time, well within the Insights Operator's patience.
const RetryAfter = 10 * time.Second

// readyTimeout bounds the readiness check: a TCP connect on loopback.
const readyTimeout = 2 * time.Second

// MaxBodyBytes bounds a POST body.
const MaxBodyBytes = 1 << 20

// DefaultTimeout bounds one whole extraction (queue wait included): well
// below the Insights Operator's two minutes per node, so that the operator
// gets our error rather than its own timeout.
const DefaultTimeout = 90 * time.Second

// The exact error bodies of SPEC §2.
const (
	BodyInvalidJSON      = `{"error": "Invalid JSON in request body"}` + "\n"
	BodyContainerIDsNeed = `{"error": "containerIds field is required"}` + "\n"
)

// Extractor runs one extraction and returns the path of its result
// directory; *trigger.Client is the real one.
type Extractor interface {
	Extract(ctx context.Context, ids []string) (string, error)
}

// Options configure the handler.
type Options struct {
	Extractor Extractor
	DataDir   string        // result paths outside it are refused
	Timeout   time.Duration // whole extraction; DefaultTimeout when zero
	Log       *slog.Logger
	// Metrics receives the figures of every request; a new set when nil.
	Metrics *Metrics
	// Ready tells /readyz whether the extractor can take a request, without
	// running a scan. When nil: the Extractor's Probe method if it has one
	// (as *trigger.Client does), else always ready.
	Ready func(context.Context) error

	removeAll func(string) error // os.RemoveAll; tests make it fail
}

// prober is an Extractor that can tell whether it is reachable.
type prober interface{ Probe(context.Context) error }

// NewHandler returns the exporter's HTTP handler: Path, HealthzPath,
// ReadyzPath, MetricsPath, and a JSON 404 for anything else.
func NewHandler(o Options) http.Handler {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.removeAll == nil {
		o.removeAll = os.RemoveAll
	}
	if o.Ready == nil {
		if p, ok := o.Extractor.(prober); ok {
			o.Ready = p.Probe
		} else {
			o.Ready = func(context.Context) error { return nil }
		}
	}
	mux := http.NewServeMux()
	mux.Handle(Path, &handler{o})
	mux.HandleFunc(HealthzPath, func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc(ReadyzPath, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := o.Ready(ctx); err != nil {
			o.Log.Warn("not ready", "error", err)
			writeText(w, http.StatusServiceUnavailable, "extractor not reachable: "+err.Error()+"\n")
			return
		}
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.Handle(MetricsPath, o.Metrics.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found: the endpoint is "+Path)
	})
	return mux
}

type handler struct{ o Options }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	outcome := OutcomeBadRequest
	defer func() { h.o.Metrics.scanDone(outcome) }()
	var ids []string
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		var ok bool
		if ids, ok = readIDs(w, r); !ok {
			return
		}
		if ids != nil && len(ids) == 0 {
			// Every requested id was malformed: none can match a running
			// container, and an empty list must not turn into "all".
			outcome = OutcomeOK
			writeReport(w, Report{})
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed: use GET or POST")
		return
	}
	hash := r.URL.Query().Get("hash") != "false"
	log := h.o.Log.With("method", r.Method, "ids", len(ids), "hash", hash)
	start := time.Now()
	outcome = OutcomeError

	ctx, cancel := context.WithTimeout(r.Context(), h.o.Timeout)
	defer cancel()
	answer, err := h.o.Extractor.Extract(ctx, ids)
	if err != nil {
		var serverErr *trigger.ServerError
		switch {
		case r.Context().Err() != nil:
			outcome = OutcomeCanceled
			log.Info("client gone, extraction abandoned", "error", err)
			return
		case errors.Is(err, context.DeadlineExceeded):
			outcome = OutcomeTimeout
			log.Error("extraction timed out", "timeout", h.o.Timeout)
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("extraction timed out after %v", h.o.Timeout))
		case errors.Is(err, trigger.ErrBusy) && errors.As(err, &serverErr):
			outcome = OutcomeQueueFull
			log.Warn("extractor busy, asked the client to retry", "error", err, "retry_after", RetryAfter)
			w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter.Seconds())))
			writeError(w, http.StatusServiceUnavailable, "extraction refused: "+serverErr.Message)
		case errors.As(err, &serverErr):
			if errors.Is(err, trigger.ErrCoordinatorTimeout) {
				outcome = OutcomeTimeout
			}
			log.Error("extraction failed", "error", err)
			writeError(w, http.StatusInternalServerError, "extraction failed: "+serverErr.Message)
		default:
			log.Error("extraction failed", "error", err)
			writeError(w, http.StatusInternalServerError, "extraction failed: "+err.Error())
		}
		return
	}
	dir, err := ResultDir(h.o.DataDir, answer)
	if err != nil {
		log.Error("refusing the extractor's answer", "error", err)
		writeError(w, http.StatusInternalServerError, "extraction failed: invalid result directory")
		return
	}
	// The directory is ours now: whatever happens, it goes after answering.
	defer func() {
		if err := h.o.removeAll(dir); err != nil {
			h.o.Metrics.cleanupFailures.Inc()
			log.Warn("cannot remove result dir", "dir", dir, "error", err)
		}
	}()
	containers, err := result.Read(dir, log)
	if err != nil {
		log.Error("cannot read the result", "error", err)
		writeError(w, http.StatusInternalServerError, "extraction failed: cannot read the result directory")
		return
	}
	h.readSummary(dir, log)
	writeReport(w, Build(containers, hash))
	outcome = OutcomeOK
	h.o.Metrics.containersReported.Add(float64(len(containers)))
	h.o.Metrics.scanDuration.Observe(time.Since(start).Seconds())
	log.Info("answered", "dir", dir, "containers", len(containers), "duration", time.Since(start))
}

// readSummary turns the scan's summary into metrics. Without one (an older
// coordinator, or one that could not write it) the answer stands all the same.
func (h *handler) readSummary(dir string, log *slog.Logger) {
	sum, dropped, err := result.ReadSummary(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		log.Debug("result has no scan summary", "dir", dir)
		return
	case err != nil:
		log.Warn("scan summary ignored", "dir", dir, "error", err)
		return
	case dropped > 0:
		log.Warn("scan summary: dropped malformed lines", "dir", dir, "count", dropped)
	}
	h.o.Metrics.addSummary(sum)
}

// readIDs decodes a POST body. It returns ok=false after answering an error,
// nil ids for an empty array (every container), and otherwise the valid,
// unique, normalized ids (possibly none).
func readIDs(w http.ResponseWriter, r *http.Request) (ids []string, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes))
			return nil, false
		}
		writeBody(w, http.StatusBadRequest, BodyInvalidJSON)
		return nil, false
	}
	var req struct {
		ContainerIDs []string `json:"containerIds"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeBody(w, http.StatusBadRequest, BodyInvalidJSON)
		return nil, false
	}
	if req.ContainerIDs == nil {
		writeBody(w, http.StatusBadRequest, BodyContainerIDsNeed)
		return nil, false
	}
	if len(req.ContainerIDs) == 0 {
		return nil, true
	}
	ids = []string{}
	seen := map[string]bool{}
	for _, raw := range req.ContainerIDs {
		// An id that cannot be a container id matches no running
		// container: skipped, as SPEC §2 says of unknown ids.
		if id, valid := trigger.NormalizeID(raw); valid && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, true
}

// ResultDir accepts the extractor's answer only if, cleaned, it is a direct
// child "out-*" of dataDir and a directory, not a symbolic link.
func ResultDir(dataDir, answer string) (string, error) {
	if !filepath.IsAbs(answer) {
		return "", fmt.Errorf("result path %q is not absolute", answer)
	}
	dir := filepath.Clean(answer)
	if filepath.Dir(dir) != filepath.Clean(dataDir) || !strings.HasPrefix(filepath.Base(dir), result.DirPrefix) {
		return "", fmt.Errorf("result path %q is not an %s* directory of %s", answer, result.DirPrefix, dataDir)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("result path: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("result path %q is not a directory (%s)", answer, st.Mode().Type())
	}
	return dir, nil
}

func writeReport(w http.ResponseWriter, rep Report) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		writeError(w, http.StatusInternalServerError, "encode answer: "+err.Error())
		return
	}
	writeBody(w, http.StatusOK, buf.String())
}

// writeError answers {"error": "<message>"}, spaced like the SPEC's bodies.
func writeError(w http.ResponseWriter, status int, message string) {
	msg, _ := json.Marshal(message)
	writeBody(w, status, `{"error": `+string(msg)+"}\n")
}

// writeText answers the health endpoints in plain text, as probes expect.
func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func writeBody(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
