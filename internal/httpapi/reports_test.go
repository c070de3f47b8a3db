package httpapi_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const day = 24 * time.Hour

// reportWorld is a server with k = 3, an app owned by owner, and shares
// made through it on two days of one ISO week:
//
//	Monday (d1): snd1, snd2 and snd3 each share with two friends, rcp1 to
//	rcp6; rcp1, rcp2 and rcp3 click that day, rcp4 the day after.
//	Tuesday (d2): snd1 shares with rcp1 and rcp2 again; rcp1 clicks.
//
// Then the clock moves on four weeks, so that every period has ended.
type reportWorld struct {
	env     *apptest.Env
	owner   *client.Client
	partner *apptest.Partner
	d1      time.Time
}

func newReportWorld(t *testing.T) *reportWorld {
	env := apptest.Start(t, func(c *config.Config) {
		c.SessionTTL = 365 * 24 * time.Hour
		c.ReportMinPeople = 3
	})
	ctx := context.Background()
	owner := env.MustMember(t, "owner")
	members := map[string]*client.Client{}
	for _, name := range []string{"snd1", "snd2", "snd3", "rcp1", "rcp2", "rcp3", "rcp4", "rcp5", "rcp6"} {
		members[name] = env.MustMember(t, name)
	}
	pairs := map[string][]string{"snd1": {"rcp1", "rcp2"}, "snd2": {"rcp3", "rcp4"}, "snd3": {"rcp5", "rcp6"}}
	for s, rs := range pairs {
		for _, r := range rs {
			apptest.MustFriends(t, members[s], members[r])
		}
	}
	partner := mustOwnedPartner(t, env, "Films", "owner")

	now := env.Server.Service.Now()
	untilMonday := (8 - int(now.Weekday())) % 7
	if untilMonday == 0 {
		untilMonday = 7
	}
	d1 := now.Truncate(day).Add(time.Duration(untilMonday) * day)
	env.Clock.Advance(d1.Add(10 * time.Hour).Sub(now))

	share := func(s, r string) string {
		tok := env.MustToken(t, partner, s, []string{"shares.write"}, apptest.Answer{})
		card, err := env.Client.WithToken(tok.AccessToken).Share(ctx, client.NewShare{To: r, URL: "https://films.example/" + s + r, Title: "A film"})
		if err != nil {
			t.Fatal(err)
		}
		return cardOf(t, members[r], card.ThreadID).Share.Link
	}
	click := func(link string) {
		if resp := follow(t, "GET", link, firefox); resp.StatusCode != http.StatusOK {
			t.Fatalf("click: %d", resp.StatusCode)
		}
	}
	links := map[string]string{}
	for _, s := range []string{"snd1", "snd2", "snd3"} {
		for _, r := range pairs[s] {
			links[r] = share(s, r)
		}
	}
	for _, r := range []string{"rcp1", "rcp2", "rcp3"} {
		click(links[r])
	}
	env.Clock.Advance(day)
	click(links["rcp4"])
	share("snd1", "rcp2")
	click(share("snd1", "rcp1"))
	env.Clock.Advance(28 * day)
	return &reportWorld{env: env, owner: owner, partner: partner, d1: d1}
}

// mustOwnedPartner registers a confidential app owned by a member.
func mustOwnedPartner(t testing.TB, env *apptest.Env, name, owner string) *apptest.Partner {
	t.Helper()
	app, err := env.Server.Service.RegisterAppFor(service.ConsoleContext(context.Background()),
		service.NewApp{Name: name, RedirectURIs: []string{apptest.RedirectURI}, Purpose: "Recommend films"}, owner)
	if err != nil {
		t.Fatal(err)
	}
	return &apptest.Partner{App: app, Config: &oauth2.Config{
		ClientID: app.ClientID, ClientSecret: app.ClientSecret, RedirectURL: apptest.RedirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: env.URL + "/oauth2/authorize", TokenURL: env.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader},
	}}
}

// date formats a day as the report's dates are.
func date(t time.Time) string { return t.Format(time.DateOnly) }

func (w *reportWorld) report(t *testing.T, from, to time.Time, period string) *client.ShareReport {
	t.Helper()
	r, err := w.owner.ShareReport(context.Background(), w.partner.App.ClientID, client.ReportQuery{From: date(from), To: date(to), Period: period})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// row returns a report's period starting on start.
func row(t *testing.T, r *client.ShareReport, start time.Time) client.SharePeriod {
	t.Helper()
	for _, p := range r.Periods {
		if p.Start == date(start) {
			return p
		}
	}
	t.Fatalf("no period starts on %s in %+v", date(start), r.Periods)
	return client.SharePeriod{}
}

// cells returns a period's cells by name, as strings.
func cells(p client.SharePeriod) map[string]string {
	return map[string]string{"shares_sent": p.SharesSent.String(), "senders": p.Senders.String(), "recipients": p.Recipients.String(),
		"recipients_clicked": p.Clicked.String(), "click_through_rate": p.ClickThroughRate.String()}
}

func wantCells(t *testing.T, what string, p client.SharePeriod, want map[string]string) {
	t.Helper()
	got := cells(p)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %s, want %s (all: %v)", what, k, got[k], v, got)
		}
	}
}

// Cells counted from at least k people show; the others read "<k", and
// no count shown is under k. A week is suppressed when its shown days
// would give away a suppressed one by subtraction, and a fortnight when
// its weeks would: no total recovers a small cell.
func TestReports_KAnonymity(t *testing.T) {
	t.Parallel()
	w := newReportWorld(t)
	d1, d2 := w.d1, w.d1.Add(day)
	days := w.report(t, d1, d2, parley.PeriodDay)
	if days.MinPeople != 3 || days.Period != "day" || len(days.Periods) != 2 {
		t.Fatalf("report %+v", days)
	}
	// Clicks show by the fortnight only: Monday's 3 of 6 do not.
	wantCells(t, "Monday", row(t, days, d1), map[string]string{
		"shares_sent": "6", "senders": "3", "recipients": "6", "recipients_clicked": "<3", "click_through_rate": "<3"})
	// One sender, two recipients, one click: nothing shows.
	wantCells(t, "Tuesday", row(t, days, d2), map[string]string{
		"shares_sent": "<3", "senders": "<3", "recipients": "<3", "recipients_clicked": "<3", "click_through_rate": "<3"})

	// The week would show 8 shares and 3 senders, and 8 - 6 is Tuesday's
	// 2; by its end 4 of its 6 recipients clicked, leaving 2 who did not.
	week := w.report(t, d1, d1, parley.PeriodWeek)
	if len(week.Periods) != 1 || week.Periods[0].Start != date(d1) || week.Periods[0].End != date(d1.Add(6*day)) {
		t.Fatalf("week report %+v, want the ISO week from %s", week.Periods, date(d1))
	}
	wantCells(t, "the week", week.Periods[0], map[string]string{
		"shares_sent": "<3", "senders": "<3", "recipients": "<3", "recipients_clicked": "<3", "click_through_rate": "<3"})
	fortnight := w.report(t, d1, d1, parley.PeriodFortnight)
	if len(fortnight.Periods) != 1 {
		t.Fatalf("fortnight report %+v", fortnight.Periods)
	}
	wantCells(t, "the fortnight", fortnight.Periods[0], map[string]string{
		"shares_sent": "<3", "senders": "<3", "recipients": "<3", "recipients_clicked": "<3"})

	for _, r := range []*client.ShareReport{days, week, fortnight, w.report(t, d1.Add(-20*day), d1.Add(20*day), parley.PeriodDay)} {
		for _, p := range r.Periods {
			for name, c := range map[string]client.Cell{"shares_sent": p.SharesSent, "senders": p.Senders,
				"recipients": p.Recipients, "recipients_clicked": p.Clicked} {
				if c.Suppressed == "" && c.Value < 3 {
					t.Errorf("%s %s: %s = %v, a count under k shown", r.Period, p.Start, name, c.Value)
				}
				if c.Suppressed != "" && c.Suppressed != "<3" {
					t.Errorf("%s %s: %s = %q, want <3", r.Period, p.Start, name, c.Suppressed)
				}
			}
		}
	}
}

// Periods are fixed in UTC whatever range is asked: two requests that
// overlap give the same cells for the periods they share, a range is
// widened to whole periods, and only periods that have ended are reported.
func TestReports_FixedPeriods(t *testing.T) {
	t.Parallel()
	w := newReportWorld(t)
	d1 := w.d1
	a := w.report(t, d1.Add(-3*day), d1.Add(day), parley.PeriodDay)
	b := w.report(t, d1, d1.Add(5*day), parley.PeriodDay)
	for _, start := range []time.Time{d1, d1.Add(day)} {
		if ra, rb := row(t, a, start), row(t, b, start); !slices.Equal(sortedCells(ra), sortedCells(rb)) {
			t.Errorf("%s: %v in one request, %v in another", date(start), cells(ra), cells(rb))
		}
	}
	// Asked from a Wednesday to a Thursday, a week report gives the whole
	// ISO weeks they fall in.
	weeks := w.report(t, d1.Add(2*day), d1.Add(10*day), parley.PeriodWeek)
	if weeks.From != date(d1) || weeks.To != date(d1.Add(13*day)) || len(weeks.Periods) != 2 {
		t.Fatalf("weeks from %s to %s: %+v", weeks.From, weeks.To, weeks.Periods)
	}
	// Today has not ended: a report up to a day after it stops at yesterday.
	today := w.env.Server.Service.Now().Truncate(day)
	upToNow := w.report(t, today.Add(-2*day), today.Add(day), parley.PeriodDay)
	if upToNow.To != date(today.Add(-day)) || len(upToNow.Periods) != 2 {
		t.Fatalf("a report to tomorrow: to %s, %d periods; want to yesterday, 2", upToNow.To, len(upToNow.Periods))
	}
	// Without a query: the last 14 days that have ended, by day.
	def, err := w.owner.ShareReport(context.Background(), w.partner.App.ClientID, client.ReportQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if def.Period != "day" || len(def.Periods) != 14 || def.To != date(today.Add(-day)) || def.From != date(today.Add(-14*day)) {
		t.Fatalf("the default report: %s from %s to %s, %d periods", def.Period, def.From, def.To, len(def.Periods))
	}
	// A report names its app, by client ID and name, even when no period
	// of it has ended.
	for _, r := range []*client.ShareReport{def, w.report(t, today, today, parley.PeriodDay)} {
		if r.ClientID != w.partner.App.ClientID || r.AppName != w.partner.App.Name {
			t.Errorf("a report of %s (%s) names %s (%s)", w.partner.App.Name, w.partner.App.ClientID, r.AppName, r.ClientID)
		}
	}
}

// A period is reported only some minutes after it ended (not at its last
// instant), so that a share or a click stamped just before its end, whose
// write commits just after, or on a node whose clock runs a little behind,
// is in it before anyone is shown it: a cell never changes once shown.
func TestReports_APeriodIsReportedOnceSettled(t *testing.T) {
	t.Parallel()
	w := newReportWorld(t)
	now := w.env.Server.Service.Now()
	midnight := now.Truncate(day).Add(day)
	yesterday, dayBefore := midnight.Add(-day), midnight.Add(-2*day)
	w.env.Clock.Advance(midnight.Add(time.Minute).Sub(now))
	if r := w.report(t, dayBefore, midnight, parley.PeriodDay); r.To != date(dayBefore) || len(r.Periods) != 1 {
		t.Fatalf("a minute after midnight: to %s, %d periods; want the day before yesterday alone, %s", r.To, len(r.Periods), date(dayBefore))
	}
	w.env.Clock.Advance(5 * time.Minute)
	if r := w.report(t, dayBefore, midnight, parley.PeriodDay); r.To != date(yesterday) || len(r.Periods) != 2 {
		t.Fatalf("six minutes after midnight: to %s, %d periods; want yesterday's too", r.To, len(r.Periods))
	}
}

func sortedCells(p client.SharePeriod) []string {
	var out []string
	for k, v := range cells(p) {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// The report comes as CSV and as an SVG chart a person can read, with
// suppressed cells marked.
func TestReports_CSVAndSVG(t *testing.T) {
	t.Parallel()
	w := newReportWorld(t)
	ctx := context.Background()
	q := client.ReportQuery{From: date(w.d1), To: date(w.d1.Add(day))}
	body, ctype, err := w.owner.ShareReportAs(ctx, w.partner.App.ClientID, q, "csv")
	if err != nil {
		t.Fatal(err)
	}
	want := "period_start,period_end,shares_sent,senders,recipients,recipients_clicked,click_through_rate\r\n" +
		date(w.d1) + "," + date(w.d1) + ",6,3,6,<3,<3\r\n" +
		date(w.d1.Add(day)) + "," + date(w.d1.Add(day)) + ",<3,<3,<3,<3,<3\r\n"
	if !strings.HasPrefix(ctype, "text/csv") || string(body) != want {
		t.Fatalf("CSV (%s):\n%s\nwant:\n%s", ctype, body, want)
	}

	svg, ctype, err := w.owner.ShareReportAs(ctx, w.partner.App.ClientID, q, "svg")
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "image/svg+xml" {
		t.Fatalf("content type %q", ctype)
	}
	var texts []string
	dec := xml.NewDecoder(strings.NewReader(string(svg)))
	var inText bool
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text" || tok.Name.Local == "title"
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		}
	}
	all := strings.Join(texts, "|")
	for _, s := range []string{"Shares of " + w.partner.App.Name, "Count", "Period starting (UTC)", "Shares sent",
		"Recipients who clicked", "<3", date(w.d1), "Shares sent, " + date(w.d1) + ": 6", "Shares sent, " + date(w.d1.Add(day)) + ": <3"} {
		if !strings.Contains(all, s) {
			t.Errorf("the chart does not say %q; it says %s", s, all)
		}
	}
	if !strings.Contains(string(svg), `fill="url(#hidden)"`) {
		t.Error("suppressed cells are not drawn apart")
	}
}

// Bad input is a 400 problem; so is a day before 0001-01-01.
func TestReports_BadInput(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	owner := env.MustMember(t, "owner")
	partner := mustOwnedPartner(t, env, "Films", "owner")
	for _, q := range []string{"from=2026-13-01", "to=yesterday", "from=2026-01-02&to=2026-01-01", "from=2024-01-01&to=2026-01-01",
		"period=hour", "period=", "format=pdf", "format=", "from=2026-01-01&from=2026-01-02", "from=1600-01-01&to=2026-01-01",
		// Year 0, whose weeks and fortnights would start in year -1, which
		// no YYYY-MM-DD can write.
		"from=0000-01-01&to=0000-01-10&period=week", "to=0000-12-31",
		// 0001-01-01, Go's zero time, is a day given, not the default.
		"from=0001-01-01&to=9999-12-31", "to=0001-01-01"} {
		_, err := owner.Do(context.Background(), "GET", "/api/v1/apps/"+partner.App.ClientID+"/reports/shares?"+q, nil, nil)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Type != "urn:parley:problem:invalid" {
			t.Errorf("?%s: %v, want a 400 problem", q, err)
		}
	}
}

// A report covers at most 371 days, both ends counted: to may be 370 days
// after from, not 371.
func TestReports_AtMost371Days(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	owner := env.MustMember(t, "owner")
	partner := mustOwnedPartner(t, env, "Films", "owner")
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := owner.ShareReport(context.Background(), partner.App.ClientID, client.ReportQuery{
		From: date(from), To: date(from.Add(370 * day))}); err != nil {
		t.Errorf("371 days: %v", err)
	}
	_, err := owner.ShareReport(context.Background(), partner.App.ClientID, client.ReportQuery{
		From: date(from), To: date(from.Add(371 * day))})
	wantProblem(t, err, http.StatusBadRequest, "invalid")
	wantDetail(t, err, "at most 371 days")
}

// A report is for the days asked for, however far they are from 1970 or
// from now: days of 1600 are reported as days of 1600, in whole periods
// from a Monday, and days to come have no period yet.
func TestReports_DatesFarFromNow(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	owner := env.MustMember(t, "owner")
	partner := mustOwnedPartner(t, env, "Films", "owner")
	report := func(q client.ReportQuery) *client.ShareReport {
		t.Helper()
		r, err := owner.ShareReport(context.Background(), partner.App.ClientID, q)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := report(client.ReportQuery{From: "1600-01-01", To: "1600-01-10"})
	if r.From != "1600-01-01" || r.To != "1600-01-10" || len(r.Periods) != 10 ||
		r.Periods[0].Start != "1600-01-01" || r.Periods[9].End != "1600-01-10" {
		t.Errorf("by day, 1600-01-01..1600-01-10: %s..%s, %d periods %+v", r.From, r.To, len(r.Periods), r.Periods)
	}
	// 1600-01-01 is a Saturday, 1600-01-10 a Monday: three ISO weeks.
	r = report(client.ReportQuery{From: "1600-01-01", To: "1600-01-10", Period: "week"})
	if r.From != "1599-12-27" || r.To != "1600-01-16" || len(r.Periods) != 3 {
		t.Errorf("by week, 1600-01-01..1600-01-10: %s..%s in %d periods, want 1599-12-27..1600-01-16 in 3", r.From, r.To, len(r.Periods))
	}
	for _, p := range r.Periods {
		if start, err := time.Parse(time.DateOnly, p.Start); err != nil || start.Weekday() != time.Monday {
			t.Errorf("by week: period %s..%s does not start on a Monday", p.Start, p.End)
		}
	}
	if r = report(client.ReportQuery{From: "0001-01-01", To: "0001-01-10"}); r.From != "0001-01-01" || r.To != "0001-01-10" || len(r.Periods) != 10 {
		t.Errorf("0001-01-01..0001-01-10: %s..%s, %d periods; want the range asked for, by day", r.From, r.To, len(r.Periods))
	}
	if r = report(client.ReportQuery{From: "9999-12-01", To: "9999-12-31"}); r.From != "9999-12-01" || r.To >= r.From || len(r.Periods) != 0 {
		t.Errorf("9999-12-01..9999-12-31: %s..%s, %d periods; want from as asked, no period yet, and to before it (TestReports_NoPeriodEndedYet)", r.From, r.To, len(r.Periods))
	}
}

// A range no period of which has ended has no period to report. Its from
// is the range asked for widened to whole periods, as ever, and its to the
// last day of the last period that has ended, as when only some of the
// range has: a day before from, which the CSV's file name says too, and
// never a day that has not ended.
func TestReports_NoPeriodEndedYet(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	owner := env.MustMember(t, "owner")
	films := mustOwnedPartner(t, env, "Films", "owner")
	now := env.Server.Service.Now()
	today := now.Truncate(day).Add(day)
	env.Clock.Advance(today.Add(12 * time.Hour).Sub(now))
	monday := today.Add(-time.Duration((int(today.Weekday())+6)%7) * day)

	for _, tc := range []struct {
		name             string
		q                client.ReportQuery
		wantFrom, wantTo time.Time
	}{
		{"this week by week", client.ReportQuery{From: date(today), To: date(today.Add(2 * day)), Period: "week"}, monday, monday.Add(-day)},
		{"the days to come by day", client.ReportQuery{From: date(today.Add(day)), To: date(today.Add(10 * day))}, today.Add(day), today.Add(-day)},
	} {
		r, err := owner.ShareReport(ctx, films.App.ClientID, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if r.From != date(tc.wantFrom) || r.To != date(tc.wantTo) || len(r.Periods) != 0 {
			t.Errorf("%s (%s..%s): %s..%s in %d periods, want %s..%s in none",
				tc.name, tc.q.From, tc.q.To, r.From, r.To, len(r.Periods), date(tc.wantFrom), date(tc.wantTo))
		}
	}

	req, err := http.NewRequest("GET", env.URL+"/api/v1/apps/"+films.App.ClientID+"/reports/shares?period=week&format=csv&from="+date(today)+"&to="+date(today.Add(2*day)), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+owner.Token())
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `attachment; filename="shares-` + date(monday) + `-` + date(monday.Add(-day)) + `.csv"`
	if got := resp.Header.Get("Content-Disposition"); resp.StatusCode != http.StatusOK || got != want {
		t.Errorf("this week by week as CSV: %d, Content-Disposition %s, want %s", resp.StatusCode, got, want)
	}
}

// The owner reads the report with their session, and the app with its own
// token from the client-credentials grant holding reports.read, which
// opens nothing else. No one else reads it; a token a member granted never
// can; a public app gets no token of its own.
func TestReports_WhoMayRead(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	owner, other := env.MustMember(t, "owner"), env.MustMember(t, "other")
	apptest.MustFriends(t, owner, other)
	films := mustOwnedPartner(t, env, "Films", "owner")
	tunes := mustOwnedPartner(t, env, "Tunes", "other")
	reportOf := func(c *client.Client, clientID string) error {
		_, err := c.ShareReport(ctx, clientID, client.ReportQuery{})
		return err
	}
	if err := reportOf(owner, films.App.ClientID); err != nil {
		t.Fatalf("the owner: %v", err)
	}
	for name, err := range map[string]error{
		"another member": reportOf(other, films.App.ClientID),
		"an unknown app": reportOf(owner, "nope"),
	} {
		if client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("%s: %v, want 404", name, err)
		}
	}
	if err := reportOf(env.Client, films.App.ClientID); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("no token: %v, want 401", err)
	}

	// A member's grant cannot hold reports.read, even if the app asks.
	granted := env.MustToken(t, films, "owner", []string{"shares.write", "reports.read"}, apptest.Answer{})
	if s, _ := granted.Extra("scope").(string); strings.Contains(s, "reports.read") {
		t.Fatalf("a member granted reports.read: %q", s)
	}
	err := reportOf(env.Client.WithToken(granted.AccessToken), films.App.ClientID)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || !strings.Contains(e.WWWAuthenticate, "insufficient_scope") {
		t.Errorf("a member's token: %v, want 403 insufficient_scope", err)
	}

	// The app's own token.
	cc := clientcredentials.Config{ClientID: films.App.ClientID, ClientSecret: films.App.ClientSecret,
		TokenURL: env.URL + "/oauth2/token", Scopes: []string{"reports.read"}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" || tok.Extra("id_token") != nil || tok.Extra("scope") != "reports.read" {
		t.Fatalf("token response: refresh %q, id_token %v, scope %v", tok.RefreshToken, tok.Extra("id_token"), tok.Extra("scope"))
	}
	own := client.New(env.URL).WithHTTPClient(&http.Client{Transport: &oauth2.Transport{
		Source: cc.TokenSource(ctx), Base: env.HTTP.Transport}})
	report, err := own.ShareReport(ctx, films.App.ClientID, client.ReportQuery{Period: "week"})
	if err != nil || report.ClientID != films.App.ClientID || report.Period != "week" {
		t.Fatalf("the app's own report: %+v, %v", report, err)
	}
	if err := reportOf(own, tunes.App.ClientID); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("another app's report: %v, want 404", err)
	}
	// Elsewhere it is a good token without the scope (RFC 6750 section
	// 3.1), not a dead one, which a client would replace with another alike.
	for _, path := range []string{"/api/v1/me", "/api/v1/threads", "/api/v1/friends", "/api/v1/apps", "/api/v1/me/access-log", "/oauth2/userinfo"} {
		_, err := own.Do(ctx, "GET", path, nil, nil)
		if e, ok := errors.AsType[*client.Error](err); !ok || e.Status != http.StatusForbidden || !strings.Contains(e.WWWAuthenticate, `error="insufficient_scope"`) {
			t.Errorf("GET %s with the app's own token: %v, want 403 insufficient_scope", path, err)
		} else if path != "/oauth2/userinfo" && !strings.Contains(e.Detail, "reads the app's share reports only") {
			t.Errorf("GET %s with the app's own token says %q, not what it is for", path, e.Detail)
		}
	}
	if _, err := own.Share(ctx, client.NewShare{To: "other", URL: "https://films.example/1", Title: "A film"}); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("a share with the app's own token: %v, want 403", err)
	}

	// Nothing but reports.read, and only for confidential apps.
	for _, scopes := range [][]string{{"messages.read"}, {"reports.read", "openid"}, {"shares.write"}} {
		bad := cc
		bad.Scopes = scopes
		if _, err := bad.Token(ctx); !oauthError(err, "invalid_scope") {
			t.Errorf("client credentials for %v: %v, want invalid_scope", scopes, err)
		}
	}
	public := env.MustPartner(t, "Phone", func(a *service.NewApp) { a.Public = true })
	resp, err := http.PostForm(env.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {public.App.ClientID}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var oe struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&oe)
	// It authenticates as a public client does, by its client_id, but may
	// not use the grant (RFC 6749 sections 4.4 and 5.2).
	if resp.StatusCode != http.StatusBadRequest || oe.Error != "unauthorized_client" {
		t.Errorf("a public app's client credentials: %d %q, want 400 unauthorized_client", resp.StatusCode, oe.Error)
	}

	// Discovery says so.
	var d struct {
		Grants []string `json:"grant_types_supported"`
		Scopes []string `json:"scopes_supported"`
	}
	dr, err := http.Get(env.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer dr.Body.Close()
	json.NewDecoder(dr.Body).Decode(&d)
	if !slices.Contains(d.Grants, "client_credentials") || !slices.Contains(d.Scopes, "reports.read") {
		t.Errorf("discovery: grants %v, scopes %v", d.Grants, d.Scopes)
	}

	// Introspection (RFC 7662) shows it to its app alone.
	// asApp posts a token to an endpoint as the app p, and returns the
	// answer's status and body.
	asApp := func(p *apptest.Partner, endpoint, token string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", env.URL+endpoint, strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(p.App.ClientID, p.App.ClientSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	introspect := func(p *apptest.Partner, token string) map[string]any {
		t.Helper()
		_, out := asApp(p, "/oauth2/introspect", token)
		return out
	}
	if got := introspect(films, tok.AccessToken); got["active"] != true || got["scope"] != "reports.read" || got["client_id"] != films.App.ClientID {
		t.Errorf("introspection by the app: %v", got)
	}
	if got := introspect(tunes, tok.AccessToken); got["active"] != false {
		t.Errorf("introspection by another app: %v, want inactive", got)
	}

	// Another app cannot revoke it (RFC 7009 section 2.1): refused, and the
	// token stays in force.
	if status, got := asApp(tunes, "/oauth2/revoke", tok.AccessToken); status != http.StatusBadRequest || got["error"] != "invalid_grant" {
		t.Errorf("revocation by another app: %d %v, want 400 invalid_grant", status, got)
	}
	if got := introspect(films, tok.AccessToken); got["active"] != true {
		t.Errorf("after another app tried to revoke it, introspection by the app: %v", got)
	}

	// Revoked (RFC 7009), it stops at once.
	revoked, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status, got := asApp(films, "/oauth2/revoke", revoked.AccessToken); status != http.StatusOK {
		t.Fatalf("revoke: %d %v", status, got)
	}
	if err := reportOf(env.Client.WithToken(revoked.AccessToken), films.App.ClientID); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("a revoked own token: %v, want 401", err)
	}

	// A suspended app's own token stops at once.
	if _, err := env.Server.Service.SuspendApp(service.ConsoleContext(ctx), films.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if err := reportOf(own, films.App.ClientID); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("a suspended app's own token: %v, want 401", err)
	}
	// Elsewhere too: it no longer works, whatever it would reach.
	if _, err := own.Do(ctx, "GET", "/api/v1/me", nil, nil); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("a suspended app's own token at /api/v1/me: %v, want 401", err)
	}
}

// oauthError reports whether err is an OAuth error response with code.
func oauthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}

// FuzzReports_Query sends the owner's report route any query, and a share
// link any token: no query gets a 5xx, a report is 200 or a 400 problem,
// and a link that is no one's is a 404 page, never a redirect away. `go test -fuzz
// FuzzReports_Query ./internal/httpapi` looks beyond the seeds.
func FuzzReports_Query(f *testing.F) {
	env := apptest.Start(f)
	owner := env.MustMember(f, "owner")
	partner := mustOwnedPartner(f, env, "Films", "owner")
	for _, seed := range []string{"", "period=week", "from=2026-01-01&to=2026-01-31&period=fortnight&format=svg",
		"from=0001-01-01&to=0001-01-02", "from=9999-12-30&to=9999-12-31", "to=1970-01-01", "format=csv&format=svg",
		"from=2026-02-30", "period=%00", "from=%ff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		req, err := http.NewRequest("GET", env.URL+"/api/v1/apps/"+partner.App.ClientID+"/reports/shares?"+query, nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+owner.Token())
		// A plain client: a query net/http itself refuses gets its own 400.
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("?%s: %d", query, resp.StatusCode)
		}
		// Dot segments are first cleaned by a redirect to the same server.
		link := follow(t, "GET", env.URL+"/s/"+url.PathEscape(query), firefox)
		if cleaned := strings.HasPrefix(link.Header.Get("Location"), "/"); link.StatusCode != http.StatusNotFound && !cleaned {
			t.Fatalf("/s/%s: %d to %q", query, link.StatusCode, link.Header.Get("Location"))
		}
	})
}

// TestReports_AppTokenSaysWhyTheAppCannotRead: an app's own token stops
// working when an operator suspends or deletes the app, and the refusal
// says which.
func TestReports_AppTokenSaysWhyTheAppCannotRead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		decide func(s *service.Service, ctx context.Context, clientID string) (*parley.App, error)
		want   string
	}{
		{(*service.Service).SuspendApp, "the app is suspended"},
		{(*service.Service).DeleteApp, "the app was deleted"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			env := apptest.Start(t)
			ctx := context.Background()
			env.MustMember(t, "owner")
			films := mustOwnedPartner(t, env, "Films", "owner")
			cc := clientcredentials.Config{ClientID: films.App.ClientID, ClientSecret: films.App.ClientSecret,
				TokenURL: env.URL + "/oauth2/token", Scopes: []string{"reports.read"}, AuthStyle: oauth2.AuthStyleInHeader}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tc.decide(env.Server.Service, service.ConsoleContext(ctx), films.App.ClientID); err != nil {
				t.Fatal(err)
			}
			_, err = env.Client.WithToken(tok.AccessToken).ShareReport(ctx, films.App.ClientID, client.ReportQuery{})
			var e *client.Error
			if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || !strings.Contains(e.Detail, tc.want) {
				t.Fatalf("the app's own token after the decision: %v, want 401 saying %q", err, tc.want)
			}
		})
	}
}

// An app's own token lasts as long as the secret it was got with: when the
// owner stops the secret a rotation replaced, because it leaked, the
// tokens got with it stop at once, those got before the rotation and
// those got during the overlap alike, while a token got with the new
// secret reads on.
func TestReports_AppTokenEndsWithItsSecret(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	owner := env.MustMember(t, "owner")
	films := mustOwnedPartner(t, env, "Films", "owner")
	tokenWith := func(secret string) string {
		t.Helper()
		cc := clientcredentials.Config{ClientID: films.App.ClientID, ClientSecret: secret,
			TokenURL: env.URL + "/oauth2/token", Scopes: []string{"reports.read"}, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	reads := func(token string) error {
		_, err := env.Client.WithToken(token).ShareReport(ctx, films.App.ClientID, client.ReportQuery{})
		return err
	}
	caller, err := env.Server.Service.Authenticate(ctx, owner.Token())
	if err != nil {
		t.Fatal(err)
	}
	asOwner := parley.NewContextWithCaller(ctx, caller) // on the developer console

	before := tokenWith(films.App.ClientSecret)
	rotated, err := env.Server.Service.RotateAppSecret(asOwner, films.App.ClientID, nil)
	if err != nil {
		t.Fatal(err)
	}
	apptest.Secret(rotated.ClientSecret)
	during := tokenWith(films.App.ClientSecret)
	fresh := tokenWith(rotated.ClientSecret)
	for name, token := range map[string]string{"before the rotation": before, "with the old secret since": during, "with the new secret": fresh} {
		if err := reads(token); err != nil {
			t.Fatalf("during the overlap, a token got %s: %v", name, err)
		}
	}
	if _, err := env.Server.Service.EndOldAppSecret(asOwner, films.App.ClientID); err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{"before the rotation": before, "with the old secret since": during} {
		if err := reads(token); client.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("once the old secret is stopped, a token got %s: %v, want 401", name, err)
		}
	}
	if err := reads(fresh); err != nil {
		t.Errorf("once the old secret is stopped, a token got with the new one: %v", err)
	}
}
