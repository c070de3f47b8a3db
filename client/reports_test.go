package client_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
)

// A report the client read is written back as the server wrote it, a
// number or a "<k" string for each cell, and reads again as it was.
func TestCell_RoundTrip(t *testing.T) {
	const served = `{"client_id":"c1","app_name":"Films","period":"day","from":"2026-11-01","to":"2026-11-01","min_people":5,` +
		`"periods":[{"start":"2026-11-01","end":"2026-11-01","shares_sent":12,"senders":"<5","recipients":7,"recipients_clicked":"<5","click_through_rate":0.25}]}`
	var r client.ShareReport
	if err := json.Unmarshal([]byte(served), &r); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// encoding/json escapes < as \u003c, the same string.
	if got := strings.ReplaceAll(string(b), `\u003c`, "<"); got != served {
		t.Errorf("written as\n%s\nserved as\n%s", got, served)
	}
	var again client.ShareReport
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, r) {
		t.Errorf("read back as %+v, want %+v", again, r)
	}
	for _, c := range []client.Cell{{Value: 0}, {Value: 3}, {Value: 0.125}, {Suppressed: "<10"}} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var got client.Cell
		if err := json.Unmarshal(b, &got); err != nil || got != c {
			t.Errorf("%+v written as %s read back as %+v, %v", c, b, got, err)
		}
		if strings.Contains(string(b), "Value") {
			t.Errorf("%+v written as %s", c, b)
		}
	}
}
