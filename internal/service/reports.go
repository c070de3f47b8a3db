package service

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/parleyhq/parley"
)

// Share reports: for each period, the shares an app sent, who sent them,
// who they reached and who followed them, with nothing per person.
//
// How a small number is kept from showing, or from being worked out:
//
//   - Periods are fixed in UTC: days, ISO weeks, and fortnights of two ISO
//     weeks counted from Monday 1970-01-05. A range asked for is widened to
//     whole periods, so any two requests that overlap give the same cells
//     for the periods they share.
//   - A period is reported only once it has ended, and what a cell counts
//     is settled by then: shares sent in the period, and clicks made on
//     them before it ended. A cell never changes once shown, so two
//     requests at different times tell nothing either. "Ended" is
//     reportSettle after the period's end (settledNow), so that a share or
//     a click stamped before the end and committed after it, or by a node
//     whose clock is a little behind, is in before the period shows.
//   - There is no total of any kind.
//   - Each cell is counted from people, and is shown only when they are at
//     least k (ReportMinPeople), else it reads "<k":
//     shares sent and senders from the senders; recipients from the
//     recipients; recipients who clicked, and the click-through rate, from
//     the recipients who clicked and from those who did not, both of
//     which must be k or more, so that neither "all of them clicked" nor
//     "none did" is ever said of fewer than k people. A cell with no one
//     behind it, a zero, is suppressed too. The rate is shown only when
//     both recipient cells are.
//   - A week is the sum of its days and a fortnight of its weeks, so a
//     suppressed day could be worked out as a week less its shown days.
//     A week is therefore shown only when the people of its suppressed
//     days, taken together, are none or at least k by the same rule; a
//     fortnight likewise for the people of its suppressed weeks (of their
//     suppressed days, where a week has some). What a subtraction leaves
//     is then always counted from k people or more.

// reportSettle is how long after a period's end it is first reported:
// far longer than a write takes to commit or nodes' clocks drift apart.
const reportSettle = 5 * time.Minute

// settledNow is the time by which the service decides which periods have
// ended: its clock, reportSettle behind.
func (s *Service) settledNow() time.Time { return s.Now().Add(-reportSettle) }

// reportEpoch is the Monday periods are counted from.
var reportEpoch = time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// periodDays is the length of each period in days.
var periodDays = map[string]int{parley.PeriodDay: 1, parley.PeriodWeek: 7, parley.PeriodFortnight: 14}

// ReportQuery asks for a share report. Zero values take the defaults: the
// period by day, To the last day that ended reportSettle or more ago, From the
// DefaultReportDays-th day before To's end.
type ReportQuery struct {
	// From and To are the first and last days asked for, as UTC dates; nil
	// for the default (the last DefaultReportDays settled days).
	From, To *time.Time
	Period   string
}

// AppShareReport returns an app's share report to its owner, signed in as
// themself, or to the app itself with its own token holding the
// reports.read scope. Another app's report, and an app the caller does not
// own, is ENOTFOUND; an app's token acting for a member is ESCOPE. Reading
// a report touches no member's data: it is not in any access log.
func (s *Service) AppShareReport(ctx context.Context, clientID string, q ReportQuery) (*parley.ShareReport, error) {
	c := parley.CallerFromContext(ctx)
	notFound := parley.Errorf(parley.ENOTFOUND, "app not found")
	switch {
	case c == nil:
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "sign in first")
	case c.Client != nil && !c.Client.Scopes.Has(parley.ScopeReportsRead):
		return nil, &parley.Error{Code: parley.ESCOPE, Message: "this call needs the reports.read scope", Scope: string(parley.ScopeReportsRead)}
	case c.Client != nil && c.Client.App.ClientID != clientID:
		return nil, notFound
	case c.Client != nil:
	case c.App != nil:
		return nil, &parley.Error{Code: parley.ESCOPE, Scope: string(parley.ScopeReportsRead),
			Message: "reports are read by the app's owner or by the app itself with a client-credentials token, never through a member's grant"}
	default:
		err := s.store.Read(ctx, func(tx parley.Tx) error {
			_, err := ownApp(ctx, tx, c, clientID)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return s.ShareReport(ctx, clientID, q)
}

// ShareReport builds an app's share report for the query. It checks no
// caller: it is for the server's own jobs, such as a report sent every
// fortnight; calls made for someone go through AppShareReport. A period
// other than day, week or fortnight, a range backwards or longer than
// MaxReportDays, or one with a day before 0001-01-01, is EINVALID; an app
// that does not exist, ENOTFOUND.
func (s *Service) ShareReport(ctx context.Context, clientID string, q ReportQuery) (*parley.ShareReport, error) {
	if q.Period == "" {
		q.Period = parley.PeriodDay
	}
	n, ok := periodDays[q.Period]
	if !ok {
		return nil, parley.Errorf(parley.EINVALID, "period must be day, week or fortnight")
	}
	today := s.settledNow().Truncate(day)
	to := today.Add(-day)
	if q.To != nil {
		to = q.To.UTC().Truncate(day)
	}
	from := to.Add(-(parley.DefaultReportDays - 1) * day)
	if q.From != nil {
		from = q.From.UTC().Truncate(day)
	}
	switch {
	case from.Year() < 1 || to.Year() < 1:
		// A week or fortnight of year 0 may start in year -1, which no
		// YYYY-MM-DD writes.
		return nil, parley.Errorf(parley.EINVALID, "a report covers days from 0001-01-01 on")
	case to.Before(from):
		return nil, parley.Errorf(parley.EINVALID, "the range ends before it starts")
	case to.Sub(from) >= parley.MaxReportDays*day:
		return nil, parley.Errorf(parley.EINVALID, "a report covers at most %d days", parley.MaxReportDays)
	}
	first := dayIndex(from) - floorMod(dayIndex(from), n)
	last := dayIndex(to) - floorMod(dayIndex(to), n)
	// Only periods that have ended: when none of the range has, last is
	// before first, no period is reported, and the report's To, the last
	// day of the last period that has ended, is before its From.
	last = min(last, dayIndex(today)-floorMod(dayIndex(today), n)-n)
	report := &parley.ShareReport{
		ClientID: clientID, Period: q.Period, From: dateOf(first), To: dateOf(last + n - 1),
		MinPeople: s.opts.ReportMinPeople, Periods: []parley.SharePeriod{},
	}
	err := s.store.Read(ctx, func(tx parley.Tx) error {
		app, err := tx.FindAppByClientID(ctx, clientID)
		if err == nil {
			report.AppName = app.Name
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if last < first {
		return report, nil
	}
	// A fortnight at a time, each read whole: a week's cells depend on its
	// days, a fortnight's on its weeks, and nothing on another fortnight's.
	// So a report of a year holds one fortnight's links at a time, not 27.
	for f := first - floorMod(first, 14); f <= last; f += 14 {
		var links []parley.ShareLink
		err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
			links, err = tx.FindShareLinks(ctx, clientID, dayStart(f), dayStart(f+14))
			return err
		})
		if err != nil {
			return nil, err
		}
		shown := newSuppression(links, f, f+14, s.opts.ReportMinPeople).shown(n)
		for start := max(first, f); start <= min(last, f+13); start += n {
			report.Periods = append(report.Periods, s.sharePeriod(links, start, n, shown[start]))
		}
	}
	return report, nil
}

// sharePeriod is the row of the period of n days from day start, showing
// the cells of the groups shown says.
func (s *Service) sharePeriod(links []parley.ShareLink, start, n int, shown [groups]bool) parley.SharePeriod {
	st := countCell(inDays(links, start, start+n), dayStart(start+n))
	k := s.opts.ReportMinPeople
	cell := func(v float64, g int) parley.Cell {
		if !shown[g] {
			return parley.Cell{Below: k}
		}
		return parley.Cell{Value: v}
	}
	p := parley.SharePeriod{
		Start: dateOf(start), End: dateOf(start + n - 1),
		SharesSent: cell(float64(st.shares), bySenders), Senders: cell(float64(st.senders), bySenders),
		Recipients: cell(float64(st.recipients), byRecipients), Clicked: cell(float64(st.clicked), byClicks),
		ClickThroughRate: parley.Cell{Below: k},
	}
	if shown[byRecipients] && shown[byClicks] {
		p.ClickThroughRate = parley.Cell{Value: math.Round(float64(st.clicked)/float64(st.recipients)*1e4) / 1e4}
	}
	return p
}

// The groups of a report's cells, each counted from one set of people.
const (
	bySenders    = iota // shares sent, senders
	byRecipients        // recipients
	byClicks            // recipients who clicked, click-through rate
	groups
)

// counts are what the cells of a set of links count.
type counts struct {
	shares, senders, recipients, clicked, notClicked int
}

// countCell counts a set of links, each click counted if made before cutoff.
func countCell(links []parley.ShareLink, cutoff time.Time) counts {
	shares := map[string]bool{}
	senders := map[string]bool{}
	clicked := map[string]bool{}
	for _, l := range links {
		shares[l.MessageID], senders[l.SenderID] = true, true
		clicked[l.UserID] = clicked[l.UserID] || l.ClickedAt != nil && l.ClickedAt.Before(cutoff)
	}
	c := counts{shares: len(shares), senders: len(senders), recipients: len(clicked)}
	for _, yes := range clicked {
		if yes {
			c.clicked++
		}
	}
	c.notClicked = c.recipients - c.clicked
	return c
}

// safe reports whether the cells of group g may show what c counts.
func (c counts) safe(g, k int) bool {
	switch g {
	case bySenders:
		return c.senders >= k
	case byRecipients:
		return c.recipients >= k
	}
	return c.clicked >= k && c.notClicked >= k
}

// suppression decides which cells show, for every day, week and fortnight
// of whole fortnights of links.
type suppression struct {
	links       []parley.ShareLink
	first, last int // days, last excluded; whole fortnights
	k           int
}

func newSuppression(links []parley.ShareLink, first, last, k int) *suppression {
	return &suppression{links: links, first: first, last: last, k: k}
}

// shown returns, for each period of n days by its first day, which groups
// of its cells show.
func (s *suppression) shown(n int) map[int][groups]bool {
	out := map[int][groups]bool{}
	for f := s.first; f < s.last; f += 14 {
		for g := range groups {
			days, weeks, fortnight := s.fortnight(f, g)
			switch n {
			case 1:
				for i, ok := range days {
					setShown(out, f+i, g, ok)
				}
			case 7:
				for i, ok := range weeks {
					setShown(out, f+7*i, g, ok)
				}
			default:
				setShown(out, f, g, fortnight)
			}
		}
	}
	return out
}

func setShown(m map[int][groups]bool, start, g int, ok bool) {
	v := m[start]
	v[g] = ok
	m[start] = v
}

// fortnight decides group g's cells of the fortnight from day f: of its
// days, its weeks and itself.
//
// Clicks show by the fortnight only. A day's cells and its week's do not
// add up: a recipient of cards on two days is one person in the week and
// one in each day, and a click made the day after a card's counts in its
// week, not in its day. With the clicks of a week and of its days shown,
// a partner that knows whom it shared with when could tell, by
// subtraction, that one recipient clicked on both days, or one clicked
// late. Fortnights do not overlap, and each counts the clicks made before
// it ended, whoever asks when; senders and recipients, whom the app named
// in its own calls, show by the day and the week as well.
func (s *suppression) fortnight(f, g int) (days [14]bool, weeks [2]bool, fortnight bool) {
	safe := func(links []parley.ShareLink, end int) bool { return countCell(links, dayStart(end)).safe(g, s.k) }
	if g == byClicks {
		return days, weeks, safe(inDays(s.links, f, f+14), f+14)
	}
	// leftOver reports whether what is left of a cell once its shown parts
	// are subtracted, counted at the cell's end, is nothing or safe.
	leftOver := func(links []parley.ShareLink, end int) bool { return len(links) == 0 || safe(links, end) }
	var residue []parley.ShareLink // of the suppressed weeks
	for w := range 2 {
		start := f + 7*w
		var hidden []parley.ShareLink // of the week's suppressed days
		for i := range 7 {
			d := start + i
			links := inDays(s.links, d, d+1)
			if days[7*w+i] = safe(links, d+1); !days[7*w+i] {
				hidden = append(hidden, links...)
			}
		}
		week := inDays(s.links, start, start+7)
		weeks[w] = safe(week, start+7) && leftOver(hidden, start+7)
		if !weeks[w] {
			if len(hidden) == 0 {
				hidden = week
			}
			residue = append(residue, hidden...)
		}
	}
	fortnight = safe(inDays(s.links, f, f+14), f+14) && leftOver(residue, f+14)
	return days, weeks, fortnight
}

// inDays returns the links sent from day a until before day b; links are
// in the order sent.
func inDays(links []parley.ShareLink, a, b int) []parley.ShareLink {
	from, to := dayStart(a), dayStart(b)
	i := sort.Search(len(links), func(i int) bool { return !links[i].SentAt.Before(from) })
	j := sort.Search(len(links), func(i int) bool { return !links[i].SentAt.Before(to) })
	return links[i:j]
}

// secondsPerDay is the length of a day: Unix time has no leap seconds.
const secondsPerDay = int64(day / time.Second)

// dayIndex counts the days from reportEpoch to t's day. It counts in
// seconds, not in a time.Duration, which reaches only 292 years either way.
func dayIndex(t time.Time) int {
	return int(floorDiv(t.Unix()-reportEpoch.Unix(), secondsPerDay))
}

// dayStart is the start of the i-th day from reportEpoch, in UTC.
func dayStart(i int) time.Time { return time.Unix(reportEpoch.Unix()+int64(i)*secondsPerDay, 0).UTC() }

// floorDiv is a division rounded down, towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func dateOf(i int) string { return dayStart(i).Format(time.DateOnly) }

// floorMod is a modulo that is never negative.
func floorMod(a, n int) int { return ((a % n) + n) % n }
