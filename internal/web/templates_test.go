package web

import (
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
