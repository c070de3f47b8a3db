package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ShareReport is an app's share report: for each period, what its share
// cards did, with nothing per person. A cell counted from fewer than
// MinPeople people is suppressed.
type ShareReport struct {
	ClientID  string        `json:"client_id"`
	AppName   string        `json:"app_name"`
	Period    string        `json:"period"`
	From      string        `json:"from"`
	To        string        `json:"to"`
	MinPeople int           `json:"min_people"`
	Periods   []SharePeriod `json:"periods"`
}

// SharePeriod is one period of a share report; Start and End are its first
// and last days, YYYY-MM-DD in UTC.
type SharePeriod struct {
	Start            string `json:"start"`
	End              string `json:"end"`
	SharesSent       Cell   `json:"shares_sent"`
	Senders          Cell   `json:"senders"`
	Recipients       Cell   `json:"recipients"`
	Clicked          Cell   `json:"recipients_clicked"`
	ClickThroughRate Cell   `json:"click_through_rate"`
}

// Cell is a number of a report, or a suppressed one: then Suppressed holds
// what the server wrote in its place, such as "<5", and Value is 0.
type Cell struct {
	// Value is the number: a count, or for ClickThroughRate a fraction
	// from 0 to 1.
	Value float64
	// Suppressed is "<k", with k the report's MinPeople, when the number
	// is withheld; empty when it is shown.
	Suppressed string
}

// String returns the number, or the mark of a suppressed cell.
func (c Cell) String() string {
	if c.Suppressed != "" {
		return c.Suppressed
	}
	return strconv.FormatFloat(c.Value, 'f', -1, 64)
}

// MarshalJSON writes the cell as the server does: the number, or the
// string Suppressed ("<5") for a suppressed cell, which UnmarshalJSON reads
// back.
func (c Cell) MarshalJSON() ([]byte, error) {
	if c.Suppressed != "" {
		return json.Marshal(c.Suppressed)
	}
	return json.Marshal(c.Value)
}

// UnmarshalJSON reads a number, or a string "<k" for a suppressed cell.
func (c *Cell) UnmarshalJSON(b []byte) error {
	*c = Cell{}
	if bytes.HasPrefix(b, []byte(`"`)) {
		if err := json.Unmarshal(b, &c.Suppressed); err != nil || !strings.HasPrefix(c.Suppressed, "<") {
			return fmt.Errorf("parley: a report cell %s is neither a number nor <k", b)
		}
		return nil
	}
	return json.Unmarshal(b, &c.Value)
}

// ReportQuery selects a report's range and periods; zero values take the
// server's defaults: the last 14 days that have ended, by day.
type ReportQuery struct {
	// From and To are the first and last days, YYYY-MM-DD in UTC.
	From, To string
	// Period is day, week or fortnight.
	Period string
}

func (q ReportQuery) values() url.Values {
	v := url.Values{}
	for name, value := range map[string]string{"from": q.From, "to": q.To, "period": q.Period} {
		if value != "" {
			v.Set(name, value)
		}
	}
	return v
}

func reportPath(clientID string) string {
	return "/api/v1/apps/" + url.PathEscape(clientID) + "/reports/shares"
}

// ShareReport returns an app's share report. Its owner reads it with their
// session; the app itself with its own token from the client-credentials
// grant, holding reports.read: give WithTokenSource the TokenSource of a
// golang.org/x/oauth2/clientcredentials Config with ScopeReportsRead.
func (c *Client) ShareReport(ctx context.Context, clientID string, q ReportQuery) (*ShareReport, error) {
	var r ShareReport
	_, err := c.Do(ctx, "GET", reportPath(clientID)+"?"+q.values().Encode(), nil, &r)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// ShareReportAs returns an app's share report in another format, "csv" or
// "svg", with its content type.
func (c *Client) ShareReportAs(ctx context.Context, clientID string, q ReportQuery, format string) ([]byte, string, error) {
	v := q.values()
	v.Set("format", format)
	req, err := http.NewRequestWithContext(ctx, "GET", c.baseURL+reportPath(clientID)+"?"+v.Encode(), nil)
	if err != nil {
		return nil, "", err
	}
	auth, err := c.authorization(ctx)
	if err != nil {
		return nil, "", err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, "", problem(resp)
	}
	var body bytes.Buffer
	if err := readAtMost(&body, resp.Body, maxAnswer); err != nil {
		return nil, "", fmt.Errorf("parley: read the share report: %w", err)
	}
	return body.Bytes(), resp.Header.Get("Content-Type"), nil
}
