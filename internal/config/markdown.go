package config

import (
	"slices"
	"strings"
)

// MarkdownTable renders the README's settings reference from Settings: for
// each group, in order of first appearance, a "### <Group>" heading and a
// table of the settings Tenantwatch or its trigger binding reads. Settings
// the host sets for the handler (ScopeHost) are left out: nobody sets them.
func MarkdownTable() string {
	var groups []string
	byGroup := make(map[string][]Setting)
	for _, s := range Settings() {
		if s.Scope == ScopeHost {
			continue
		}
		if !slices.Contains(groups, s.Group) {
			groups = append(groups, s.Group)
		}
		byGroup[s.Group] = append(byGroup[s.Group], s)
	}

	var b strings.Builder
	for i, g := range groups {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("### " + g + "\n\n")
		b.WriteString("| Setting | Default | Description |\n")
		b.WriteString("| --- | --- | --- |\n")
		for _, s := range byGroup[g] {
			desc := s.Description
			if s.Secret {
				desc = "**Secret.** " + desc
			}
			b.WriteString("| `" + s.Name + "` | " + cell(markdownDefault(s.Default)) + " | " + cell(desc) + " |\n")
		}
	}
	return b.String()
}

// markdownDefault shows a literal default (one word, no markup) as code and
// leaves a default written as prose alone.
func markdownDefault(d string) string {
	if d == "" || strings.ContainsAny(d, " `") {
		return d
	}
	return "`" + d + "`"
}

// cell keeps text inside one table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}
