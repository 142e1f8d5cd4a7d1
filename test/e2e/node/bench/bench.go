package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/e2e/node/workloads"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// mix is the rotation of samples: in every ten containers, one JVM (plain
// Java, then a Quarkus and a Spring Boot application in turn), interpreters
// (Python, Node.js, a shell that runs Python), a static Go server and plain
// containers that run only sleep.
var (
	jvms  = []string{"java-plain", "quarkus", "spring-boot"}
	other = []string{"python", "nodejs", "go-server", "debian-sleep", "sh-wrapper", "python", "nodejs", "go-server", "debian-sleep"}
)

// sampleAt is the sample of the i-th container started.
func sampleAt(i int) string {
	if i%10 == 0 {
		return jvms[(i/10)%len(jvms)]
	}
	return other[i%10-1]
}

// samples is every sample of the mix.
func samples() []string { return append(append([]string{}, jvms...), other[:5]...) }

// bench holds what the runs share.
type bench struct {
	log   *slog.Logger
	out   io.Writer
	pairs int
	env   *workloads.Env
	ours  *binaries
	base  *binaries
	pods  []benchPod
	exact *exactness
	rows  []row
}

// benchPod is one started pod of one container.
type benchPod struct {
	pod    *localnode.Pod
	sample string
}

func (b *bench) run(ctx context.Context, sizes []int, baseline string) (err error) {
	repo, err := localnode.RepoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "ire-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if b.ours, err = buildBinaries(ctx, b.log, "ours", repo, filepath.Join(work, "ours")); err != nil {
		return err
	}
	if baseline != "" {
		dir, cleanup, err := checkout(ctx, repo, baseline, filepath.Join(work, "baseline-src"))
		if err != nil {
			return err
		}
		defer cleanup()
		if b.base, err = buildBinaries(ctx, b.log, baseline, dir, filepath.Join(work, "baseline")); err != nil {
			return err
		}
	}
	if b.env, err = workloads.Setup(ctx, b.log, samples()...); err != nil {
		return err
	}
	if b.env.Node.Kind() != localnode.Containerd {
		b.log.Warn("the bench is made for containerd: the daemon's CPU column reads " + string(b.env.Node.Kind()))
	}
	defer func() { err = errors.Join(err, b.teardown()) }()
	b.exact = newExactness(b.env)
	b.header()
	defer func() {
		if len(b.rows) > 0 {
			b.summary()
		}
	}()
	for _, n := range sizes {
		if err := b.startPods(ctx, n); err != nil {
			return err
		}
		b.log.Info("containers running; waiting for them to settle", "n", n)
		took, ok := settle(ctx, b.env.Node.ID(), 2*time.Minute)
		quiet := fmt.Sprintf("the pods settled in %s", took.Round(time.Second))
		if !ok {
			quiet = fmt.Sprintf("the pods did not settle in %s", took.Round(time.Second))
		}
		r, err := b.measure(ctx, n, quiet)
		if err != nil {
			return err
		}
		b.rows = append(b.rows, r)
	}
	return nil
}

// startPods starts pods of one container each until n run, a few at once.
func (b *bench) startPods(ctx context.Context, n int) error {
	from := len(b.pods)
	if n <= from {
		return nil
	}
	started := make([]benchPod, n-from)
	idx := make(chan int)
	errs := make([]error, n-from)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range idx {
				name := sampleAt(i)
				spec := localnode.PodSpec{Name: fmt.Sprintf("bench-%03d", i), Namespace: "bench",
					Containers: []localnode.ContainerSpec{b.env.Images.Sample(name).Container("app")}}
				p, err := b.env.Node.RunPod(ctx, spec)
				started[i-from], errs[i-from] = benchPod{pod: p, sample: name}, err
			}
		})
	}
	for i := from; i < n; i++ {
		idx <- i
	}
	close(idx)
	wg.Wait()
	for i, p := range started {
		if p.pod != nil {
			b.pods = append(b.pods, p)
		} else if errs[i] == nil {
			errs[i] = fmt.Errorf("pod %d not started", from+i)
		}
	}
	return errors.Join(errs...)
}

// teardown removes the pods, several at once and with a time limit that
// grows with their number, then stops the node: the tables are printed by
// then, and a slow or failed removal only adds an error.
func (b *bench) teardown() error {
	if b.env == nil {
		return nil
	}
	start := time.Now()
	limit := time.Minute + time.Duration(len(b.pods))*500*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	pods := make(chan *localnode.Pod)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for p := range pods {
				if err := b.env.Node.RemovePod(ctx, p); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, p := range b.pods {
		pods <- p.pod
	}
	close(pods)
	wg.Wait()
	b.log.Info("pods removed", "pods", len(b.pods), "took", time.Since(start).Round(time.Millisecond), "failed", len(errs))
	if len(errs) > 0 {
		errs = []error{fmt.Errorf("%d of %d pods not removed within %s (the node's stop retries): %w", len(errs), len(b.pods), limit, errs[0])}
	}
	return errors.Join(append(errs, b.env.Close())...)
}
