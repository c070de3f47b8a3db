package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// readyz asks the server's /readyz and returns its status and its problem's
// type and detail, if it answered with one.
func readyz(t *testing.T, env *apptest.Env) (status int, problemType, detail string) {
	t.Helper()
	resp, err := http.Get(env.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status       any
		Type, Detail string
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	if resp.StatusCode != http.StatusOK && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("/readyz answered %d as %s, not a problem", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, body.Type, body.Detail
}

// TestDiskFull_RefusedThenRecovers fills the small disk the embedded
// database is on: sends are refused with a 507 problem of their own type,
// /readyz answers 503, the server logs it once and counts it; once the
// file that filled the disk is deleted, sends succeed again without a
// restart, and every send acknowledged is in the thread.
func TestDiskFull_RefusedThenRecovers(t *testing.T) {
	disk := sqlstoretest.SmallDisk(t, 8<<20)
	env := apptest.Start(t, apptest.Unlimited, func(c *config.Config) {
		c.Database, c.DataDir = "", disk // the disk is the embedded database's
		c.MinFreeDiskMiB = 1
	})
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	var acknowledged []string
	send := func(text string) error {
		_, err := alice.SendMessage(ctx, th.ID, text, "")
		if err == nil {
			acknowledged = append(acknowledged, text)
		}
		return err
	}
	if err := send("before"); err != nil {
		t.Fatal(err)
	}
	if status, _, detail := readyz(t, env); status != http.StatusOK {
		t.Fatalf("/readyz before the disk filled: %d %s", status, detail)
	}

	free := sqlstoretest.Fill(t, disk)
	if status, typ, detail := readyz(t, env); status != http.StatusServiceUnavailable || typ != "urn:parley:problem:not_ready" || !strings.Contains(detail, "nearly full") {
		t.Errorf("/readyz on a full disk: %d %s %q", status, typ, detail)
	}
	// Sends may go on into room the database already has; then they are
	// refused, and stay refused.
	var refused *client.Error
	for i := 0; refused == nil; i++ {
		if i == 200 {
			t.Fatal("200 sends on a full disk, none refused")
		}
		if err := send(fmt.Sprintf("during %d %s", i, strings.Repeat("x", 4000))); err != nil && !errors.As(err, &refused) {
			t.Fatal(err)
		}
	}
	if refused.Status != http.StatusInsufficientStorage || refused.Type != "urn:parley:problem:storage_full" {
		t.Fatalf("refused with %v, want 507 urn:parley:problem:storage_full", refused)
	}
	if err := send("refused again"); client.StatusOf(err) != http.StatusInsufficientStorage {
		t.Fatalf("the next send: %v, want 507", err)
	}
	if got := env.Metric(t, "parley_storage_full"); got != 1 {
		t.Errorf("parley_storage_full = %v while full, want 1", got)
	}
	if got := env.Metric(t, "parley_storage_full_refusals_total"); got < 2 {
		t.Errorf("parley_storage_full_refusals_total = %v, want at least the 2 refused", got)
	}
	if got := env.Metric(t, `parley_http_requests_total{code="507",route="POST /api/v1/threads/{id}/messages"}`); got != 2 {
		t.Errorf("507s counted %v, want 2", got)
	}

	free()
	if err := send("after"); err != nil {
		t.Fatalf("send once space is freed: %v", err)
	}
	if status, _, detail := readyz(t, env); status != http.StatusOK {
		t.Errorf("/readyz once space is freed: %d %s", status, detail)
	}
	if got := env.Metric(t, "parley_storage_full"); got != 0 {
		t.Errorf("parley_storage_full = %v once space is freed, want 0", got)
	}
	logs := env.Logs.String()
	if n := strings.Count(logs, "the disk is full"); n != 1 {
		t.Errorf("logged the disk full %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, `"level":"ERROR"`); n != 1 {
		t.Errorf("logged %d errors, want the one of the disk filling: not the requests refused, nor background chores:\n%s", n, logs)
	}
	if n := strings.Count(logs, "the disk has room again"); n != 1 {
		t.Errorf("logged the disk clearing %d times, want once", n)
	}
	page, err := alice.Messages(ctx, th.ID, client.MessagesQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, m := range page.Messages {
		stored = append(stored, m.Text)
	}
	if !slices.Equal(stored, acknowledged) {
		t.Errorf("the thread holds %d messages, want the %d acknowledged", len(stored), len(acknowledged))
	}
}

// TestReadyz: ready while the database takes writes, has this binary's
// schema and, on the embedded database, room on its disk; 503 with a
// problem saying why otherwise, while /healthz, liveness only, stays 200.
// A schema a newer parley upgraded asks for this node to be upgraded; an
// older one, for the migration pending.
func TestReadyz(t *testing.T) {
	t.Run("Ready", func(t *testing.T) {
		env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
		if status, _, detail := readyz(t, env); status != http.StatusOK {
			t.Fatalf("/readyz = %d %s", status, detail)
		}
	})
	t.Run("UpgradedByANewerParley", func(t *testing.T) {
		// As in a rolling start on PostgreSQL: a newer parley upgraded the
		// database under this one, which must be upgraded in turn.
		env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
		newer, known := sqlstore.SchemaVersion()+1, sqlstore.SchemaVersion()
		if err := sqlstore.RecordSchema(context.Background(), env.Server.Store, newer); err != nil {
			t.Fatal(err)
		}
		status, typ, detail := readyz(t, env)
		want := fmt.Sprintf("the database was upgraded by a newer parley (schema %d; this one knows %d): upgrade this node", newer, known)
		if status != http.StatusServiceUnavailable || typ != "urn:parley:problem:not_ready" || detail != want {
			t.Fatalf("/readyz = %d %s %q; want 503 %q", status, typ, detail, want)
		}
		mustStatus(t, env.URL+"/healthz", http.StatusOK)
	})
	t.Run("MigrationPending", func(t *testing.T) {
		// The database taken back to the previous parley's schema under
		// this one, as a restore of that parley's backup would leave it.
		install := blankInstall(t)
		env := apptest.Start(t, func(c *config.Config) {
			c.DataDir, c.Database, c.MinFreeDiskMiB = install.DataDir, install.Database, 0
		})
		where := install.Database
		if where == "" {
			where = install.DatabasePath()
		}
		previous := sqlstore.SchemaVersion() - 1
		if err := sqlstore.UndoSchema(context.Background(), where, previous); err != nil {
			t.Fatal(err)
		}
		status, typ, detail := readyz(t, env)
		want := fmt.Sprintf("the database is at schema %d and this parley expects %d: a migration is pending", previous, sqlstore.SchemaVersion())
		if status != http.StatusServiceUnavailable || typ != "urn:parley:problem:not_ready" || detail != want {
			t.Fatalf("/readyz = %d %s %q; want 503 %q", status, typ, detail, want)
		}
	})
	t.Run("DiskNearlyFull", func(t *testing.T) {
		// No disk has this much free: the embedded database's is under
		// the minimum; PostgreSQL's is its server's, not watched here.
		env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 1 << 40 })
		status, _, detail := readyz(t, env)
		want := http.StatusServiceUnavailable
		if apptest.Engine() == "postgres" {
			want = http.StatusOK
		}
		if status != want {
			t.Fatalf("/readyz = %d %q, want %d", status, detail, want)
		}
	})
}

// mustStatus fails the test unless GET url answers status.
func mustStatus(t *testing.T, url string, status int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("GET %s = %d, want %d", url, resp.StatusCode, status)
	}
}

// TestMetricsAddr: with --metrics-addr, /metrics is served on that
// listener and nowhere else; without, on the main one, to a scraper on
// the server's own machine only: not to a request a proxy there relays
// for someone else, which finds no such page.
func TestMetricsAddr(t *testing.T) {
	t.Run("Separate", func(t *testing.T) {
		env := apptest.Start(t, func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" })
		if env.Server.MetricsURL() == env.URL {
			t.Fatal("the metrics listener is the main one")
		}
		mustStatus(t, env.Server.MetricsURL()+"/metrics", http.StatusOK)
		mustStatus(t, env.URL+"/metrics", http.StatusNotFound)
		mustStatus(t, env.Server.MetricsURL()+"/healthz", http.StatusNotFound) // only metrics there
		if env.Metric(t, "parley_websockets_open") != 0 || env.Metric(t, `parley_http_requests_total{code="200",route="GET /metrics"}`) == 0 {
			t.Error("the metrics listener's scrapes are not counted")
		}
	})
	t.Run("Default", func(t *testing.T) {
		env := apptest.Start(t)
		if env.Server.MetricsURL() != env.URL {
			t.Fatalf("metrics at %s, want the main listener %s", env.Server.MetricsURL(), env.URL)
		}
		mustStatus(t, env.URL+"/metrics", http.StatusOK)
		for _, relayed := range []string{"X-Forwarded-For", "Forwarded", "X-Real-IP"} {
			req, _ := http.NewRequest(http.MethodGet, env.URL+"/metrics", nil)
			req.Header.Set(relayed, "203.0.113.9")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "parley_http_requests_total") {
				t.Errorf("/metrics relayed by a proxy (%s): %d, its counts shown: %v; want 404 and none", relayed, resp.StatusCode, strings.Contains(string(body), "parley_http_requests_total"))
			}
		}
	})
}

// An operator running several nodes through an upgrade can tell which
// parley each runs: its start line and parley_build_info name the version
// `parley --version` prints, and the schema it expects.
func TestMetrics_BuildInfoNamesTheVersion(t *testing.T) {
	env := apptest.Start(t)
	var serving []map[string]any
	for deadline := time.Now().Add(2 * time.Second); len(serving) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		serving = env.LogEntries(t, "parley serving")
	}
	if len(serving) != 1 {
		t.Fatalf("%d start lines", len(serving))
	}
	version, ok := serving[0]["version"].(string)
	if !ok {
		t.Fatalf("the start line names no version: %v", serving[0])
	}
	if schema := serving[0]["schema"]; schema != float64(sqlstore.SchemaVersion()) {
		t.Errorf("the start line names schema %v, want %d", schema, sqlstore.SchemaVersion())
	}
	series := fmt.Sprintf(`parley_build_info{schema="%d",version="%s"}`, sqlstore.SchemaVersion(), version)
	if v, ok := env.LookupMetric(t, series); !ok || v != 1 {
		t.Errorf("%s = %v (there: %v), want 1", series, v, ok)
	}
}
