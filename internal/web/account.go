package web

import (
	"time"

	"github.com/parleyhq/parley"
)

// actionWords says in plain words what each access log action was.
var actionWords = map[string]string{
	string(parley.ScopeProfile):          "Read your username and display name",
	string(parley.ScopeFriendsRead):      "Read your list of friends",
	string(parley.ScopeThreadsRead):      "Read your conversations' titles and activity",
	string(parley.ScopeParticipantsRead): "Read who is in a conversation",
	string(parley.ScopeMessagesRead):     "Read messages in a conversation",
	string(parley.ScopeMessagesWrite):    "Sent a message",
	string(parley.ScopeMessagesDelete):   "Deleted a message",
	string(parley.ScopeSharesWrite):      "Shared a link",
	parley.ActionGrantCreated:            "You connected it",
	parley.ActionGrantWidened:            "You gave it more access",
	parley.ActionGrantExpired:            "Its access expired",
	parley.ActionGrantRevoked:            "You revoked its access",
	parley.ActionGrantNarrowed:           "You narrowed its access",
	parley.ActionThreadClosed:            "Closed a conversation to all apps",
	parley.ActionThreadReopened:          "Reopened a conversation to apps",
}

// describeAction returns an action in plain words, or as it is.
func describeAction(action string) string {
	if words, ok := actionWords[action]; ok {
		return words
	}
	return action
}

// formatDate writes a time for the pages, in UTC.
func formatDate(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }
