package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// mdLink is an inline markdown link or image: [text](target "title").
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	// mdHeading is an ATX heading outside code blocks.
	mdHeading = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)
	// docSection is a mention of a page's section in a comment, a test
	// message or a dashboard's description: docs/PAGE.md, "Heading" or
	// docs/PAGE.md ("Heading"); a comment may break the line inside it.
	docSection = regexp.MustCompile(`(docs/[a-z0-9-]+\.md)(?:,\s*|\s*\()"([^"]+)"`)
	// docMention is any mention of a page under docs/.
	docMention = regexp.MustCompile(`docs/[a-z0-9-]+\.md`)
	// commentBreak joins a comment's lines again (# or // and the indent).
	commentBreak = regexp.MustCompile(`\n\s*(?:#|//)\s*`)
)

// slug is the anchor GitHub gives a heading: lower case, punctuation but
// hyphens and underscores dropped, spaces turned into hyphens.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// markdownDoc is a page's headings (by anchor and by their text) and its
// links with their lines.
type markdownDoc struct {
	anchors  map[string]bool
	headings map[string]bool
	links    []mdLinkAt
}

type mdLinkAt struct {
	line   int
	target string
}

// readMarkdown reads a page, skipping fenced code blocks, whose # lines
// are comments and whose brackets are code.
func readMarkdown(path string) (markdownDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return markdownDoc{}, fmt.Errorf("reading %s: %w", path, err)
	}
	doc := markdownDoc{anchors: map[string]bool{}, headings: map[string]bool{}}
	seen := map[string]int{}
	fenced := false
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if m := mdHeading.FindStringSubmatch(line); m != nil {
			doc.headings[m[1]] = true
			s := slug(m[1])
			if n := seen[s]; n > 0 {
				doc.anchors[fmt.Sprintf("%s-%d", s, n)] = true
			} else {
				doc.anchors[s] = true
			}
			seen[s]++
		}
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			doc.links = append(doc.links, mdLinkAt{i + 1, m[1]})
		}
	}
	return doc, nil
}

// docSet reads pages on demand, once each.
type docSet map[string]*markdownDoc

func (d docSet) get(t *testing.T, path string) *markdownDoc {
	t.Helper()
	if doc, ok := d[path]; ok {
		return doc
	}
	doc, err := readMarkdown(path)
	if err != nil {
		t.Fatal(err)
	}
	d[path] = &doc
	return &doc
}

// resolve checks one relative link from page from: its file exists (or is
// pending) and, for a markdown page, its anchor names a heading there.
func (d docSet) resolve(t *testing.T, from, target string) string {
	t.Helper()
	file, anchor, _ := strings.Cut(target, "#")
	path := from
	if file != "" {
		path = filepath.ToSlash(filepath.Join(filepath.Dir(from), file))
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Sprintf("%s does not exist", path)
	}
	if anchor == "" || !strings.HasSuffix(path, ".md") {
		return ""
	}
	if !d.get(t, path).anchors[anchor] {
		return fmt.Sprintf("%s has no heading with the anchor #%s", path, anchor)
	}
	return ""
}

// TestDocLinksResolve holds every relative link and anchor of README.md and
// docs/*.md to a file and heading that exist, so that moving a section
// (as docs/alerts.md's engineering record to docs/alerts-design.md) cannot
// leave a reader at a dead end.
func TestDocLinksResolve(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	docs := docSet{}
	for _, page := range append([]string{"README.md"}, pages...) {
		for _, link := range docs.get(t, page).links {
			if strings.Contains(link.target, "://") || strings.HasPrefix(link.target, "mailto:") {
				continue
			}
			if problem := docs.resolve(t, page, link.target); problem != "" {
				t.Errorf("%s:%d: link %s: %s", page, link.line, link.target, problem)
			}
		}
	}
}

// TestDocMentionsResolve holds the pages and sections that the rules'
// comments, the Go code and tests, the dashboards and the Helm chart name
// (docs/PAGE.md, "Heading", as the rules name the section "Rule cost") to
// pages and headings that exist.
func TestDocMentionsResolve(t *testing.T) {
	t.Parallel()
	docs := docSet{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".yml", ".yaml", ".json", ".tpl":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		text := commentBreak.ReplaceAllString(string(data), " ")
		for _, page := range docMention.FindAllString(text, -1) {
			if _, err := os.Stat(page); err != nil {
				t.Errorf("%s names %s, which does not exist", path, page)
			}
		}
		for _, m := range docSection.FindAllStringSubmatch(text, -1) {
			if _, err := os.Stat(m[1]); err == nil && !docs.get(t, m[1]).headings[m[2]] {
				t.Errorf("%s names the section %q of %s, which has no such heading", path, m[2], m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
