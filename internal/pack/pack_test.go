package pack_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/internal/pack"
)

// fakeHandler starts like a Linux executable, which is all Zip checks.
const fakeHandler = "\x7fELF fake handler"

// writeFiles creates each file under root with the given content; a name
// ending in "/" creates an empty folder.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// appRoot builds a Function App root with two functions and the decoys a
// developer's checkout holds next to them.
func appRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"handler":                           fakeHandler,
		"host.json":                         `{"version":"2.0"}`,
		"CrossTenantSignIns/function.json":  `{"bindings":[]}`,
		"AlertOutbox/function.json":         `{"bindings":[]}`,
		"AlertOutbox/sample.dat":            "extra file of a function",
		"main.go":                           "package main",
		"go.mod":                            "module example",
		"local.settings.json":               `{"Values":{"ALERT_WEBHOOK_URL":"https://secret"}}`,
		"local.settings.sample.json":        `{}`,
		"node_modules/azurite/package.json": `{}`,
		".git/config":                       "[core]",
		".hidden/function.json":             `{}`,
		"internal/signin/signin.go":         "package signin",
		"NotAFunction/readme.txt":           "no function.json here",
		"dist/":                             "",
	})
	// The handler comes out of `go build` executable; the zip must say so
	// whatever the mode on disk.
	if err := os.Chmod(filepath.Join(root, "handler"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestFunctionDirsFindsTopLevelFoldersWithFunctionJSON(t *testing.T) {
	got, err := pack.FunctionDirs(appRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"AlertOutbox", "CrossTenantSignIns"}
	if !slices.Equal(got, want) {
		t.Errorf("FunctionDirs = %q, want %q", got, want)
	}
}

func TestZipHoldsExactlyHandlerHostJSONAndFunctionFolders(t *testing.T) {
	root := appRoot(t)
	functions, err := pack.FunctionDirs(root)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pack.Zip(&buf, root, functions); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]fs.FileMode{
		"handler":                          0o755,
		"host.json":                        0o644,
		"AlertOutbox/function.json":        0o644,
		"AlertOutbox/sample.dat":           0o644,
		"CrossTenantSignIns/function.json": 0o644,
	}
	got := make(map[string]fs.FileMode)
	for _, f := range zr.File {
		if _, dup := got[f.Name]; dup {
			t.Errorf("entry %s appears twice", f.Name)
		}
		got[f.Name] = f.Mode()
		if f.CreatorVersion>>8 != 3 { // 3 = Unix in the zip spec's "version made by"
			t.Errorf("%s: creator %d, want Unix (3) so the mode is honoured", f.Name, f.CreatorVersion>>8)
		}
	}
	for name, mode := range want {
		gotMode, ok := got[name]
		switch {
		case !ok:
			t.Errorf("zip lacks %s", name)
		case gotMode != mode:
			t.Errorf("%s: mode %v, want %v", name, gotMode, mode)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("zip holds %s, which is not part of the app", name)
		}
	}

	for _, f := range zr.File {
		if f.Name != "handler" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		if _, err := body.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if body.String() != fakeHandler {
			t.Errorf("handler content = %q, want %q", body.String(), fakeHandler)
		}
	}
}

func TestZipIsReproducible(t *testing.T) {
	root := appRoot(t)
	functions := []string{"AlertOutbox", "CrossTenantSignIns"}
	var a, b bytes.Buffer
	if err := pack.Zip(&a, root, functions); err != nil {
		t.Fatal(err)
	}
	// Touch a file: modification times must not leak into the package.
	later := filepath.Join(root, "host.json")
	if err := os.WriteFile(later, []byte(`{"version":"2.0"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := pack.Zip(&b, root, functions); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two packages of the same files differ")
	}
}

func TestZipRefusesBrokenAppRoots(t *testing.T) {
	tests := []struct {
		name      string
		change    func(t *testing.T, root string)
		functions []string
		wantErr   string
	}{
		{
			name:      "no functions",
			functions: nil,
			wantErr:   "no function folders",
		},
		{
			name: "handler missing",
			change: func(t *testing.T, root string) {
				remove(t, filepath.Join(root, "handler"))
			},
			functions: []string{"AlertOutbox"},
			wantErr:   "handler",
		},
		{
			name: "handler built for another OS",
			change: func(t *testing.T, root string) {
				writeFiles(t, root, map[string]string{"handler": "MZ\x90\x00 windows binary"})
			},
			functions: []string{"AlertOutbox"},
			wantErr:   "not a Linux (ELF) binary",
		},
		{
			name: "host.json missing",
			change: func(t *testing.T, root string) {
				remove(t, filepath.Join(root, "host.json"))
			},
			functions: []string{"AlertOutbox"},
			wantErr:   "host.json",
		},
		{
			name:      "folder without function.json",
			functions: []string{"NotAFunction"},
			wantErr:   "function.json",
		},
		{
			name:      "nested path",
			functions: []string{"internal/signin"},
			wantErr:   "not a top-level function folder",
		},
		{
			name:      "escaping path",
			functions: []string{".."},
			wantErr:   "not a top-level function folder",
		},
		{
			name:      "duplicate",
			functions: []string{"AlertOutbox", "AlertOutbox"},
			wantErr:   "named twice",
		},
		{
			name: "symbolic link in a function folder",
			change: func(t *testing.T, root string) {
				target := filepath.Join(root, "local.settings.json")
				if err := os.Symlink(target, filepath.Join(root, "AlertOutbox", "settings.json")); err != nil {
					t.Skipf("symlinks unavailable: %v", err)
				}
			},
			functions: []string{"AlertOutbox"},
			wantErr:   "not a regular file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := appRoot(t)
			if tt.change != nil {
				tt.change(t, root)
			}
			var buf bytes.Buffer
			err := pack.Zip(&buf, root, tt.functions)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Zip error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// repoRoot is the repository root (the Function App root): go test runs a
// package's tests in its folder, two levels below.
func repoRoot(t *testing.T) string {
	t.Helper()
	return filepath.Join("..", "..")
}

// TestRepoIsAPackableFunctionApp checks the repository itself: the function
// folders the package will hold are found, each function.json is valid, and
// host.json starts the very file the package ships as the handler.
func TestRepoIsAPackableFunctionApp(t *testing.T) {
	root := repoRoot(t)
	functions, err := pack.FunctionDirs(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AlertOutbox", "CrossTenantSignIns"} {
		if !slices.Contains(functions, want) {
			t.Errorf("function folder %s not found at the repository root (found %q)", want, functions)
		}
	}
	for _, fn := range functions {
		var def struct {
			Bindings []struct {
				Type string `json:"type"`
			} `json:"bindings"`
		}
		readJSON(t, filepath.Join(root, fn, pack.FunctionJSON), &def)
		if len(def.Bindings) == 0 || !strings.HasSuffix(def.Bindings[0].Type, "Trigger") {
			t.Errorf("%s/function.json: first binding should be the trigger, got %+v", fn, def.Bindings)
		}
	}

	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	readJSON(t, filepath.Join(root, pack.HostJSON), &host)
	if got := host.CustomHandler.Description.DefaultExecutablePath; got != pack.Handler {
		t.Errorf("host.json customHandler.description.defaultExecutablePath = %q, want %q (the file the package ships)", got, pack.Handler)
	}
}

func readJSON(t *testing.T, p string, v any) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}
