package apptest

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium starts a headless Chromium for the test and returns a context
// that drives a tab of it (chromedp). Without a Chromium the test is
// skipped, except under CI=true, where it fails: CI must run it.
func Chromium(tb testing.TB) context.Context {
	tb.Helper()
	path := Program(tb, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// What a browser of a person's does beside the page, which the
		// tests need not pay for: a twentieth of the browser tests' CPU.
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-component-extensions-with-background-pages", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-hang-monitor", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("disable-features", "site-per-process,Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	// The first run starts the browser, which lives as long as that run's
	// context: the tab's, without the timeout that bounds the test's steps.
	if err := chromedp.Do(tab); err != nil {
		cancelTab()
		cancelAlloc()
		tb.Fatalf("start chromium: %v", err)
	}
	// The timeout bounds the test's steps together: a page that never
	// shows what a test waits for fails the test in three minutes, not at
	// go test's timeout. It was one minute, which the messenger's test,
	// the longest, outgrew on PostgreSQL beside CI's race step (66 and
	// 71 s on 2026-12-01).
	ctx, cancelTimeout := context.WithTimeout(tab, 3*time.Minute)
	tb.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// Program returns the path of the program named, a package of Debian's
// that .ci/run installs. Without it on PATH the test is skipped, except
// under CI=true, where it fails: CI must run it.
func Program(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("no %s on PATH: install Debian's %s package (.ci/run does)", name, name)
		}
		tb.Skipf("no %s on PATH; CI runs this test", name)
	}
	return path
}

// Screenshot widths: a small phone, then a desktop window, which the tab
// keeps for the test's next steps.
var screenshotWidths = []int64{375, 1280}

// screenshotHeight is the window's height for screenshots and the tests'
// steps, and screenshotMaxHeight the most a screenshot grows to.
const screenshotHeight, screenshotMaxHeight = 800, 8000

// hiddenByPanes is how much taller the window must be for every box that
// scrolls on its own (the messenger's panes; not a text field, which keeps
// its height) to show all it holds: the most any of them hides below its
// fold.
const hiddenByPanes = `Math.max(0, ...[...document.body.querySelectorAll("*:not(textarea)")].filter(el =>
	/auto|scroll/.test(getComputedStyle(el).overflowY)).map(el => el.scrollHeight - el.clientHeight))`

// Screenshot saves the page the tab shows, whole, at a desktop width and at
// 375 px, as PNG files named after the test and name in the folder
// PARLEY_SCREENSHOTS names, so that a person can look at what the pages
// show. Without PARLEY_SCREENSHOTS it does nothing.
//
// Whole means what a person could scroll to: the page below the window's
// fold, and what its panes that scroll on their own (the messenger's
// conversation, its inbox, its pages) hide below theirs. For the panes,
// the window is made as tall as they need, up to 8000 px, as on a very
// tall screen, so that they lay out with everything in sight.
// The tab is left at the desktop width, 800 px tall.
func Screenshot(tb testing.TB, ctx context.Context, name string) {
	tb.Helper()
	dir := os.Getenv("PARLEY_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, width := range screenshotWidths {
		height, before := int64(screenshotHeight), math.Inf(1)
		// A pane grown taller may show a pane within it that scrolls in
		// turn: grow the window while it shows more, a few times at most.
		for range 3 {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
				tb.Fatalf("viewport of %d by %d px: %v", width, height, err)
			}
			hidden, err := chromedp.Run(ctx, chromedp.Evaluate[float64](hiddenByPanes))
			if err != nil {
				tb.Fatalf("panes of %s at %d px: %v", name, width, err)
			}
			if hidden < 1 || hidden >= before || height >= screenshotMaxHeight {
				break
			}
			height, before = min(height+int64(math.Ceil(hidden)), screenshotMaxHeight), hidden
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			tb.Fatalf("screenshot %s at %d px: %v", name, width, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.png", strings.ReplaceAll(tb.Name(), "/", "_"), name, width))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(screenshotWidths[len(screenshotWidths)-1], screenshotHeight)); err != nil {
		tb.Fatalf("viewport: %v", err)
	}
}
