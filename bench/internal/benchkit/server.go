// Package benchkit holds what Parley's benchmark programs under bench/
// share: building and starting a server on loopback, reading its resource
// use from /proc, progress bars and log lines.
package benchkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parleyhq/parley/internal/freeport"
)

// Server is a Parley server a benchmark built and started itself.
type Server struct {
	Cmd     *exec.Cmd
	URL     string
	tmpDir  string // holds the binary and the server's log
	DataDir string
	logPath string
	// args and env start the binary again (Restart).
	args, env []string
	exited    chan struct{}
	waitErr   error
	stopped   bool
	cleaned   bool
}

// ModuleRoot walks up from the working directory to the directory holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above it: run the benchmark inside the parley module, or give --url")
		}
		dir = parent
	}
}

// Options say how to start a server.
type Options struct {
	// Database is the PostgreSQL URL the server keeps its data in; empty:
	// the embedded database in the data directory.
	Database string
	// DataDir is the data directory to start on, which the server then
	// owns (Cleanup removes it); empty: a fresh temporary one.
	DataDir string
	// Webhooks lets webhook endpoints be on loopback.
	Webhooks bool
}

// Start builds ./cmd/parley into a temporary directory and starts it on
// 127.0.0.1 with a free port and open registration, as o says.
func Start(ctx context.Context, o Options) (*Server, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "parley-w1-bin-")
	if err != nil {
		return nil, err
	}
	s := &Server{tmpDir: tmp, logPath: filepath.Join(tmp, "server.log")}
	fail := func(err error) (*Server, error) {
		s.Cleanup(false)
		return nil, err
	}

	bin := filepath.Join(tmp, "parley")
	Logf("building ./cmd/parley in %s", root)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/parley")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fail(fmt.Errorf("go build ./cmd/parley: %w", err))
	}

	if s.DataDir = o.DataDir; s.DataDir == "" {
		if s.DataDir, err = os.MkdirTemp("", "parley-w1-data-"); err != nil {
			return fail(err)
		}
	}
	port, err := freeport.Get()
	if err != nil {
		return fail(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s.URL = "http://" + addr
	s.args = []string{filepath.Join(tmp, "parley"), "serve", "--addr", addr, "--data", s.DataDir, "--registration", "open"}
	if o.Webhooks {
		s.args = append(s.args, "--webhooks-allow-private") // w1's receiver is on loopback
	}
	s.env = append(os.Environ(), "PARLEY_ADDR="+addr, "PARLEY_DATA="+s.DataDir, "PARLEY_REGISTRATION=open",
		"PARLEY_SIGNUPS_PER_ADDRESS=1000", // W1 makes its 100 members from one address
		// u000 sends thousands of messages a second, far past what a person
		// may: the limit is raised out of reach, not lifted, so that W1
		// still pays for applying it to every request.
		"PARLEY_RATE_LIMIT_MEMBER=1000000", "PARLEY_RATE_LIMIT_MEMBER_BURST=1000000",
		"PARLEY_DATABASE="+o.Database)
	if err := s.launch(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// Restart stops the server and starts it again on the same address and
// data, as a fresh process: what the last one held in memory is gone.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	s.stopped = false
	return s.launch(ctx)
}

// launch starts the built binary and waits until it answers, appending
// its output to the log.
func (s *Server) launch(ctx context.Context) error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child holds its own descriptor

	s.exited = make(chan struct{})
	s.Cmd = exec.Command(s.args[0], s.args[1:]...)
	s.Cmd.Env = s.env
	s.Cmd.Stdout, s.Cmd.Stderr = logFile, logFile
	s.Cmd.SysProcAttr = sysProcAttr()
	if err := s.Cmd.Start(); err != nil {
		return fmt.Errorf("start parley: %w", err)
	}
	go func() {
		s.waitErr = s.Cmd.Wait()
		close(s.exited)
	}()
	Logf("started parley pid %d on %s, data %s", s.Cmd.Process.Pid, s.URL, s.DataDir)
	return s.waitReady(ctx, 15*time.Second)
}

// waitReady polls the public OpenAPI document until the server answers.
func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("parley exited before answering (%v); its log:\n%s", s.waitErr, s.logTail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := hc.Get(s.URL + "/api/v1/openapi.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("parley did not answer on %s within %s; its log:\n%s", s.URL, limit, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits for a graceful shutdown, killing the server
// if it takes more than 20 s.
func (s *Server) Stop() error {
	if s.stopped || s.Cmd == nil || s.Cmd.Process == nil {
		return nil
	}
	s.stopped = true
	start := time.Now()
	if err := s.Cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop parley: %w", err)
	}
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.Cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("parley did not stop within 20 s of SIGTERM and was killed; its log:\n%s", s.logTail())
	}
	Logf("parley stopped in %.2f s", time.Since(start).Seconds())
	if s.waitErr != nil {
		return fmt.Errorf("parley exited with %v after SIGTERM; its log:\n%s", s.waitErr, s.logTail())
	}
	return nil
}

// Cleanup stops the server if it still runs and removes the temporary
// directories, keeping the data directory when keep is set.
func (s *Server) Cleanup(keep bool) error {
	if s.cleaned {
		return nil
	}
	s.cleaned = true
	err := s.Stop()
	if s.DataDir != "" {
		if keep {
			Logf("kept the data directory %s", s.DataDir)
		} else {
			os.RemoveAll(s.DataDir)
		}
	}
	os.RemoveAll(s.tmpDir)
	return err
}

// logTail returns the end of the server's log.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// Logf writes a line to stderr, after the program's name.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, filepath.Base(os.Args[0])+": "+format+"\n", args...)
}
