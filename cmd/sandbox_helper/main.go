// Command sandbox_helper is started by the coordinator's sandbox, never by hand: it enters a
// container and starts one fingerprint there (see internal/sandbox/helper).
package main

import (
	"os"
	"runtime"

	"github.com/openshift/insights-runtime-extractor/internal/sandbox/helper"
)

// The helper changes its own thread's namespaces and credentials: it must stay on the main
// thread, which LockOSThread in init guarantees to main.
func init() { runtime.LockOSThread() }

func main() { os.Exit(helper.Main(os.Args[1:])) }
