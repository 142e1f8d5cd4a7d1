// Command sandbox_helper is started by the coordinator's sandbox, never by hand: it enters a
// container and starts fingerprints there (see internal/sandbox/helper). Like every binary of
// the project it answers -version.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/openshift/insights-runtime-extractor/internal/cmdline"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox/helper"
)

// The helper changes its own thread's namespaces and credentials: it must stay on the main
// thread, which LockOSThread in init guarantees to main.
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-version" {
		fmt.Println(cmdline.Version(helper.Name))
		return
	}
	os.Exit(helper.Main(os.Args[1:]))
}
