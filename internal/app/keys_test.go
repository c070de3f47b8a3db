package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/oauth"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
	"golang.org/x/oauth2"
)

// `parley keys rotate` makes new keys that every server publishes at once
// and uses from oauth.KeyPublishDelay on; what the old keys made goes on
// working until it expires, and then the old keys are dropped.
func TestKeys_RotateKeepsIssuedTokensWorking(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	token := func() *oauth2.Token {
		return env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{})
	}
	before := token()
	oldKID := mustVerifyIDToken(t, env, before)

	out, err := run(t, env.Server.Config, "", "keys", "rotate")
	if err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, out)
	}
	// The server reads the keys again, as it does every minute.
	if err := env.Server.ReloadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	kids := jwksKeyIDs(t, env)
	if len(kids) != 2 || !slices.Contains(kids, oldKID) {
		t.Fatalf("JWKS after the rotation has %v; want the old key %s and a new one", kids, oldKID)
	}
	newKID := kids[0]
	if newKID == oldKID {
		newKID = kids[1]
	}
	if !strings.Contains(out, newKID) {
		t.Errorf("keys rotate printed\n%s\nwithout the new key %s", out, newKID)
	}
	mustWork(t, env, before.AccessToken)
	if kid := mustVerifyIDToken(t, env, before); kid != oldKID {
		t.Errorf("the ID token from before the rotation is signed by %s", kid)
	}
	// Until every server and app has seen the new keys, the old ones sign
	// and seal.
	if kid := mustVerifyIDToken(t, env, token()); kid != oldKID {
		t.Errorf("an ID token issued before the new keys are in force is signed by %s; want %s", kid, oldKID)
	}

	env.Clock.Advance(oauth.KeyPublishDelay)
	after := token()
	if kid := mustVerifyIDToken(t, env, after); kid != newKID {
		t.Errorf("an ID token issued once the new keys are in force is signed by %s; want %s", kid, newKID)
	}
	mustWork(t, env, after.AccessToken)
	mustWork(t, env, before.AccessToken)
	if kid := mustVerifyIDToken(t, env, before); kid != oldKID {
		t.Errorf("the ID token from before the rotation no longer verifies")
	}

	// The rotation is an operator's decision on record.
	if out, err := run(t, env.Server.Config, "", "audit"); err != nil || !strings.Contains(out, "keys.rotate") || !strings.Contains(out, newKID) {
		t.Errorf("audit: %v\n%s", err, out)
	}

	// Once what the old keys made has expired, they are gone.
	env.Clock.Advance(service.AccessTokenTTL + 10*time.Minute)
	if err := env.Server.ReloadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if kids := jwksKeyIDs(t, env); !slices.Equal(kids, []string{newKID}) {
		t.Errorf("JWKS once the old keys expired has %v; want only %s", kids, newKID)
	}
	latest := token()
	mustWork(t, env, latest.AccessToken)
	if kid := mustVerifyIDToken(t, env, latest); kid != newKID {
		t.Errorf("an ID token is signed by %s; want %s", kid, newKID)
	}
}

// With --keys-file, `parley db init` makes the keys in a new 0600 file and
// not in the database; a server refuses the file once others may read it.
func TestKeys_FileMadePrivateAndRefusedWhenOpen(t *testing.T) {
	cfg := newInstall(t)
	cfg.KeysFile = filepath.Join(t.TempDir(), "keys.json")
	if out, err := run(t, cfg, "", "db", "init", "--keys-file", cfg.KeysFile); err != nil {
		t.Fatalf("db init: %v\n%s", err, out)
	}
	if info, err := os.Stat(cfg.KeysFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("keys file %v, %v; want 0600", info.Mode(), err)
	}
	forgotten := cfg
	forgotten.KeysFile = ""
	assertRefusedToStart(t, forgotten, "the provider's keys are in a keys file")
	env := apptest.StartInstall(t, cfg)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{})
	mustWork(t, env, tok.AccessToken)
	kid := mustVerifyIDToken(t, env, tok)
	env.Stop()

	// Rotation writes the file, and keeps it private.
	if out, err := run(t, cfg, "", "keys", "rotate", "--keys-file", cfg.KeysFile); err != nil || !strings.Contains(out, kid) {
		t.Fatalf("keys rotate: %v\n%s", err, out)
	}
	if info, err := os.Stat(cfg.KeysFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("keys file after rotation %v, %v; want 0600", info.Mode(), err)
	}
	os.Chmod(cfg.KeysFile, 0o640)
	assertRefusedToStart(t, cfg, "open to other users (mode 0640)")
}

// `parley db init` given a keys file in a directory that is not there
// refuses before it makes the database, which a second try, once the
// directory is made, would otherwise find there already.
func TestKeys_InitRefusesAKeysFileWhereNoDirectoryIs(t *testing.T) {
	cfg := newInstall(t)
	dir := filepath.Join(t.TempDir(), "not-made")
	keys := filepath.Join(dir, "keys.json")
	if out, err := run(t, cfg, "", "db", "init", "--keys-file", keys); err == nil || !strings.Contains(err.Error(), "the directory "+dir+" does not exist") {
		t.Fatalf("db init with the keys file in a missing directory: %v\n%s", err, out)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, cfg, "", "db", "init", "--keys-file", keys); err != nil {
		t.Fatalf("db init once the directory is made: %v\n%s", err, out)
	}
}

// An install whose keys are in a keys file takes that file only: a server
// or command given another install's file, or a path where no file is
// (a node started before its copy of the file came), refuses, and makes no
// keys of its own, which would end every token issued; `keys move
// --to-database` takes no other install's file in, nor deletes it.
func TestKeys_OnlyTheInstallsOwnFile(t *testing.T) {
	cfg, other := newInstall(t), newInstall(t)
	cfg.KeysFile = filepath.Join(t.TempDir(), "keys.json")
	other.KeysFile = filepath.Join(t.TempDir(), "other.json")
	for _, c := range []config.Config{cfg, other} {
		if out, err := run(t, c, "", "db", "init", "--keys-file", c.KeysFile); err != nil {
			t.Fatalf("db init: %v\n%s", err, out)
		}
	}
	wrong := cfg
	wrong.KeysFile = other.KeysFile
	assertRefusedToStart(t, wrong, "the keys file "+other.KeysFile+" holds another install's keys")
	if out, err := run(t, cfg, "", "keys", "move", "--to-database", "--keys-file", other.KeysFile); err == nil ||
		!strings.Contains(err.Error(), "holds another install's keys") {
		t.Errorf("keys move --to-database of another install's file: %v\n%s", err, out)
	}
	if _, err := os.Stat(other.KeysFile); err != nil {
		t.Errorf("the other install's keys file after the refused move: %v", err)
	}
	missing := cfg
	missing.KeysFile = filepath.Join(t.TempDir(), "typo.json")
	assertRefusedToStart(t, missing, "and "+missing.KeysFile+" does not exist")
	if _, err := os.Stat(missing.KeysFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a keys file was made where none was: %v", err)
	}
	env := apptest.StartInstall(t, cfg)
	env.MustMember(t, "alice")
	env.Stop()
}

// `parley db init` checks a keys file that exists before it makes the
// database, so that a refusal leaves nothing behind to refuse the next try;
// and a database made with a keys file made before it is marked as having
// its keys there, as one that made its own.
func TestKeys_InitWithAFileMadeBefore(t *testing.T) {
	made, cfg := newInstall(t), newInstall(t)
	made.KeysFile = filepath.Join(t.TempDir(), "keys.json")
	if out, err := run(t, made, "", "db", "init", "--keys-file", made.KeysFile); err != nil {
		t.Fatalf("db init: %v\n%s", err, out)
	}
	b, err := os.ReadFile(made.KeysFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.KeysFile = filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(cfg.KeysFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, cfg, "", "db", "init", "--keys-file", cfg.KeysFile); err == nil || !strings.Contains(err.Error(), "open to other users") {
		t.Fatalf("db init with a keys file open to others: %v\n%s", err, out)
	}
	os.Chmod(cfg.KeysFile, 0o600)
	if out, err := run(t, cfg, "", "db", "init", "--keys-file", cfg.KeysFile); err != nil {
		t.Fatalf("db init again, the file made private: %v\n%s", err, out)
	}
	forgotten := cfg
	forgotten.KeysFile = ""
	assertRefusedToStart(t, forgotten, "the provider's keys are in a keys file")
}

// An install whose keys are in the database cannot start with a keys
// file, which would make others; `parley keys move --to-file`, refused
// while a server runs on the embedded database or into a directory that
// is not there, moves them, and tokens issued before go on working.
func TestKeys_MoveFromDatabaseToFile(t *testing.T) {
	env := apptest.Start(t)
	cfg := env.Server.Config
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{})
	secrets := serverSecrets(t, env)
	env.Stop()

	cfg.KeysFile = filepath.Join(t.TempDir(), "keys.json")
	assertRefusedToStart(t, cfg, "parley keys move --to-file "+cfg.KeysFile)
	if cfg.Database == "" {
		// A server running on the embedded database would go on with keys
		// no longer where it reads them.
		running := apptest.StartInstall(t, env.Server.Config)
		if out, err := run(t, cfg, "", "keys", "move", "--to-file", cfg.KeysFile); err == nil || !strings.Contains(err.Error(), "in use by a running server") {
			t.Fatalf("keys move while a server runs: %v\n%s", err, out)
		}
		running.Stop()
	}
	// Into a directory that is not there, it says so and moves nothing.
	nowhere := cfg
	nowhere.KeysFile = filepath.Join(t.TempDir(), "none", "keys.json")
	if out, err := run(t, nowhere, "", "keys", "move", "--to-file", nowhere.KeysFile); err == nil || !strings.Contains(err.Error(), "none does not exist: make it first") {
		t.Fatalf("keys move into a missing directory: %v\n%s", err, out)
	}
	if out, err := run(t, cfg, "", "keys", "move", "--to-file", cfg.KeysFile); err != nil {
		t.Fatalf("keys move: %v\n%s", err, out)
	}
	if info, err := os.Stat(cfg.KeysFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("keys file %v, %v; want 0600", info.Mode(), err)
	}
	mustAudit(t, cfg, "keys.move", "the keys file "+cfg.KeysFile)
	moved := apptest.StartInstall(t, cfg)
	mustWork(t, moved, tok.AccessToken)
	mustVerifyIDToken(t, moved, tok)
	mustKeepSecrets(t, moved, secrets)
	moved.Stop()

	// The database holds the keys no more, and a server that forgot the
	// file refuses to start rather than make others.
	cfg.KeysFile = ""
	assertRefusedToStart(t, cfg, "the provider's keys are in a keys file: start every server and command with --keys-file")
}

// Keys wrapped by PARLEY_KEYS_WRAP_KEY are useless without it: a server
// without it, or with another key, refuses to start and says which.
func TestKeys_WrappedNeedTheirWrapKey(t *testing.T) {
	cfg := newInstall(t)
	wrap := newWrapKey(t)
	if out, err := runEnv(t, cfg, map[string]string{"PARLEY_KEYS_WRAP_KEY": wrap}, "", "db", "init"); err != nil {
		t.Fatalf("db init: %v\n%s", err, out)
	}
	assertRefusedToStart(t, cfg, "the keys in the database are wrapped: set PARLEY_KEYS_WRAP_KEY")
	cfg.KeysWrapKey = newWrapKey(t)
	assertRefusedToStart(t, cfg, "is not the key that wrapped the keys in the database")
	cfg.KeysWrapKey = "c2hvcnQ="
	assertRefusedToStart(t, cfg, "PARLEY_KEYS_WRAP_KEY must be the base64 of 32 random bytes")
	cfg.KeysWrapKey = wrap
	env := apptest.StartInstall(t, cfg)
	env.MustMember(t, "alice")
	tok := env.MustToken(t, env.MustPartner(t, "Tunes"), "alice", []string{"openid", "profile"}, apptest.Answer{})
	mustWork(t, env, tok.AccessToken)
	// The server's other secrets are wrapped with the keys.
	for name := range serverSecrets(t, env) {
		mustHoldNoSecretAsItIs(t, env, name)
	}
}

// A command beside the server reads neither the keys nor the secrets kept
// with them, and makes none of its own.
func TestKeys_CommandsReadNoSecrets(t *testing.T) {
	env := apptest.Start(t)
	cmd, err := app.OpenCommand(context.Background(), env.Server.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Close()
	if _, err := cmd.Service.ServerKey(context.Background(), "webhook-secrets"); err == nil || !strings.Contains(err.Error(), "does not read its secrets") {
		t.Errorf("a command's secret: %v", err)
	}
	mustHoldNoSecretAsItIs(t, env, "webhook-secrets")
}

// `parley keys move --to-database` wraps keys kept as they were, and the
// tokens they sealed go on working.
func TestKeys_MoveWrapsKeysInTheDatabase(t *testing.T) {
	env := apptest.Start(t)
	cfg := env.Server.Config
	env.MustMember(t, "alice")
	tok := env.MustToken(t, env.MustPartner(t, "Tunes"), "alice", []string{"openid", "profile"}, apptest.Answer{})
	secrets := serverSecrets(t, env)
	env.Stop()

	wrap := newWrapKey(t)
	cfg.KeysWrapKey = wrap
	assertRefusedToStart(t, cfg, "parley keys move --to-database")
	if out, err := runEnv(t, cfg, map[string]string{"PARLEY_KEYS_WRAP_KEY": wrap}, "", "keys", "move", "--to-database"); err != nil {
		t.Fatalf("keys move: %v\n%s", err, out)
	}
	mustAudit(t, cfg, "keys.move", "the database, wrapped by PARLEY_KEYS_WRAP_KEY")
	wrapped := apptest.StartInstall(t, cfg)
	mustWork(t, wrapped, tok.AccessToken)
	mustKeepSecrets(t, wrapped, secrets)
	for name := range secrets {
		mustHoldNoSecretAsItIs(t, wrapped, name)
	}
	wrapped.Stop()
	cfg.KeysWrapKey = ""
	assertRefusedToStart(t, cfg, "the keys in the database are wrapped")
}

// mustAudit fails unless `parley audit` lists a decision with action and
// the words want.
func mustAudit(t *testing.T, cfg config.Config, action, want string) {
	t.Helper()
	out, err := run(t, cfg, "", "audit")
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	for line := range strings.Lines(out) {
		if strings.Contains(line, action) && strings.Contains(line, want) {
			return
		}
	}
	t.Fatalf("audit lists no %s of %q:\n%s", action, want, out)
}

// installOpenToOthers returns an install whose data directory and
// database file others could read, as a copy or an older Parley may
// leave them.
func installOpenToOthers(t *testing.T) config.Config {
	t.Helper()
	if apptest.Engine() != "sqlite" {
		t.Skip("the data directory holds the embedded database only")
	}
	cfg := apptest.Install(t)
	os.Chmod(cfg.DataDir, 0o755)
	os.Chmod(cfg.DatabasePath(), 0o644)
	return cfg
}

// mustBePrivate fails t unless the install's data directory and database
// file are its owner's only, and log warned of each as made private,
// according to found.
func mustBePrivate(t *testing.T, cfg config.Config, log string, found func(log, path string) bool) {
	t.Helper()
	for _, path := range []string{cfg.DataDir, cfg.DatabasePath()} {
		if info, err := os.Stat(path); err != nil || info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v (%v)", path, info.Mode(), err)
		}
		if !found(log, path) {
			t.Errorf("no warning of %s in:\n%s", path, log)
		}
	}
}

// A server starts on a data directory and database file others could read
// tightening them, and logs a warning for each.
func TestServe_WarnsOfDataFilesOpenToOthers(t *testing.T) {
	cfg := installOpenToOthers(t)
	env := apptest.StartInstall(t, cfg)
	mustBePrivate(t, cfg, env.Logs.String(), func(log, path string) bool {
		return strings.Contains(log, `"level":"WARN","msg":"a data file was open to other users; made private","path":"`+path+`"`)
	})
}

// An admin command run on a data directory and database file others could
// read tightens them as a server does, and says so on its standard error:
// the server that starts next finds nothing left to warn of.
func TestCLI_WarnsOfDataFilesOpenToOthers(t *testing.T) {
	cfg := installOpenToOthers(t)
	out, err := run(t, cfg, "", "user", "list")
	if err != nil {
		t.Fatal(err)
	}
	mustBePrivate(t, cfg, out, func(log, path string) bool {
		return strings.Contains(log, `level=WARN msg="a data file was open to other users; made private" path=`+path+" ")
	})
}

// newInstall returns the configuration of an install with no database yet.
func newInstall(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	if apptest.Engine() == "postgres" {
		cfg.Database = sqlstoretest.PostgresURL(t)
	}
	return cfg
}

// serverSecrets returns two of the server's secrets by name: the pages'
// CSRF key and the key that seals webhook endpoints' signing secrets.
func serverSecrets(t *testing.T, env *apptest.Env) map[string][]byte {
	t.Helper()
	secrets := map[string][]byte{}
	for _, name := range []string{"web.csrf", "webhook-secrets"} {
		v, err := env.Server.Service.ServerKey(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		secrets[name] = v
	}
	return secrets
}

// mustKeepSecrets fails unless the server's secrets are those given.
func mustKeepSecrets(t *testing.T, env *apptest.Env, want map[string][]byte) {
	t.Helper()
	for name, v := range serverSecrets(t, env) {
		if !slices.Equal(v, want[name]) {
			t.Errorf("the server's secret %s changed", name)
		}
	}
}

// mustHoldNoSecretAsItIs fails unless the server's database holds the
// secret of the given name only with the keys.
func mustHoldNoSecretAsItIs(t *testing.T, env *apptest.Env, name string) {
	t.Helper()
	ctx := context.Background()
	err := env.Server.Store.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindServerKey(ctx, name); return err })
	if parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Errorf("the database holds %s as it is (%v)", name, err)
	}
}

// newWrapKey returns a new wrap key, as PARLEY_KEYS_WRAP_KEY takes it.
func newWrapKey(t *testing.T) string {
	k := make([]byte, 32)
	rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// assertRefusedToStart fails the test unless a server on cfg refuses to
// start, saying want.
func assertRefusedToStart(t *testing.T, cfg config.Config, want string) {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	srv, err := app.OpenServer(context.Background(), cfg, slog.New(slog.DiscardHandler), &apptest.Clock{})
	if err == nil {
		srv.Close()
		t.Fatalf("the server started; want it refused with %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("refused with %q; want %q", err, want)
	}
}

// mustWork fails the test unless the API takes the access token.
func mustWork(t *testing.T, env *apptest.Env, token string) {
	t.Helper()
	if _, err := env.Client.WithToken(token).Me(context.Background()); err != nil {
		t.Errorf("the API refused the token: %v", err)
	}
}

// mustVerifyIDToken verifies the token's ID token as an app does, against
// the server's JWKS, and returns the ID of the key that signed it.
func mustVerifyIDToken(t *testing.T, env *apptest.Env, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("ID token %q: %v", raw, err)
	}
	kid := sig.Signatures[0].Header.KeyID
	keys := jwks(t, env).Key(kid)
	if len(keys) != 1 {
		t.Fatalf("the key %s that signed the ID token is not in the JWKS", kid)
	}
	if _, err := sig.Verify(keys[0].Key); err != nil {
		t.Fatalf("the ID token does not verify with the JWKS's key %s: %v", kid, err)
	}
	return kid
}

// jwksKeyIDs returns the IDs of the keys the JWKS publishes.
func jwksKeyIDs(t *testing.T, env *apptest.Env) []string {
	var ids []string
	for _, k := range jwks(t, env).Keys {
		ids = append(ids, k.KeyID)
	}
	return ids
}

func jwks(t *testing.T, env *apptest.Env) *jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(env.URL + oauth.KeysPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatal(errors.Join(err, fmt.Errorf("JWKS: %s", resp.Status)))
	}
	return &set
}
