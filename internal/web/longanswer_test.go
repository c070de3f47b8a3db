package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// The access log's download, as long as the member's log, is written to a
// client that reads it slowly but steadily whole, as the export is, past
// the deadline other answers have.
func TestAccountLogDownload_ReadSlowly(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.AnswerTimeout = 300 * time.Millisecond })
	ctx := context.Background()
	alice := apptest.MustMe(t, env.MustMember(t, "alice"))
	// 8 MB of entries: more than the kernel's buffers of the server's
	// socket and the client's hold.
	records := make([]parley.AccessRecord, 400)
	for i := range records {
		records[i] = parley.AccessRecord{UserIDs: []string{alice.ID}, Entry: parley.AccessEntry{
			At: env.Clock.Now(), ClientID: "c", AppName: fmt.Sprint(i) + strings.Repeat("x", 20000), GrantID: "g", Action: string(parley.ScopeMessagesRead),
		}}
	}
	if err := env.Server.Store.Write(ctx, func(tx parley.Tx) error { return tx.AppendAccess(ctx, records) }); err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	u, _ := url.Parse(env.URL)
	var cookies []string
	for _, c := range b.http.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	body, err := apptest.ReadSlowly(t, env.URL, "/account/access-log.json", "Cookie: "+strings.Join(cookies, "; "), 1500*time.Millisecond)
	if err != nil || !json.Valid(body) {
		t.Errorf("the access log's download, read slowly but steadily: %d bytes, %v; want it whole", len(body), err)
	}
}
