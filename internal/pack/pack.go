// Package pack builds the release package of the Function App: a zip holding
// the Linux handler binary with its executable bit, host.json and every
// function folder, and nothing else.
//
// The zip is what `az functionapp deployment source config-zip` (One Deploy on
// the Flex Consumption plan) unpacks as the app root, so its layout is the app
// root's: no sources, no local.settings.json, no node_modules.
package pack

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	// Handler is the file name of the custom-handler binary, as host.json's
	// customHandler.description.defaultExecutablePath names it.
	Handler = "handler"
	// HostJSON is the Functions host configuration at the app root.
	HostJSON = "host.json"
	// FunctionJSON marks a top-level folder as a function.
	FunctionJSON = "function.json"
)

// elfMagic starts every ELF binary; a handler built for Windows or macOS
// would deploy cleanly and then never start.
const elfMagic = "\x7fELF"

// FunctionDirs returns the names of root's top-level folders that hold a
// function.json, sorted. Hidden folders are never functions.
func FunctionDirs(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("pack: list app root: %w", err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		fi, err := os.Stat(filepath.Join(root, e.Name(), FunctionJSON))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fmt.Errorf("pack: %s: %w", e.Name(), err)
		case fi.Mode().IsRegular():
			dirs = append(dirs, e.Name())
		}
	}
	slices.Sort(dirs)
	return dirs, nil
}

// Zip writes the package of the app rooted at root to w: the handler (mode
// 0755, recorded as a Unix mode so Linux keeps it executable), host.json and
// every regular file under each named function folder (mode 0644). Entries
// are written in a fixed order with a fixed time, so equal inputs give equal
// zips. It fails when the handler is not a Linux (ELF) binary, when host.json
// or a function.json is missing, when no function is named, and on any
// symbolic link or other non-regular file inside a function folder.
func Zip(w io.Writer, root string, functions []string) error {
	if len(functions) == 0 {
		return errors.New("pack: no function folders to package")
	}
	files, err := collect(root, functions)
	if err != nil {
		return err
	}
	if err := checkELF(filepath.Join(root, Handler)); err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := add(zw, root, f); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pack: finish zip: %w", err)
	}
	return nil
}

// entry is one file of the package: its slash-separated name in the zip and
// its mode there.
type entry struct {
	name string
	mode fs.FileMode
}

// collect lists the package's entries in the order they are written: the
// handler, host.json, then each function folder's files by path.
func collect(root string, functions []string) ([]entry, error) {
	files := []entry{{Handler, 0o755}, {HostJSON, 0o644}}
	for _, name := range []string{Handler, HostJSON} {
		if err := regular(filepath.Join(root, name)); err != nil {
			return nil, err
		}
	}
	seen := make(map[string]bool)
	for _, fn := range functions {
		if fn == "" || fn != filepath.Base(fn) || strings.HasPrefix(fn, ".") {
			return nil, fmt.Errorf("pack: %q is not a top-level function folder", fn)
		}
		if seen[fn] {
			return nil, fmt.Errorf("pack: function folder %q named twice", fn)
		}
		seen[fn] = true
		if err := regular(filepath.Join(root, fn, FunctionJSON)); err != nil {
			return nil, err
		}
		var inFolder []entry
		err := filepath.WalkDir(filepath.Join(root, fn), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return fmt.Errorf("%s is not a regular file", filepath.ToSlash(rel))
			}
			inFolder = append(inFolder, entry{filepath.ToSlash(rel), 0o644})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("pack: function folder %s: %w", fn, err)
		}
		files = append(files, inFolder...)
	}
	return files, nil
}

// regular fails unless p is an existing regular file.
func regular(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("pack: %s is not a regular file", p)
	}
	return nil
}

// checkELF fails unless the file at p starts like a Linux executable.
func checkELF(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(elfMagic))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != elfMagic {
		return fmt.Errorf("pack: %s is not a Linux (ELF) binary: build it with GOOS=linux GOARCH=amd64", p)
	}
	return nil
}

// add copies one file into the zip.
func add(zw *zip.Writer, root string, e entry) error {
	// A fixed time on every entry: the same inputs always give the same bytes.
	modified := time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC)
	h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: modified}
	// SetMode records a Unix mode (creator "Unix"), which unzip and the
	// Functions deployment honour; a zip without it loses the executable bit.
	h.SetMode(e.mode)
	dst, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("pack: add %s: %w", e.name, err)
	}
	src, err := os.Open(filepath.Join(root, filepath.FromSlash(e.name)))
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	defer src.Close()
	if _, err := io.Copy(dst, src); err != nil {
		return fmt.Errorf("pack: add %s: %w", e.name, err)
	}
	return nil
}
