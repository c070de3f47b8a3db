package web

import (
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"testing"
)

// The pages' templates are a node's largest part of its heap at rest, and
// a server's peak memory is a multiple of its live heap (GOGC 200): each
// file is parsed once, into one set. A set for each page, with the parts
// it uses, held 2.8 MB.
func TestParsePages_HoldsLessThanAMegabyte(t *testing.T) {
	p := &Pages{}
	p.parsePages() // the first parse allocates what the template packages keep for good
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pages := p.parsePages()
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	runtime.KeepAlive(pages)
	if held > 1<<20 {
		t.Errorf("the pages' templates hold %d KiB of the heap; want under 1,024", held>>10)
	}
	t.Logf("the pages' templates hold %d KiB", held>>10)
}

// parsePages puts every file into one set, where a template defined twice
// would be replaced without a word: each name is defined once, and no
// file is named as a template another defines.
func TestParsePages_EachTemplateDefinedOnce(t *testing.T) {
	files, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("the template files: %v, %v", files, err)
	}
	definedIn := map[string]string{}
	for _, f := range files {
		definedIn[path.Base(f)] = f
	}
	define := regexp.MustCompile(`\{\{-?\s*define\s+"([^"]+)"`)
	for _, f := range files {
		text, err := fs.ReadFile(templateFiles, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range define.FindAllStringSubmatch(string(text), -1) {
			if other, ok := definedIn[m[1]]; ok {
				t.Errorf("%s defines %q, which %s defines too", f, m[1], other)
			}
			definedIn[m[1]] = f
		}
	}
}
