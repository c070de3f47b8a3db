package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/parleyhq/parley"
)

// The fortnightly report by webhook. When a fortnight ends, each app with
// an endpoint subscribed to report.shares gets one report.shares event
// whose data is that fortnight's share report, exactly as
// GET …/reports/shares?period=fortnight gives it for the fortnight: the
// same cells, suppressed alike, nothing per person.
//
// Every server runs SendFortnightReports, at start and every hour. The
// report_sends table holds one row per app and fortnight, inserted in the
// write that enqueues the event; its key lets one write insert it, so of
// servers sending at once, or one server waking again, one event goes out.
// A server down when a fortnight ends sends its report when it comes back.
// Only the last fortnight that ended is ever sent: after downtime longer
// than a fortnight, the fortnights missed before it are not, and the app
// reads them from the report endpoint. An app is sent a fortnight's report
// when an endpoint of it subscribed by the fortnight's end, so a new
// subscription receives its first report when the next fortnight ends; a
// suspended app, or one whose endpoints are all disabled, is sent nothing
// while it is (FindShareReportsDue).

// errNothingSent rolls back a report marked sent whose app turned out to
// have no endpoint to send it to.
var errNothingSent = errors.New("service: no endpoint took the report")

// SendFortnightReports enqueues report.shares, with the report of the last
// fortnight that ended, for each app due it, and returns how many apps it
// was enqueued for. An app whose report fails is left for the next run,
// and the others are sent: the error names each app that failed.
func (s *Service) SendFortnightReports(ctx context.Context) (int, error) {
	now := s.Now()
	today := dayIndex(s.settledNow())
	first := today - floorMod(today, 14) - 14
	start, end := dayStart(first), dayStart(first+14)
	var due []string
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		due, err = tx.FindShareReportsDue(ctx, start, end)
		return err
	})
	if err != nil {
		return 0, err
	}
	sent := 0
	var failed []error
	for _, clientID := range due {
		if ctx.Err() != nil {
			failed = append(failed, ctx.Err())
			break
		}
		// The fortnight has ended, so its cells are settled: the report
		// read before the write is the one any later request gives.
		last := end.Add(-day)
		report, err := s.ShareReport(ctx, clientID, ReportQuery{From: &start, To: &last, Period: parley.PeriodFortnight})
		if err != nil {
			failed = append(failed, fmt.Errorf("share report of %s: %w", clientID, err))
			continue
		}
		var enqueued bool
		err = s.store.Write(ctx, func(tx parley.Tx) (err error) {
			enqueued = false
			if marked, err := tx.MarkShareReportSent(ctx, clientID, start, now); err != nil || !marked {
				return err
			}
			enqueued, err = s.enqueueAppEvent(ctx, tx, clientID, parley.WebhookReportShares, report, parley.NewWebhookDelivery{})
			if err == nil && !enqueued {
				return errNothingSent
			}
			return err
		})
		switch {
		case errors.Is(err, errNothingSent):
		case err != nil:
			failed = append(failed, fmt.Errorf("share report of %s: %w", clientID, err))
		case enqueued:
			sent++
		}
	}
	if sent > 0 {
		s.WakeWebhooks()
	}
	return sent, errors.Join(failed...)
}
