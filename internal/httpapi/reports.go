package httpapi

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/reportchart"
	"github.com/parleyhq/parley/internal/service"
)

// handleShareReport serves an app's share report as JSON, CSV
// (?format=csv) or an SVG chart (?format=svg).
func (s *Server) handleShareReport(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	var rq service.ReportQuery
	if err == nil {
		if rq.From, err = dateParam(q, "from"); err == nil {
			rq.To, err = dateParam(q, "to")
		}
	}
	format := q.Get("format")
	switch {
	case err != nil:
	case q.Has("period") && q.Get("period") == "":
		err = parley.Errorf(parley.EINVALID, "period must be day, week or fortnight")
	case q.Has("format") && format != "json" && format != "csv" && format != "svg":
		err = parley.Errorf(parley.EINVALID, "format must be json, csv or svg")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rq.Period = q.Get("period")
	report, err := s.svc.AppShareReport(r.Context(), r.PathValue("client_id"), rq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	switch format {
	case "csv":
		writeReportCSV(w, report)
	case "svg":
		w.Header().Set("Content-Type", "image/svg+xml")
		// A chart opened on its own runs nothing.
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		w.Write(reportchart.SVG(report))
	default:
		writeJSON(w, http.StatusOK, report)
	}
}

// dateParam reads a query parameter holding a UTC date, YYYY-MM-DD; nil
// when it is absent (0001-01-01, Go's zero time, is a date given).
func dateParam(q url.Values, name string) (*time.Time, error) {
	if !q.Has(name) {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, q.Get(name))
	if err != nil {
		return nil, parley.Errorf(parley.EINVALID, "%s must be a date, YYYY-MM-DD", name)
	}
	return &t, nil
}

// reportColumns are the CSV report's header.
var reportColumns = []string{"period_start", "period_end", "shares_sent", "senders", "recipients", "recipients_clicked", "click_through_rate"}

// writeReportCSV writes the report's periods as CSV (RFC 4180), one line
// each; a suppressed cell reads <k as in JSON.
func writeReportCSV(w http.ResponseWriter, report *parley.ShareReport) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
	w.Header().Set("Content-Disposition", `attachment; filename="shares-`+report.From+`-`+report.To+`.csv"`)
	out := csv.NewWriter(w)
	out.UseCRLF = true
	out.Write(reportColumns)
	for _, p := range report.Periods {
		out.Write([]string{p.Start, p.End, p.SharesSent.String(), p.Senders.String(), p.Recipients.String(),
			p.Clicked.String(), p.ClickThroughRate.String()})
	}
	out.Flush()
}
