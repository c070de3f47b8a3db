package web_test

import (
	"os"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

func TestMain(m *testing.M) { os.Exit(apptest.Main(m)) }
