package apptest

import (
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// A page that scrolls inside a pane, as the messenger does, shows in its
// screenshots with the pane's whole content, at both widths, not only its
// first 800 px; the tab is left as the tests' steps expect it, 1280 by 800.
func TestScreenshot_ShowsWhatPanesHold(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><html style="height:100%"><body style="margin:0;height:100%;display:flex;flex-direction:column">`+
			`<header style="height:50px;flex:none">Head</header>`+
			`<main style="flex:1;min-height:0;overflow-y:auto"><div style="height:3000px">Long</div><p id="end">The end</p></main></body></html>`)
	}))
	defer srv.Close()
	ctx := Chromium(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("PARLEY_SCREENSHOTS", dir)
	Screenshot(t, ctx, "pane")
	for _, width := range screenshotWidths {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("%s-pane-%d.png", t.Name(), width)))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if img.Width != int(width) || img.Height < 50+3000+16 {
			t.Errorf("the screenshot at %d px is %d by %d px, want %d wide and the head and pane's 3000 px and more tall", width, img.Width, img.Height, width)
		}
	}
	size, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[innerWidth, innerHeight]`))
	if err != nil {
		t.Fatal(err)
	}
	if size[0] != 1280 || size[1] != 800 {
		t.Errorf("the tab is left at %v px, want 1280 by 800", size)
	}
}
