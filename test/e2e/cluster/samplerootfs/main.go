// Command samplerootfs writes the generated content of one runtime sample
// (a recipe.json with "generate") into a directory standing for the image's
// "/": the rootfs/ that the sample's Containerfile copies. `make
// runtime-samples` runs it for the registry build, with the same generators
// (test/samples, the host JDK) as the node e2e, so the cluster e2e and
// the node e2e run the same sample content.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

const usage = `usage: samplerootfs -recipe runtime-samples/<name> -rootfs <dir>

Writes the content the recipe's generator makes into <dir> (created if needed).
`

func main() {
	fs := flag.NewFlagSet("samplerootfs", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // one clear line on a bad flag, the usage on -h
	recipeDir := fs.String("recipe", "", "the sample's folder (holding recipe.json)")
	rootfs := fs.String("rootfs", "", "the directory to write the content into")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Print(usage)
			os.Exit(0)
		}
		fail(err)
	}
	if *recipeDir == "" || *rootfs == "" || fs.NArg() > 0 {
		fail(errors.New("-recipe and -rootfs are required, and nothing else"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := generate(ctx, *recipeDir, *rootfs); err != nil {
		fail(err)
	}
}

func generate(ctx context.Context, recipeDir, rootfs string) error {
	r, err := localnode.LoadRecipe(recipeDir)
	if err != nil {
		return err
	}
	if r.Generate == nil {
		return fmt.Errorf("sample %s has no generator: its Containerfile builds it from its own source", r.Name)
	}
	gen, ok := localnode.DefaultGenerators()[r.Generate.Generator]
	if !ok {
		return fmt.Errorf("sample %s: unknown generator %q", r.Name, r.Generate.Generator)
	}
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return fmt.Errorf("sample %s: %w", r.Name, err)
	}
	if _, err := gen(ctx, rootfs, r.Generate.Params); err != nil {
		return fmt.Errorf("sample %s: generator %s: %w", r.Name, r.Generate.Generator, err)
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "samplerootfs:", err)
	os.Exit(2)
}
