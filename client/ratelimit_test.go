package client

import (
	"maps"
	"testing"
)

// A RateLimit or RateLimit-Policy field is a quoted name and integer
// parameters; anything else tells no limit.
func TestLimitField(t *testing.T) {
	for _, c := range []struct {
		field  string
		name   string
		params map[string]int
	}{
		{`"member";r=5;t=2`, "member", map[string]int{"r": 5, "t": 2}},
		{` "app";q=50;w=1`, "app", map[string]int{"q": 50, "w": 1}},
		{`"app";q=x;w=1`, "app", map[string]int{"w": 1}},
		{`member";r=5`, "", nil},
		{`"member;r=5`, "", nil},
		{`"";r=5`, "", nil},
		{``, "", nil},
	} {
		name, params := limitField(c.field)
		if name != c.name || !maps.Equal(params, c.params) {
			t.Errorf("limitField(%q) = %q, %v; want %q, %v", c.field, name, params, c.name, c.params)
		}
	}
}
