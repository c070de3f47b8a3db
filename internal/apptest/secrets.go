package apptest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// A full test run can prove that no server logged a secret a test used.
// With PARLEY_TEST_LOGS naming a directory, every test server of the run
// appends its log lines there (log-PID.jsonl, one file per test process),
// and the tests append each secret they use, one JSON string a line
// (secrets-PID.jsonl): passwords, session tokens, event tickets, client
// secrets, webhook secrets, authorization codes and PKCE verifiers,
// access, refresh and ID tokens. FindLeaks then reads the directory.
//
// The secrets are recorded where the tests meet them: Password, MustMember,
// the OAuth helpers, and every JSON body ConformingTransport carries to or
// from /api/v1 (the values of secretKey's fields).

// TestLogsEnv names the environment variable that turns the record on.
const TestLogsEnv = "PARLEY_TEST_LOGS"

// record is the process's pair of files under PARLEY_TEST_LOGS, nil when
// the variable is unset.
var record = sync.OnceValue(func() *testRecord {
	dir := os.Getenv(TestLogsEnv)
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		panic(fmt.Sprintf("apptest: %s: %v", TestLogsEnv, err))
	}
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%s-%d.jsonl", name, os.Getpid())), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			panic(fmt.Sprintf("apptest: %s: %v", TestLogsEnv, err))
		}
		return f
	}
	return &testRecord{logs: open("log"), secrets: open("secrets"), seen: map[string]bool{}}
})

// testRecord appends to the files of a test process.
type testRecord struct {
	logMu sync.Mutex
	logs  *os.File

	mu      sync.Mutex
	secrets *os.File
	seen    map[string]bool
}

// Write appends log lines, one whole write at a time.
func (r *testRecord) Write(p []byte) (int, error) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return r.logs.Write(p)
}

// RecordLogs returns a writer of a test server's log lines to own and,
// when PARLEY_TEST_LOGS is set, to the run's log file too.
func RecordLogs(own io.Writer) io.Writer {
	if r := record(); r != nil {
		return io.MultiWriter(own, r)
	}
	return own
}

// Secret records values as secrets a test used, which no log line of the
// run may hold; empty values are skipped.
func Secret(values ...string) {
	r := record()
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if v == "" || r.seen[v] {
			continue
		}
		r.seen[v] = true
		line, _ := json.Marshal(v)
		r.secrets.Write(append(line, '\n'))
	}
}

// secretKey reports whether a JSON field of that name holds a secret.
func secretKey(name string) bool {
	return name == "token" || name == "ticket" || strings.HasSuffix(name, "_token") ||
		strings.Contains(name, "secret") || strings.Contains(name, "password")
}

// secretsIn records the string values of body's secret fields, at any
// depth, when body is JSON.
func secretsIn(body []byte) {
	if record() == nil || len(body) == 0 {
		return
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && secretKey(k) {
					Secret(s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
}

// MinSecretLen is the length below which a recorded value is not looked
// for in the logs: shorter ones ("wrong") are not secrets anyone would
// recognise, and would match by chance.
const MinSecretLen = 8

// Leak is a log line that holds a secret.
type Leak struct {
	File   string
	Line   int
	Secret string
}

func (l Leak) String() string {
	return fmt.Sprintf("%s:%d holds the secret %q", l.File, l.Line, l.Secret)
}

// FindLeaks reads the secrets and log lines a run recorded in dir and
// returns every log line holding a secret, as written or as JSON escapes
// it. Secrets are found by their first MinSecretLen bytes, one map lookup
// a byte of the logs, so a whole run's logs are read in seconds.
func FindLeaks(dir string) ([]Leak, error) {
	byPrefix := map[string][]string{}
	secretFiles, _ := filepath.Glob(filepath.Join(dir, "secrets-*.jsonl"))
	for _, name := range secretFiles {
		if err := eachLine(name, func(_ int, line string) error {
			var s string
			if err := json.Unmarshal([]byte(line), &s); err != nil {
				return err
			}
			escaped, _ := json.Marshal(s)
			forms := []string{s}
			if e := string(escaped[1 : len(escaped)-1]); e != s {
				forms = append(forms, e)
			}
			for _, form := range forms {
				if len(form) >= MinSecretLen {
					byPrefix[form[:MinSecretLen]] = append(byPrefix[form[:MinSecretLen]], form)
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	var leaks []Leak
	logFiles, _ := filepath.Glob(filepath.Join(dir, "log-*.jsonl"))
	for _, name := range logFiles {
		if err := eachLine(name, func(n int, line string) error {
			for i := 0; i+MinSecretLen <= len(line); i++ {
				for _, s := range byPrefix[line[i:i+MinSecretLen]] {
					if strings.HasPrefix(line[i:], s) {
						leaks = append(leaks, Leak{File: name, Line: n, Secret: s})
					}
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return leaks, nil
}

// eachLine calls fn with each line of the file and its number.
func eachLine(name string, fn func(int, string) error) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		if err := fn(n, sc.Text()); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	return sc.Err()
}
