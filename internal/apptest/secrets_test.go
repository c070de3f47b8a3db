package apptest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FindLeaks names every log line that holds a recorded secret, whether
// written as it is or with JSON's escapes; secrets too short to tell from
// chance, and lines without a secret, pass.
func TestFindLeaks_CatchesAPlantedSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("secrets-1.jsonl", `"pss_plantedSessionToken42"`+"\n"+`"wrong"`+"\n")
	write("secrets-2.jsonl", `"pass<word>&more"`+"\n")
	log := filepath.Join(dir, "log-1.jsonl")
	write("log-1.jsonl", strings.Join([]string{
		`{"msg":"request","path":"/api/v1/me","status":200}`,
		`{"msg":"sign-in failed","reason":"wrong username or password"}`,
		`{"msg":"oops","header":"Bearer pss_plantedSessionToken42"}`,
		`{"msg":"oops","form":"password=pass\u003cword\u003e\u0026more"}`,
		`{"msg":"request","path":"/api/v1/threads","status":201}`,
	}, "\n")+"\n")

	leaks, err := FindLeaks(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range leaks {
		got = append(got, l.String())
	}
	want := []string{
		log + `:3 holds the secret "pss_plantedSessionToken42"`,
		log + `:4 holds the secret "pass\\u003cword\\u003e\\u0026more"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("leaks found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLogs_HoldNoSecret checks the record of a whole test run (see
// TestLogsEnv): no log line any test server wrote holds a secret any test
// used. It runs when PARLEY_CHECK_LOGS names the directory that run's
// PARLEY_TEST_LOGS named, after the run (.ci/run does so).
func TestLogs_HoldNoSecret(t *testing.T) {
	dir := os.Getenv("PARLEY_CHECK_LOGS")
	if dir == "" {
		t.Skip("PARLEY_CHECK_LOGS is unset: no recorded run to check")
	}
	for _, pattern := range []string{"log-*.jsonl", "secrets-*.jsonl"} {
		if found, _ := filepath.Glob(filepath.Join(dir, pattern)); len(found) == 0 {
			t.Fatalf("%s holds no %s: the run recorded nothing to check", dir, pattern)
		}
	}
	leaks, err := FindLeaks(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leaks {
		t.Error(l)
	}
}
