// Times in the reader's own zone, on every page: the messenger's (which
// imports this module) and the pages of the plain layout, the consent and
// operator pages, which load it alone.
//
// The server writes times in UTC, as a page without script shows them.
// Each <time data-show> is written again in the browser's time zone, in
// the server's form, without its zone: "day" the time today, or the date
// before ("2 Jan"); "moment" the time today, or the date and time before;
// "full" the date, its year and the time ("2 Jan 2026 14:03"), as the
// privacy, developer, consent and operator pages write a time; "clock" the
// time alone, the end of a span whose start is "full". A message's
// buttons, whose labels name its time (data-label, then the time), follow.
// Parts the page fetches later are written again as they come.
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n) => String(n).padStart(2, "0");
function localTimes() {
  const today = new Date().toDateString();
  for (const el of document.querySelectorAll("time[data-show]")) {
    const at = new Date(el.dateTime);
    if (Number.isNaN(at.getTime())) continue;
    const clock = `${two(at.getHours())}:${two(at.getMinutes())}`;
    const date = `${at.getDate()} ${months[at.getMonth()]}`;
    let shown = clock;
    if (el.dataset.show === "full") shown = `${date} ${at.getFullYear()} ${clock}`;
    else if (el.dataset.show !== "clock" && at.toDateString() !== today) shown = el.dataset.show === "day" ? date : `${date} ${clock}`;
    if (el.textContent !== shown) el.textContent = shown;
    if (!el.matches(".meta > time")) continue;
    for (const button of el.closest("li").querySelectorAll("[data-label]")) {
      const label = `${button.dataset.label} ${shown}`;
      if (button.getAttribute("aria-label") !== label) button.setAttribute("aria-label", label);
    }
  }
}
localTimes();
new MutationObserver(localTimes).observe(document.body, { childList: true, subtree: true });
