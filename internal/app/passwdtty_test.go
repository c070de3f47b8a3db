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
	if out, _, err := passwdAtATerminal(t, env, password+"\n"+password+"!\n"); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Fatalf("passwd with two passwords that differ: %v\n%s", err, out)
	}
	if _, err := env.Client.SignIn(context.Background(), "alice", apptest.Password("alice")); err != nil {
		t.Fatalf("two passwords that differ changed alice's: %v", err)
	}
	out, _, err := passwdAtATerminal(t, env, password+"\n"+password+"\n")
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

// TestCLI_StoppedAtAPasswordPromptGivesTheTerminalBack: Ctrl-C at `user
// passwd`'s prompt, where the terminal does not echo, ends the command,
// changes nothing and leaves the terminal echoing again; the command took
// the signal from its default, ending the process, so giving up is its own
// to do.
func TestCLI_StoppedAtAPasswordPromptGivesTheTerminalBack(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	out, echoes, err := passwdAtATerminal(t, env, "")
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("passwd stopped at its prompt: %v\n%s", err, out)
	}
	if !echoes {
		t.Error("the terminal was left without echo")
	}
	if _, err := env.Client.SignIn(context.Background(), "alice", apptest.Password("alice")); err != nil {
		t.Errorf("a stopped passwd changed alice's password: %v", err)
	}
}

// TestCLI_StoppedBeforeAPasswordPromptLeavesTheTerminalEchoing: a
// command stopped as it starts, before its prompt, reads nothing and leaves
// the terminal echoing: no read left behind turns the echo off after it
// gave up.
func TestCLI_StoppedBeforeAPasswordPromptLeavesTheTerminalEchoing(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	screen, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer screen.Close()
	defer tty.Close()
	go io.Copy(io.Discard, screen)
	ctx, stop := context.WithCancel(context.Background())
	stop() // the signal came as the command started
	err = app.Main(ctx, onInstall(env.Server.Config, "user", "passwd", "alice"), app.IO{
		In: tty, Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" },
	})
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("passwd stopped before its prompt: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // a read left behind would have turned the echo off by now
	termios, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if termios.Lflag&unix.ECHO == 0 {
		t.Error("the terminal was left without echo after the command gave up")
	}
	screen.Write([]byte("\n")) // ends a read given up on, if any
}

// passwdAtATerminal runs `user passwd alice` on a pseudo-terminal, types
// typed there once the terminal stopped echoing, as a person types after
// the prompt, or, if typed is empty, stops the command there as Ctrl-C
// does; it returns what the terminal and the command's output showed, and
// whether the terminal echoed again when the command ended.
func passwdAtATerminal(t *testing.T, env *apptest.Env, typed string) (string, bool, error) {
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

	echoes := func() bool {
		termios, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return termios.Lflag&unix.ECHO != 0
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- app.Main(ctx, onInstall(env.Server.Config, "user", "passwd", "alice"), app.IO{
			In: tty, Out: &out, Err: &errOut, Getenv: func(string) string { return "" },
		})
	}()
	for deadline := time.Now().Add(10 * time.Second); echoes(); {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal still echoes what is typed; the command printed %q", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if typed == "" {
		stop() // as StopContext does on Ctrl-C
	} else if _, err := screen.Write([]byte(typed)); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("passwd still runs; it printed %q", errOut.String())
	}
	echoed := echoes()
	if typed == "" {
		// The read the command gave up on still holds the terminal, until
		// the process ends; a line ends it here.
		screen.Write([]byte("\n"))
	}
	tty.Close()
	return <-shown + errOut.String() + out.String(), echoed, err
}
