package bus_test

import (
	"os"
	"testing"

	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) { os.Exit(sqlstoretest.Main(m)) }
