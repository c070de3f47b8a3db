package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
)

// A message shows its reactions under it, each emoji once, with how many
// gave it and, for a pointer's hover and screen readers, who; a reaction
// beside it (the smiley) offers the few there are. Each is a button of one
// form that says what pressing it does: give that emoji (emoji), or take
// back the reader's own, that one (take_back), so that the page works
// without script and a press never undoes what another tab did since.

// reactionNames say what each reaction is, for screen readers and the
// picker's tooltips.
var reactionNames = map[string]string{
	"👍": "Thumbs up", "❤️": "Heart", "😂": "Laughing", "😮": "Surprised", "😢": "Sad", "🙏": "Thank you",
}

// reactionChip is one emoji given to a message, as the page shows it
// under the message.
type reactionChip struct {
	Emoji, Name string
	Count       int
	// Who gave it: "Alice, Bob and you".
	Who string
	// Mine: the reader gave it, and pressing it takes theirs back.
	Mine bool
	// Closed: pressing it would give a reaction where none may be given,
	// in a blocked conversation; it shows, but cannot be pressed.
	Closed bool
}

// reactionPick is one emoji of a message's picker.
type reactionPick struct {
	Emoji, Name string
	// Mine: the reader gave it, and pressing it takes theirs back.
	Mine bool
}

// reactionChips returns m's reactions as me sees them, in a thread that
// takes new reactions or, blocked, takes none: there a member may still
// take back their own.
func reactionChips(m *parley.Message, me parley.UserRef, blocked bool) []reactionChip {
	chips := make([]reactionChip, 0, len(m.Reactions))
	for _, r := range m.Reactions {
		c := reactionChip{Emoji: r.Emoji, Name: reactionNames[r.Emoji], Count: r.Count}
		names := make([]string, 0, len(r.Users))
		for _, u := range r.Users {
			if u.ID == me.ID {
				c.Mine = true
				names = append(names, "you")
			} else {
				names = append(names, displayName(u))
			}
		}
		c.Who = andList(names)
		c.Closed = blocked && !c.Mine
		chips = append(chips, c)
	}
	return chips
}

// reactionPicks returns the reactions me may give m, or take back: in a
// blocked conversation, only their own, to take back, if they gave one.
func reactionPicks(m *parley.Message, me parley.UserRef, blocked bool) []reactionPick {
	mine := m.ReactionBy(me.ID)
	picks := make([]reactionPick, 0, len(parley.ReactionEmoji))
	for _, e := range parley.ReactionEmoji {
		if !blocked || e == mine {
			picks = append(picks, reactionPick{Emoji: e, Name: reactionNames[e], Mine: e == mine})
		}
	}
	return picks
}

// andList joins names as a sentence does: "a", "a and b", "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// react gives a message the member's reaction, or takes back theirs, and
// goes back to the message.
func (p *Pages) react(ctx context.Context, r *http.Request) (string, error) {
	var m *parley.Message
	var err error
	if emoji := r.PostFormValue("take_back"); emoji != "" {
		m, err = p.svc.TakeBackReaction(ctx, r.PathValue("mid"), emoji)
	} else {
		m, err = p.svc.React(ctx, r.PathValue("mid"), r.PostFormValue("emoji"))
	}
	if err != nil {
		return "", err
	}
	return threadURL(m.ThreadID) + "#m" + strconv.FormatInt(m.Seq, 10), nil
}
