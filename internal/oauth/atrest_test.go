package oauth_test

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

// TestTokens_NoneKeptInTheClear: codes, refresh tokens and client secrets
// are kept as their SHA-256 hashes only, so that a copy of the data
// directory, a backup or a stolen disk lets no one act as an app or a
// member: none of them is anywhere in the directory's files, the
// database's write-ahead log included.
func TestTokens_NoneKeptInTheClear(t *testing.T) {
	t.Parallel()
	if apptest.Engine() != "sqlite" {
		t.Skip("the data directory holds the database only with SQLite")
	}
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	code, verifier := signedIn(t, partner, "openid", "offline_access")
	first := basic(t, env.URL+"/oauth2/token", partner, codeForm(partner, code, verifier))
	refresh, _ := first.Body["refresh_token"].(string)
	second := basic(t, env.URL+"/oauth2/token", partner, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if first.Status != http.StatusOK || second.Status != http.StatusOK {
		t.Fatalf("exchange %d %v, refresh %d %v", first.Status, first.Body, second.Status, second.Body)
	}
	secrets := map[string]string{"the code": code, "the client secret": partner.App.ClientSecret, "a refresh token": refresh}
	secrets["its successor"], _ = second.Body["refresh_token"].(string)
	err := filepath.WalkDir(env.Server.Config.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for what, secret := range secrets {
			if secret == "" {
				t.Fatalf("%s is empty", what)
			}
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s is kept in the clear in %s", what, filepath.Base(path))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
