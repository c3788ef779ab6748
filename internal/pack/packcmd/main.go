// Command packcmd writes the release package of the Function App:
//
//	go run ./internal/pack/packcmd -root . -out dist/tenantwatch.zip
//
// The handler must already be built for Linux x64 at <root>/handler. The zip
// is written next to its final path and renamed into place, so a failed run
// never leaves a half-written package behind.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenantwatch/tenantwatch/internal/pack"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("packcmd", flag.ContinueOnError)
	fset.SetOutput(stderr)
	root := fset.String("root", ".", "Function App root: handler, host.json and the function folders")
	out := fset.String("out", filepath.Join("dist", "tenantwatch.zip"), "package to write")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "packcmd: unexpected arguments %q\n", fset.Args())
		return 2
	}
	functions, err := write(*root, *out)
	if err != nil {
		fmt.Fprintf(stderr, "packcmd: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %s, functions %s\n",
		*out, pack.Handler, pack.HostJSON, strings.Join(functions, ", "))
	return 0
}

// write packages the app at root into the file out and returns the function
// folders it holds.
func write(root, out string) (functions []string, err error) {
	functions, err = pack.FunctionDirs(root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, fmt.Errorf("create output folder: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return nil, fmt.Errorf("create package: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := pack.Zip(tmp, root, functions); err != nil {
		return nil, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return nil, fmt.Errorf("package mode: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write package: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, fmt.Errorf("move package into place: %w", err)
	}
	return functions, nil
}
