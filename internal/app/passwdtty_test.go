//go:build linux

package app_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"golang.org/x/sys/unix"
)

// TestCLI_PasswordTypedAtATerminalIsNotShown: `user passwd` run at a
// terminal asks for the password twice and reads it with the terminal's
// echo off, so that it is neither shown as it is typed nor left on the
// screen; the password typed is the member's from then on. Two that differ
// change nothing.
func TestCLI_PasswordTypedAtATerminalIsNotShown(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	const password = "typed where no one sees"
	if out, err := passwdAtATerminal(t, env, password+"\n"+password+"!\n"); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Fatalf("passwd with two passwords that differ: %v\n%s", err, out)
	}
	if _, err := env.Client.SignIn(context.Background(), "alice", apptest.Password("alice")); err != nil {
		t.Fatalf("two passwords that differ changed alice's: %v", err)
	}
	out, err := passwdAtATerminal(t, env, password+"\n"+password+"\n")
	if err != nil {
		t.Fatalf("passwd: %v\n%s", err, out)
	}
	if strings.Contains(out, password) {
		t.Errorf("the terminal showed the password: %q", out)
	}
	if !strings.Contains(out, "New password for alice: ") || !strings.Contains(out, "Again: ") || !strings.Contains(out, "alice has a new password") {
		t.Errorf("passwd at a terminal printed %q", out)
	}
	if _, err := env.Client.SignIn(context.Background(), "alice", password); err != nil {
		t.Errorf("the password typed does not work: %v", err)
	}
}

// passwdAtATerminal runs `user passwd alice` on a pseudo-terminal, types
// typed there once the terminal stopped echoing, as a person types after
// the prompt, and returns what the terminal and the command's output
// showed.
func passwdAtATerminal(t *testing.T, env *apptest.Env, typed string) (string, error) {
	t.Helper()
	screen, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer screen.Close()
	defer tty.Close()
	shown := make(chan string)
	go func() {
		b, _ := io.ReadAll(screen) // ends when the terminal closes
		shown <- string(b)
	}()

	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- app.Main(context.Background(), onInstall(env.Server.Config, "user", "passwd", "alice"), app.IO{
			In: tty, Out: &out, Err: &errOut, Getenv: func(string) string { return "" },
		})
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		termios, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if termios.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal still echoes what is typed; the command printed %q", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := screen.Write([]byte(typed)); err != nil {
		t.Fatal(err)
	}
	err = <-done
	tty.Close()
	return <-shown + errOut.String() + out.String(), err
}
