package config_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/internal/config"
)

// update rewrites generated files (the README's settings block,
// local.settings.sample.json) from Settings instead of comparing them:
//
//	go test ./internal/config -run 'TestReadme|TestLocalSettingsSample' -update
var update = flag.Bool("update", false, "rewrite generated files from config.Settings")

const (
	settingsBegin = "<!-- settings:begin -->"
	settingsEnd   = "<!-- settings:end -->"
)

// repoRoot is the repository root (the Function App root): go test runs a
// package's tests in its folder, two levels below.
func repoRoot(t *testing.T) string {
	t.Helper()
	return filepath.Join("..", "..")
}

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReadmeSettingsTableIsGenerated checks that the README's settings
// reference is exactly MarkdownTable, so a setting added to Settings cannot
// be forgotten in the documentation. With -update it rewrites the block.
func TestReadmeSettingsTableIsGenerated(t *testing.T) {
	path := filepath.Join(repoRoot(t), "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := bytes.Cut(readme, []byte(settingsBegin))
	if !ok {
		t.Fatalf("README.md has no %s marker", settingsBegin)
	}
	block, after, ok := bytes.Cut(rest, []byte(settingsEnd))
	if !ok {
		t.Fatalf("README.md has no %s marker after %s", settingsEnd, settingsBegin)
	}
	want := config.MarkdownTable()

	if *update {
		var out bytes.Buffer
		out.Write(before)
		out.WriteString(settingsBegin + "\n" + want + settingsEnd)
		out.Write(after)
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := strings.TrimSpace(string(block)); got != strings.TrimSpace(want) {
		t.Errorf("README.md settings block differs from config.MarkdownTable(); run\n\tgo test ./internal/config -run TestReadme -update\n--- got\n%s\n--- want\n%s", got, want)
	}
}

func TestMarkdownTableListsEverySettingSomeoneSets(t *testing.T) {
	table := config.MarkdownTable()
	for _, s := range config.Settings() {
		row := "| `" + s.Name + "` |"
		listed := strings.Contains(table, row)
		if s.Scope == config.ScopeHost {
			if listed {
				t.Errorf("%s is set by the Functions host; it should not be listed", s.Name)
			}
			continue
		}
		if !listed {
			t.Errorf("%s (scope %s) is not in the table", s.Name, s.Scope)
		}
		if !strings.Contains(table, "### "+s.Group+"\n") {
			t.Errorf("group %q of %s has no heading", s.Group, s.Name)
		}
	}
}

func TestMarkdownTableRowsStayInOneCell(t *testing.T) {
	for line := range strings.Lines(config.MarkdownTable()) {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		// Three cells: four unescaped pipes.
		if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != 4 {
			t.Errorf("row has %d cell separators, want 4: %s", n, line)
		}
	}
}
