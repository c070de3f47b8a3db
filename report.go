package parley

import (
	"encoding/json"
	"strconv"
	"time"
)

// ScopeReportsRead lets an app read its own share reports. Only an app's
// own token, from the OAuth 2.0 client-credentials grant, holds it: it is
// no member's to grant, and it reaches nothing else.
const ScopeReportsRead Scope = "reports.read"

// ShareLink is the tracked link of one member to one share card: /s/{token}
// on the server's public URL, which leads to the card's URL and counts the
// member's first click. Every member of the thread the card went into has
// one, the sender too. The token is kept only as its SHA-256.
type ShareLink struct {
	TokenHash []byte
	MessageID string
	// ClientID is the app the card was shared through.
	ClientID string
	SenderID string
	// UserID is the member the link is for.
	UserID string
	SentAt time.Time
	// ClickedAt is when the member first followed the link, as counted.
	ClickedAt *time.Time
}

// ShareTarget is a share link with where it leads.
type ShareTarget struct {
	Link     ShareLink
	ThreadID string
	// URL is the card's URL; empty once the card was deleted.
	URL string
}

// ClientToken is an access token an app holds for itself, from the OAuth
// 2.0 client-credentials grant (RFC 6749 section 4.4): it acts for no
// member. It is stored by the SHA-256 of its ID.
type ClientToken struct {
	Hash     []byte
	ClientID string
	Scopes   Scopes
	// SecretHash is the hash of the client secret the app got the token
	// with: the token ends when that secret does, by a rotation or by its
	// owner stopping it.
	SecretHash []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Share report periods. Periods are fixed in UTC, whoever asks and for
// whichever range: a day; an ISO week, from Monday; a fortnight, two ISO
// weeks counted from Monday 1970-01-05.
const (
	PeriodDay       = "day"
	PeriodWeek      = "week"
	PeriodFortnight = "fortnight"
)

// Limits of share reports.
const (
	// DefaultReportMinPeople is the k of k-anonymity: no cell of a report
	// is counted from fewer people.
	DefaultReportMinPeople = 5
	// MinReportMinPeople is the least k an operator may set.
	MinReportMinPeople = 3
	// MaxReportDays bounds the range of one report.
	MaxReportDays = 371
	// DefaultReportDays is the range of a report asked for without one,
	// the days before today.
	DefaultReportDays = 14
)

// ShareReport is an app's share report: for each period, how many shares
// it sent and how they were followed, with nothing per person. Every cell
// is counted from at least MinPeople people or suppressed.
type ShareReport struct {
	ClientID string `json:"client_id"`
	// AppName is the app's name as its owner last set it.
	AppName string `json:"app_name"`
	Period  string `json:"period"`
	// From and To are the first and last days (YYYY-MM-DD, UTC) of the
	// periods reported: the range asked for, widened to whole periods, and
	// ending with the last period that has ended. When no period of the
	// range has ended, none is reported, and To, the last day of the last
	// period that has, is before From.
	From      string `json:"from"`
	To        string `json:"to"`
	MinPeople int    `json:"min_people"`
	// Periods are in time order; a period with no share is there too.
	Periods []SharePeriod `json:"periods"`
}

// SharePeriod is one row of a share report.
type SharePeriod struct {
	// Start and End are the period's first and last days (YYYY-MM-DD).
	Start string `json:"start"`
	End   string `json:"end"`
	// SharesSent counts share cards sent through the app in the period.
	SharesSent Cell `json:"shares_sent"`
	// Senders counts the members who sent them.
	Senders Cell `json:"senders"`
	// Recipients counts the members they went to.
	Recipients Cell `json:"recipients"`
	// Clicked counts the recipients who followed a link of the period's
	// cards before the period ended.
	Clicked Cell `json:"recipients_clicked"`
	// ClickThroughRate is Clicked over Recipients.
	ClickThroughRate Cell `json:"click_through_rate"`
}

// Cell is one number of a report, or the mark of a suppressed one, "<k",
// which stands for any number, zero too, counted from fewer than k people.
type Cell struct {
	Value float64
	// Below is k when the cell is suppressed, 0 when it is shown.
	Below int
}

// Suppressed reports whether the cell hides its number.
func (c Cell) Suppressed() bool { return c.Below > 0 }

// String returns the number, or "<k" for a suppressed cell.
func (c Cell) String() string {
	if c.Suppressed() {
		return "<" + strconv.Itoa(c.Below)
	}
	return strconv.FormatFloat(c.Value, 'f', -1, 64)
}

// MarshalJSON encodes the number, or the string "<k" for a suppressed cell.
func (c Cell) MarshalJSON() ([]byte, error) {
	if c.Suppressed() {
		return json.Marshal(c.String())
	}
	return []byte(c.String()), nil
}
