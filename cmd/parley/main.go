// Command parley runs the Parley server and its admin commands.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/parleyhq/parley/internal/app"
)

func main() {
	ctx, stop := app.StopContext(context.Background())
	defer stop()
	err := app.Main(ctx, os.Args[1:], app.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv})
	if err != nil {
		if !app.Logged(err) {
			fmt.Fprintln(os.Stderr, "parley:", app.ErrorText(err))
		}
		os.Exit(1)
	}
}
