// Times in the reader's own zone, on every page: the messenger's (which
// imports this module) and the pages of the plain layout, the consent and
// operator pages, which load it alone.
//
// The server writes times in UTC, as a page without script shows them.
// Each <time data-show> is written again in the browser's time zone, in
// the server's form: "day" the time today, or the date before ("2 Jan");
// "moment" the time today, or the date and time before; "full" the date,
// its year and the time with the zone's short name ("2 Jan 2026 14:03
// GMT+1"), as the privacy, developer, consent and operator pages write a
// time, which may be a day that is not today (a grant's expiry, a
// secret's last day) and so may fall in another offset of the zone;
// "clock" the time alone with its zone, the end of a span whose start is
// the "full" time before it, or written in full when its day where the
// reader is is not the start's (a span from 23:59 to 00:01). The buttons
// that name a time in their labels (data-label, then the time) follow it:
// a message's, by its time (.meta), and a webhook delivery's, by the time
// it was made (.made).
// Parts the page fetches later are written again as they come.
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n) => String(n).padStart(2, "0");
const zone = (at) => new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(at).find((p) => p.type === "timeZoneName")?.value || "";
function localTimes() {
  const today = new Date().toDateString();
  let fullDay = "";
  for (const el of document.querySelectorAll("time[data-show]")) {
    const at = new Date(el.dateTime);
    if (Number.isNaN(at.getTime())) continue;
    const clock = `${two(at.getHours())}:${two(at.getMinutes())}`;
    const date = `${at.getDate()} ${months[at.getMonth()]}`;
    let shown = clock;
    if (el.dataset.show === "full" || (el.dataset.show === "clock" && at.toDateString() !== fullDay)) shown = `${date} ${at.getFullYear()} ${clock} ${zone(at)}`.trim();
    else if (el.dataset.show === "clock") shown = `${clock} ${zone(at)}`.trim();
    else if (at.toDateString() !== today) shown = el.dataset.show === "day" ? date : `${date} ${clock}`;
    if (el.dataset.show === "full") fullDay = at.toDateString();
    if (el.textContent !== shown) el.textContent = shown;
    if (!el.matches(".meta > time, .made > time")) continue;
    for (const button of el.closest("li, tr").querySelectorAll("[data-label]")) {
      const label = `${button.dataset.label} ${shown}`;
      if (button.getAttribute("aria-label") !== label) button.setAttribute("aria-label", label);
    }
  }
}
localTimes();
new MutationObserver(localTimes).observe(document.body, { childList: true, subtree: true });
