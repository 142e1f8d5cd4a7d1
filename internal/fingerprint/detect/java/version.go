package java

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/keyvalue"
)

// javaVersion reports kind Java, with JAVA_VERSION and IMPLEMENTOR of the
// release file of the Java home: $JAVA_HOME of the process, else the home of
// the java executable actually running (symlinks resolved inside the root).
func init() { detect.Register(javaVersion) }

var javaVersion = detect.Detector{
	Name:         "java-version",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		f := contract.Finding{Kind: "Java"}
		var errs []error
		for _, home := range javaHomes(env) {
			for _, release := range []string{path.Join(home, "release"), path.Join(path.Dir(home), "release")} {
				// The second is a JDK 8's, whose java runs from <jdk>/jre/bin.
				if release == path.Join(path.Dir(home), "release") && path.Base(home) != "jre" {
					continue
				}
				data, err := env.Root.ReadFile(release, detect.MaxTextFile)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				kv := keyvalue.Parse(data)
				f.KindVersion, f.KindImplementer = kv["JAVA_VERSION"], kv["IMPLEMENTOR"]
				return f, nil
			}
		}
		if len(errs) == 0 {
			errs = append(errs, errors.New("no Java home found"))
		}
		return f, fmt.Errorf("java release: %w", errors.Join(errs...))
	},
}

// javaHomes returns the candidate Java homes, best first.
func javaHomes(env detect.Env) []string {
	var homes []string
	if h, ok := env.Request.Process.Getenv("JAVA_HOME"); ok && strings.HasPrefix(h, "/") {
		homes = append(homes, path.Clean(h))
	}
	if exe, err := runningExecutable(env); err == nil {
		if dir := path.Dir(exe); path.Base(dir) == "bin" {
			homes = append(homes, path.Dir(dir))
		}
	} else {
		env.Log.Debug("java executable not found", "err", err)
	}
	return homes
}

// runningExecutable returns the executable the process runs, symlinks
// resolved inside the root: the one the kernel recorded, else argv[0].
func runningExecutable(env detect.Env) (string, error) {
	f, exe, err := detect.RecordedExecutable(env)
	if err == nil {
		f.Close()
		return env.Root.Resolve(exe)
	}
	env.Log.Debug("executable not recorded, falling back to argv[0]", "pid", env.Request.Process.PID, "err", err)
	return detect.Argv0Executable(env)
}
