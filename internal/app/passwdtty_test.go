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
// terminal asks for the password and reads it with the terminal's echo
// off, so that it is neither shown as it is typed nor left on the screen;
// the password typed is the member's from then on.
func TestCLI_PasswordTypedAtATerminalIsNotShown(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
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
	// Type only once the terminal stopped echoing, as a person types after
	// the prompt.
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
	const password = "typed where no one sees"
	if _, err := screen.Write([]byte(password + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("passwd: %v\n%s", err, errOut.String())
	}
	tty.Close()
	if s := <-shown; strings.Contains(s, password) {
		t.Errorf("the terminal showed the password: %q", s)
	}
	if !strings.Contains(errOut.String(), "New password for alice: ") || !strings.Contains(out.String(), "alice has a new password") {
		t.Errorf("passwd at a terminal printed %q and %q", errOut.String(), out.String())
	}
	if _, err := env.Client.SignIn(context.Background(), "alice", password); err != nil {
		t.Errorf("the password typed does not work: %v", err)
	}
}
