// Parley's messenger, live. The pages work without this script; it adds
// what a page cannot do alone: it listens on the realtime WebSocket
// (/api/v1/events, opened with the session cookie) and, on each event,
// fetches the part of the page that changed, rendered by the server like
// the page itself, so nothing here builds HTML from data (the member's own
// messages not sent yet show as text). It sends, edits, deletes and
// answers messages without reloading, sends with Enter (a message sent
// goes again, the same message, until the server has it), loads older
// messages on scroll, says who else is writing, and after a dropped
// connection reconnects and catches up: it fetches every message after the
// first one shown (after=seq), replacing those it has by their seq, so none
// is lost or shown twice. When the server ends the connection because the
// session ended (close code 1008), it goes to sign in instead, which says
// so when the account ended (deleted or disabled). Where the
// member turned them on, it shows new messages as the browser's
// notifications.

// Times are written in the reader's own zone by the module every page
// shares.
import "./times.js";

const asyncHeader = { "X-Parley-Async": "1" };
const body = document.body;
const current = body.dataset.current || "";
const status = document.getElementById("live");
const heard = document.getElementById("heard");
const parser = new DOMParser();

// leaving is set once the page is being left, by a form posted the usual
// way (deleting the account) or a link: what the live connection fetches
// meanwhile must not send the browser elsewhere.
let leaving = false;
addEventListener("beforeunload", () => { leaving = true; });

// resend sends at once the messages that wait to be sent again, if any
// (a thread's page sets it): the live connection calls it as it opens.
let resend = () => {};

// takeUnsent returns what the member wrote on a thread's page and did not
// send, the messages waiting to be sent and the field's text, one a line,
// and takes them from the page, so that the chat keeps no draft of them
// (a thread's page sets it).
let takeUnsent = () => "";

// part fetches a part of a page and parses it.
async function part(url) {
  const r = await fetch(url, { headers: asyncHeader, credentials: "same-origin" });
  if (r.status === 401) signInAgain();
  if (!r.ok) {
    const err = new Error(`${url}: ${r.status}`);
    err.status = r.status;
    throw err;
  }
  return parser.parseFromString(await r.text(), "text/html");
}

// signInAgain goes to the sign-in page, which comes back to this page.
function signInAgain() {
  if (!leaving) location.assign(`/sign-in?done=ended&next=${encodeURIComponent(location.pathname + location.search)}`);
}

// unsentKey holds, in this tab, the name of the chat the member was last
// found no longer in, and what they wrote there and did not send, for the
// chats' page to show (noLongerIn). Signing out forgets it with the drafts.
const unsentKey = `parley.draft.unsent.${body.dataset.me}`;

// noLongerIn goes to the chats, once the member is found no longer in the
// chat the page shows (removed from it, or left on another device): they
// say so, and offer what the member wrote there and did not send, which
// could never be sent now, to copy. The address names no chat: the name
// goes with the text, in this tab's storage.
function noLongerIn() {
  if (leaving) return;
  const name = document.querySelector("#thread-head h1")?.textContent || "";
  sessionStorage.setItem(unsentKey, JSON.stringify({ name, text: takeUnsent() }));
  leaving = true;
  location.assign("/?done=gone");
}

// postForm posts a form's fields as the form would, with extra ones, and
// returns the answer. One that must not be lost if the member leaves the
// page meanwhile (keep, a message sent) asks to outlive the page, which a
// browser grants a body of up to 64 KiB.
function postForm(form, extra = {}, keep = false) {
  const data = new URLSearchParams(new FormData(form));
  for (const [k, v] of Object.entries(extra)) data.set(k, v);
  const body = data.toString();
  const keepalive = keep && body.length < 60000;
  return fetch(form.action, { method: "POST", body, keepalive, headers: { ...asyncHeader, "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8" }, credentials: "same-origin" });
}

// refusal returns what went wrong with a post the server answered r, not
// 204, in words for the member. A post answered 401 (the session ended)
// goes to sign in.
async function refusal(r) {
  if (r.status === 401) {
    signInAgain();
    return "Your session ended: sign in again.";
  }
  const doc = parser.parseFromString(await r.text(), "text/html");
  const msg = doc.querySelector(".error");
  return msg ? msg.textContent : `Something went wrong (${r.status}).`;
}

// post sends a form's fields as the form would, answered 204. It returns
// what went wrong, in words for the member, or null. A post that got no
// answer may or may not have been done: the member is told to try again,
// which does it once.
async function post(form, extra = {}) {
  const r = await postForm(form, extra).catch(() => null);
  if (!r) return "No answer came (are you offline?): try again.";
  return r.status === 204 ? null : refusal(r);
}

// swap replaces the element with the given id by the one in doc, unless
// they are the same, keeping open menus open and focus on the same link.
// While the member is typing in a field of the element, it waits: then,
// once they leave the element, it calls later to fetch the part again.
function swap(id, doc, later) {
  const fresh = doc.getElementById(id);
  const old = document.getElementById(id);
  if (!fresh || !old) return;
  for (const details of old.querySelectorAll("details[open]")) {
    const same = fresh.querySelector(`details.${CSS.escape(details.className)}`);
    if (same) same.open = true;
  }
  if (fresh.isEqualNode(old)) return;
  const focused = document.activeElement;
  if (later && focused && old.contains(focused) && focused.matches("input, select, textarea")) {
    old.addEventListener("focusout", () => setTimeout(later), { once: true });
    return;
  }
  const key = focused && old.contains(focused) ? focused.dataset.thread || focused.id : "";
  old.replaceWith(document.adoptNode(fresh));
  if (key) {
    const again = fresh.querySelector(`[data-thread="${CSS.escape(key)}"]`) || document.getElementById(key);
    if (again) again.focus();
  }
}

// A secret shown once has a Copy button beside it, which copies it to the
// clipboard and says so on itself a moment; where the clipboard is out of
// reach (a page not served over HTTPS), the secret is left selected.
for (const button of document.querySelectorAll("button[data-copy]")) {
  const field = document.getElementById(button.dataset.copy);
  button.hidden = false;
  button.addEventListener("click", async () => {
    field.select();
    const copied = await navigator.clipboard?.writeText(field.value).then(() => true, () => false);
    button.textContent = copied ? "Copied" : "Selected: copy it";
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
}

// newKey is a fresh idempotency key for a message.
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// say shows the state of the page (offline, an error) in its status line.
function say(text) {
  if (status) status.textContent = text;
}

// sayForAMoment shows what was just done in the status line, for a few
// seconds unless something else is said meanwhile.
function sayForAMoment(text) {
  say(text);
  setTimeout(() => {
    if (status?.textContent === text) say("");
  }, 5000);
}

// tell has screen readers read out what happened, without showing it: a
// message that came in, one deleted.
function tell(text) {
  if (heard) heard.textContent = text;
}

// closeAction closes a details element, an action's, back to its button.
function closeAction(details) {
  details.open = false;
  details.querySelector("summary").focus();
}

// Cancel closes what it is in, an edit, a report or a confirmation (of a
// Delete, Leave, Block or Remove), where the page without script goes
// back to the message, the conversation or the page.
document.addEventListener("click", (e) => {
  const cancel = e.target.closest?.("details[open] a.cancel");
  if (!cancel) return;
  e.preventDefault();
  closeAction(cancel.closest("details"));
});

// Coalesces refreshes: one running, at most one more queued. What it
// returns resolves to whether they ran without an error, which it logs.
function serial(fn) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fn();
        } while (again);
        return true;
      } catch (err) {
        console.warn(err);
        return false;
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

// The tab's title starts with how many chats, muted ones aside, have
// unread messages, "(2)", as the page came from the server; the inbox's
// refreshes keep it so. A thread's page is titled with its name, which the
// head's refreshes keep.
let pageTitle = document.title.replace(/^\(\d+\) /, "");
function titleUnread() {
  const n = document.querySelectorAll("#inbox li:not(.muted) .unread").length;
  document.title = (n ? `(${n}) ` : "") + pageTitle;
}

const refreshInbox = serial(async () => {
  // A page of older chats (?chats=) stays on that page.
  const chats = document.getElementById("inbox")?.dataset.chats || "";
  swap("inbox", await part(`/parts/inbox?current=${encodeURIComponent(current)}&chats=${encodeURIComponent(chats)}`));
  titleUnread();
});

// inboxTyping shows "typing…" in place of a chat's last message in the
// inbox, until the inbox is fetched again: when a message comes, or 6
// seconds after the last time someone was told of writing there.
const inboxTimers = new Map();
function inboxTyping(threadID) {
  const preview = document.querySelector(`#inbox [data-thread="${CSS.escape(threadID)}"] .preview`);
  if (!preview) return;
  preview.textContent = "typing…";
  clearTimeout(inboxTimers.get(threadID));
  inboxTimers.set(threadID, setTimeout(() => {
    inboxTimers.delete(threadID);
    refreshInbox().catch(console.warn);
  }, 6000));
}

// ---- the thread page ----

const list = document.getElementById("messages");
const pane = document.querySelector(".conversation");
const base = current ? `/t/${encodeURIComponent(current)}` : "";
// A page showing older messages (?before=) does not take new ones, until
// the member sends from it: then it pulls in every message up to the
// newest (pull), and is a page of the newest from then on.
let atNewest = list && list.dataset.more !== "true";

// A list holds messages (li.msg) and, in a group, timeline notes, each
// numbered as the message it follows and a half, so that seq orders both.
const seqOf = (li) => Number(li.dataset.seq);
const messages = () => list.querySelectorAll(":scope > li.msg");
const notes = () => list.querySelectorAll(":scope > li.gnote");
const firstSeq = () => {
  const first = list.querySelector(":scope > li.msg");
  return first ? seqOf(first) : 0;
};
const lastSeq = () => {
  const all = messages();
  return all.length ? seqOf(all[all.length - 1]) : 0;
};
// wordsOf returns what a message says, as a reply quotes it: its text
// without the quote of what it answers, a share card's note, or its title
// when it has none.
function wordsOf(li) {
  const bubble = li.querySelector(".bubble");
  const words = bubble?.querySelector(".note") || bubble?.querySelector(".ctitle") || bubble;
  if (!words) return "";
  const said = [...words.childNodes].filter((n) => !n.classList?.contains("quote"));
  return said.map((n) => n.textContent).join("").trim();
}
// On a touch screen, whose keyboard has no Shift+Enter, Enter starts a new
// line in a field, and its button sends or saves.
const touch = matchMedia("(pointer: coarse)").matches;
const nearBottom = () => pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;
const toBottom = () => {
  pane.scrollTop = pane.scrollHeight;
};
// messageActions are a message's actions that open in place: Edit, React,
// Delete's confirmation and Report.
const messageActions = ":is(details.edit, details.react, details.delete, details.report)";

// changeOf is the number of a message's latest change in its thread (its
// post, an edit, a reaction, its deletion), as the server numbers them.
const changeOf = (li) => Number(li.dataset.change) || 0;
// outdated reports whether a fetched message is an older state of the one
// shown: read before a change the page shows already, its answer came
// after. A deletion is final.
const outdated = (fetched, shown) => changeOf(fetched) < changeOf(shown) || (shown.classList.contains("deleted") && !fetched.classList.contains("deleted"));

// merge puts the messages of a fetched list in place, in seq order: a
// message shown already is replaced (it may have been edited, deleted or
// reacted to), a new one inserted, but not by an older state of it (the
// answers of two reads may come in either order), nor one whose text the
// member is editing or reporting, nor one whose reactions or Delete's
// confirmation are open.
// Focus inside a message replaced stays on it: on the same reaction under
// it, or the same action, Edit, Delete or React, if it still has it, else
// on the message itself. It returns the fetched list's data attributes.
function merge(doc) {
  const fresh = doc.getElementById("messages");
  for (const li of [...fresh.children]) {
    const node = document.adoptNode(li);
    const old = document.getElementById(node.id);
    if (old) {
      if (old.isEqualNode(node) || outdated(node, old) || old.querySelector(`${messageActions}[open]`)) continue;
      const focused = old.contains(document.activeElement);
      const action = document.activeElement?.closest("details")?.className;
      const chip = document.activeElement?.closest(".chip")?.value;
      old.replaceWith(node);
      if (focused) {
        const same = chip ? [...node.querySelectorAll(".chip")].find((c) => c.value === chip) : action && node.querySelector(`details.${action} > summary`);
        if (same) {
          same.focus();
        } else {
          node.tabIndex = -1;
          node.focus();
        }
      }
      continue;
    }
    const after = [...list.children].find((el) => seqOf(el) > seqOf(node));
    list.insertBefore(node, after || null);
  }
  return fresh.dataset;
}

// refresh shows the message numbered seq as it now is. Grown (edited
// longer, reacted to), the newest message stays in sight if it was.
const refresh = async (seq) => {
  const stick = atNewest && nearBottom();
  const fetched = merge(await part(`${base}/messages?after=${seq - 1}&limit=1`));
  if (stick) toBottom();
  return fetched;
};

// pull fetches the messages after seq, page by page, and merges them: up
// to the newest, and the page is one of the newest from then on; or, given
// upTo, only as far as that seq (the messages a page of older ones shows),
// and the page stays where it is.
async function pull(seq, upTo = Infinity) {
  for (let more = true; more && seq < upTo; ) {
    const limit = upTo < Infinity ? `&limit=${upTo - seq}` : "";
    const doc = await part(`${base}/messages?after=${seq}${limit}`);
    const fetched = doc.querySelectorAll("#messages > li.msg");
    more = merge(doc).more === "true" && fetched.length > 0;
    if (fetched.length) seq = seqOf(fetched[fetched.length - 1]);
  }
  if (upTo < Infinity) return;
  if (!atNewest) {
    atNewest = true;
    document.querySelector(`.conversation > p.older > a[href="${base}"]`)?.parentElement.remove();
  }
}

// markedRead is how far the server has the member's read marker, as far
// as the page knows (markRead).
let markedRead = 0;
const sendForm = document.getElementById("send");
// A conversation that takes no message (a block) has no field to write in.
const text = sendForm?.elements.text;

// The message the next one answers, shown above the field (#replying):
// Reply beside a message sets it, its × or Escape in the field clears it.
// Without the script, Reply loads the page with it set (?reply=), which
// the script takes out of the address, so that a reload does not answer
// it again.
const replying = document.getElementById("replying");
const replyTo = sendForm?.elements.reply_to;

// placeStatus keeps the status line (say) just above the message box and
// the message it answers, whatever their height, so that it never covers
// what is being written.
function placeStatus() {
  const tops = [replying, sendForm].filter((el) => el && !el.hidden).map((el) => el.getBoundingClientRect().top);
  if (tops.length) document.body.style.setProperty("--above-composer", `${Math.max(0, innerHeight - Math.min(...tops))}px`);
}
if (sendForm) {
  const watch = new ResizeObserver(placeStatus);
  for (const el of [replying, sendForm]) if (el) watch.observe(el);
  addEventListener("resize", placeStatus);
  placeStatus();
  // While the status line shows, the conversation leaves it room at its
  // foot, so that it covers neither the last message nor one not sent yet.
  new ResizeObserver(() => {
    const stick = nearBottom();
    body.style.setProperty("--status-room", `${status.offsetHeight ? status.offsetHeight + 8 : 0}px`);
    if (stick) toBottom();
  }).observe(status);
}
const answering = () => (replying.hidden ? null : { seq: replyTo.value, who: replying.querySelector(".qwho").textContent, what: replying.querySelector(".qtext").textContent });
function answer(reply) {
  replying.hidden = !reply;
  replyTo.value = reply ? reply.seq : "";
  replying.querySelector(".qwho").textContent = reply ? reply.who : "";
  replying.querySelector(".qtext").textContent = reply ? reply.what : "";
  // Read out with the field, which a reader's focus is on.
  if (reply) text.setAttribute("aria-describedby", "reply-quote");
  else text.removeAttribute("aria-describedby");
}
if (replying && new URLSearchParams(location.search).has("reply")) {
  const address = new URL(location.href);
  address.searchParams.delete("reply");
  history.replaceState(history.state, "", address);
}
// graphemes returns the characters of s as a reader sees them (grapheme
// clusters: a flag, an emoji with its skin tone, a letter with its
// accents), so that a cut never splits one.
const graphemes = (s) => (typeof Intl.Segmenter === "function" ? Array.from(new Intl.Segmenter().segment(s), (g) => g.segment) : [...s]);
// clip returns a message's words as a quote shows them: on one line, at
// most 140 characters, as the server cuts them.
function clip(words) {
  const chars = graphemes(words.replace(/\s+/g, " ").trim());
  return chars.length > 140 ? `${chars.slice(0, 139).join("")}…` : chars.join("");
}
// followAnswered keeps the field's quote as the message it answers now is
// (ev, its message.edited or message.deleted): a deleted one is answered
// no more, and the member is told.
function followAnswered(ev) {
  if (!replying || replying.hidden || replyTo.value !== String(ev.data.seq)) return;
  if (ev.type === "message.deleted") {
    answer(null);
    say("The message you were answering was deleted.");
  } else {
    replying.querySelector(".qtext").textContent = clip(ev.data.text || "");
  }
}

// markRead moves the member's read marker to the last message shown, while
// the page is in view, unless the server has it there already: as far as
// the page marked it, or as the line under the messages (#seen, fetched
// again on each read.updated and on catching up) last said, which tells
// of the member's other devices too, or as far as the member's own last
// message, as sending one moves the marker up to it. Not one an app wrote
// for them (it names the app, .via): that moves the marker only when it
// was at the message before, and the page cannot tell whether it was,
// so it posts, which moves the marker or changes nothing. Nor while
// messages wait below, counted on the button at the foot (#to-newest):
// they are not seen yet, and scrolling down to them marks them read. A
// post that fails (the network dropped) marks nothing, so the catch-up
// after the reconnect posts again; one made while another is on its way
// waits for it, so that the same position is not posted twice.
const markRead = serial(async () => {
  markedRead = Math.max(markedRead, Number(document.getElementById("seen")?.dataset.read) || 0);
  const seq = lastSeq();
  const last = document.getElementById(`m${seq}`);
  if (last?.classList.contains("mine") && !last.querySelector(".meta .via")) markedRead = Math.max(markedRead, seq);
  if (!sendForm || document.visibilityState !== "visible" || seq <= markedRead) return;
  if (toNewest && !toNewest.hidden) return;
  const data = new URLSearchParams({ csrf: sendForm.elements.csrf.value, seq: String(seq) });
  try {
    const r = await fetch(`${base}/read`, { method: "POST", body: data, headers: asyncHeader, credentials: "same-origin" });
    if (r.ok) markedRead = Math.max(markedRead, seq);
  } catch (err) {
    console.warn(err);
  }
});

// noteSaid is a note's ID and what it says: a member's renamings in a row
// are one note, which says the latest name.
const noteSaid = (li) => `${li.id} ${li.querySelector("p").firstChild.textContent.trim()}`;

// announce tells screen readers of the messages others wrote after seq,
// and of what others did in the group (its notes) not in notesBefore, the
// notes shown before as noteSaid says them: the list itself is not a live
// region, so that older messages loaded on scroll, and messages replaced,
// are not read out.
function announce(seq, notesBefore) {
  const said = [];
  const added = [...messages()].filter((li) => seqOf(li) > seq && !li.classList.contains("mine") && !li.classList.contains("deleted"));
  if (added.length === 1) {
    const li = added[0];
    const who = li.querySelector(".who")?.textContent || "";
    said.push(`${who}: ${wordsOf(li)}`);
  } else if (added.length > 1) {
    said.push(`${added.length} new messages`);
  }
  for (const li of notes()) {
    if (!notesBefore.has(noteSaid(li)) && !li.hasAttribute("data-by-me")) said.push(li.querySelector("p").firstChild.textContent.trim());
  }
  if (said.length) tell(said.join(". "));
}

const pullNew = serial(async () => {
  const stick = nearBottom();
  const seq = lastSeq();
  const notesBefore = new Set([...notes()].map(noteSaid));
  await pull(seq);
  announce(seq, notesBefore);
  if (stick) toBottom();
  else below(seq);
});

// Messages others wrote that came while the member read further up wait
// below, counted on a button at the foot of the conversation, which
// brings them into sight; it goes once the member is at the newest.
const toNewest = document.getElementById("to-newest");
let waiting = 0;
function below(seq) {
  if (!toNewest) return;
  waiting += [...messages()].filter((li) => seqOf(li) > seq && !li.classList.contains("mine")).length;
  if (!waiting) return;
  const arrow = document.createElement("span");
  arrow.ariaHidden = "true";
  arrow.textContent = " ↓";
  toNewest.replaceChildren(waiting === 1 ? "1 new message" : `${waiting} new messages`, arrow);
  toNewest.hidden = false;
}
if (toNewest) {
  // Focus, on the button that goes, goes to the newest message.
  toNewest.addEventListener("click", () => {
    toBottom();
    const all = messages(), last = all[all.length - 1];
    last.tabIndex = -1;
    last.focus({ preventScroll: true });
  });
  pane.addEventListener("scroll", () => {
    if (toNewest.hidden || !nearBottom()) return;
    toNewest.hidden = true;
    waiting = 0;
    markRead();
  });
}

// The line under the messages, "Seen by …", read again at each
// read.updated: a burst of them, as a group's members open a message,
// makes one fetch at once and one more after it (serial), not one each.
const refreshSeen = serial(async () => swap("seen", await part(`${base}/seen`)));

// isolate sets a name apart from the sentence around it, as the server's
// isolate does (U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL
// ISOLATE): a name in Hebrew or Arabic keeps the words after it after it.
const isolate = (name) => `\u2068${name}\u2069`;

// Who else is writing here: each member told of by thread.typing, shown
// until 6 seconds after the last time they were, or until their message
// comes. Screen readers are not told: it comes again every few seconds.
const typists = new Map();
function showTyping() {
  const line = document.getElementById("typing");
  if (!line) return;
  const stick = nearBottom();
  const names = [...typists.values()].map((t) => isolate(t.name));
  if (names.length === 0) line.textContent = "";
  else if (names.length === 1) line.textContent = `${names[0]} is typing…`;
  else if (names.length === 2) line.textContent = `${names[0]} and ${names[1]} are typing…`;
  else line.textContent = "Several people are typing…";
  if (stick) toBottom();
}
function typing(user) {
  clearTimeout(typists.get(user.id)?.timer);
  typists.set(user.id, { name: user.display_name || user.username, timer: setTimeout(() => stoppedTyping(user.id), 6000) });
  showTyping();
}
function stoppedTyping(id) {
  clearTimeout(typists.get(id)?.timer);
  if (typists.delete(id)) showTyping();
}

// The apps that can read the thread, its notices about them and the switch
// that closes it to apps.
const refreshApps = serial(async () => swap("thread-apps", await part(`${base}/apps`)));

const refreshHead = serial(async () => {
  try {
    swap("thread-head", await part(`${base}/head`), () => refreshHead());
    // A block made or lifted changes whether the page can send: it is
    // loaded again, with its field or without.
    const blocked = document.getElementById("thread-head")?.dataset.blocked === "true";
    if (sendForm && blocked === Boolean(text)) location.reload();
    const name = document.querySelector("#thread-head h1")?.textContent;
    if (name) {
      pageTitle = `${name} · Parley`;
      titleUnread();
    }
  } catch (err) {
    if (err.status === 404) noLongerIn();
    else throw err;
  }
});

// catchUp brings the whole page up to date after the socket (re)opens:
// every message from the first shown on, for edits, deletions and
// reactions missed, then the rest (not on a page of older messages, which
// stays where it is: it reads again only those it shows).
const catchUp = serial(async () => {
  await refreshInbox();
  if (!list) return;
  const stick = atNewest && nearBottom();
  try {
    await pull(Math.max(firstSeq() - 1, 0), atNewest ? Infinity : lastSeq());
  } catch (err) {
    // Removed from the thread, or it left, while the connection was
    // down: as when it happens while connected (refreshHead).
    if (err.status === 404) return noLongerIn();
    throw err;
  }
  if (stick) toBottom();
  await Promise.all([refreshHead(), refreshSeen(), refreshApps()]);
  markRead();
});

async function loadOlder(link) {
  if (!link || link.dataset.loading) return;
  link.dataset.loading = "1";
  try {
    const doc = await part(`${base}/messages?before=${firstSeq()}`);
    const height = pane.scrollHeight;
    const older = merge(doc).older === "true";
    pane.scrollTop += pane.scrollHeight - height;
    if (older) {
      link.href = `${base}?before=${firstSeq()}`;
    } else {
      link.parentElement.remove();
    }
  } finally {
    delete link.dataset.loading;
  }
}

if (list) {
  // The newest messages are in sight, unless the address names a message
  // the page shows (#m<seq>: a reply's quote, a search's result), which
  // the browser brings to the top; or unless the messages new to the
  // member do not all fit below where they begin, which is then at the top.
  const named = /^#m\d+$/.test(location.hash) && document.getElementById(location.hash.slice(1));
  if (atNewest && !named) {
    toBottom();
    const unread = document.getElementById("unread");
    const above = unread ? unread.getBoundingClientRect().top - pane.getBoundingClientRect().top : 0;
    if (above < 0) pane.scrollTop += above;
  }
  markedRead = lastSeq();

  const older = document.getElementById("older");
  if (older) {
    older.addEventListener("click", (e) => {
      e.preventDefault();
      loadOlder(older);
    });
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadOlder(older);
    }, { root: pane }).observe(older);
  }

  // Editing or deleting one's own message, reacting to any, or reporting
  // another's: Edit opens the field, Delete the confirmation, React the six
  // reactions, Report its form, one of them at a time. The field opens
  // with the cursor at the end of the text, as it was; the report's form
  // empty, with focus on its first reason; the six with focus on the member's own or the first,
  // above the message, or under it where above would be out of the
  // conversation's sight, and a click elsewhere closes them. However one
  // closes, the message is shown as it now is: merge leaves a message
  // alone while one is open, as another device may change it meanwhile.
  const actions = `${messageActions}[open]`;
  list.addEventListener("toggle", (e) => {
    if (e.target.matches?.(`${messageActions}:not([open])`)) return refresh(seqOf(e.target.closest("li"))).catch(console.warn);
    if (!e.target.matches?.(actions)) return;
    for (const other of list.querySelectorAll(actions)) if (other !== e.target) other.open = false;
    if (e.target.matches("details.react")) {
      e.target.classList.remove("below");
      const top = e.target.querySelector("form").getBoundingClientRect().top;
      e.target.classList.toggle("below", top < pane.getBoundingClientRect().top);
    }
    (e.target.querySelector(".pick[aria-pressed=true]") || e.target.querySelector(".pick"))?.focus();
    if (e.target.matches("details.report")) {
      e.target.querySelector("form").reset();
      return e.target.querySelector("input[type=radio]").focus();
    }
    const field = e.target.querySelector("textarea");
    if (field) {
      field.value = field.defaultValue;
      field.focus();
      field.setSelectionRange(field.value.length, field.value.length);
    }
  }, true);
  list.addEventListener("submit", async (e) => {
    const form = e.target.closest(".edit form, .delete form");
    if (!form) return;
    e.preventDefault();
    const action = form.closest("details");
    const editing = action.classList.contains("edit");
    if (editing && form.elements.text.value === form.elements.text.defaultValue) return closeAction(action);
    const err = await post(form);
    if (err) return say(err);
    say("");
    // Closed, with focus on its button, which merge keeps on it; closing
    // an edit shows the message anew.
    closeAction(action);
    if (!editing) await refresh(seqOf(form.closest("li")));
    tell(editing ? "Message edited." : "Message deleted.");
  });
  // A reaction given or taken back, from the six or from under the
  // message, shows the message as it now is, without leaving the page.
  list.addEventListener("submit", async (e) => {
    const form = e.target.closest(".react form, form.reactions");
    const button = e.submitter;
    if (!form || !button) return;
    e.preventDefault();
    const err = await post(form, { [button.name]: button.value });
    if (err) return say(err);
    say("");
    const picker = form.closest("details");
    if (picker) closeAction(picker);
    await refresh(seqOf(form.closest("li")));
    tell(button.name === "take_back" ? "Reaction taken back." : "Reaction given.");
  });
  // A report, sent to the operators, closes the form; the message stays
  // as it is.
  list.addEventListener("submit", async (e) => {
    const form = e.target.closest(".report form");
    if (!form) return;
    e.preventDefault();
    const err = await post(form);
    if (err) return say(err);
    closeAction(form.closest("details"));
    sayForAMoment("Reported. The operators will read the message; its sender is not told.");
  });
  // A click elsewhere closes the reactions and the thread's Manage menu.
  document.addEventListener("click", (e) => {
    for (const menu of document.querySelectorAll("details.react[open], details.manage[open]")) if (!menu.contains(e.target)) menu.open = false;
  });
  // Enter saves an edit, as it sends a message; Shift+Enter starts a new
  // line (on a touch screen, Enter does, and the button saves).
  list.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || touch || !e.target.matches?.(".edit textarea")) return;
    e.preventDefault();
    e.target.form.requestSubmit();
  });

  // A reply's quote goes to the message it answers: on this page, when it
  // shows it, marked a moment; otherwise to the page of messages up to it.
  list.addEventListener("click", (e) => {
    const quote = e.target.closest?.("a.quote");
    const answered = quote && document.getElementById(`m${quote.dataset.to}`);
    if (!answered) return;
    e.preventDefault();
    answered.tabIndex = -1;
    answered.focus({ preventScroll: true });
    answered.scrollIntoView({ block: "center", behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
    answered.classList.add("found");
    setTimeout(() => answered.classList.remove("found"), 1500);
  });

  // Escape closes an edit, the reactions, a report, or a confirmation,
  // Delete's or Leave's, back to its button; then the Manage menu, wherever
  // the focus is.
  // An Escape the field took (closing the mentions, leaving a reply) is
  // not the menu's.
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    const open = e.target.closest?.(`${messageActions}[open], details.leave[open]`) || document.querySelector("details.manage[open]");
    if (open) closeAction(open);
  });

  document.addEventListener("visibilitychange", markRead);

  // Closing the thread to apps, or reopening it.
  document.addEventListener("submit", async (e) => {
    const form = e.target.closest("form.apps-switch");
    if (!form) return;
    e.preventDefault();
    const err = await post(form);
    if (err) return say(err);
    await refreshApps();
  });
}

// Drafts, kept per chat below; signing out forgets every one of the tab,
// and keeps none of the page it leaves, as does an account's end.
const draftPrefix = "parley.draft.";
let draftsForgotten = false;
function forgetDrafts() {
  draftsForgotten = true;
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith(draftPrefix)) sessionStorage.removeItem(key);
  }
}
document.addEventListener("submit", (e) => {
  if (e.target.matches?.('form[action="/sign-out"]')) forgetDrafts();
});

if (text && list) {
  // Messages are sent one at a time, in the order they were written, each
  // with a key of its own taken when it was written: the field is free for
  // the next message at once, and a message sent twice (a retry) is one.
  //
  // A message the member sent is the outbox's (queue) until the server
  // answers it. One whose answer does not come (the network down, the
  // answer lost on its way back, a proxy's 502 or 504, the server busy)
  // may or may not be held by the server, and the page cannot learn which
  // but by sending it: it stays first in the outbox, shown under the
  // messages as not sent yet, and is sent again as it was written (its
  // words, the message it answers, its key) once the live connection is
  // back, or after a pause, until the server answers, with the message it
  // took then or the one it held; those written after it wait behind it.
  // As the member leaves the page, the outbox is kept with the draft, and
  // sent so when they come back to the chat: the message on its way may
  // have outlived the page (keepalive), or not. Only what the server
  // refuses (a 4xx: too long, a conversation closed to the member, a
  // session ended), and so does not hold, goes back to the field, with the
  // messages behind it, to be changed: sent again, it is a new message.
  //
  // So do the messengers people know (a clock on a message until it is
  // sent), and it is how the promise holds, nothing lost and nothing sent
  // twice: a message given back to the field while the server may hold it
  // could be changed there, its words or what it answers, and could then
  // go neither with its key (the server refuses a key with another
  // message) nor with a new one (it would be stored twice).
  const queue = [];
  let sending = false;
  // stalled is set while the first message waits to be sent again; retry,
  // while set, sends it again after pause, which doubles at each failure,
  // or when a refusal as too many says (Retry-After). Meanwhile a message
  // written joins the queue and waits too: sent at once, it could only
  // be refused again.
  let stalled = false;
  let retry = 0;
  let pause = 1000;
  // The outbox shows under the messages, each as written, below the quote
  // of the message it answers, as "Sending…", or "Not sent yet" while it
  // waits to be sent again. It is no live region: the status line says
  // why it waits. A message the list shows already (the server took it,
  // and told the page, but its answer to the send was lost) shows there
  // alone: the list's is the member's own, after the last message the
  // page showed when this one was written (after), in the same words and
  // answering the same. This one is sent again all the same, which the
  // server answers with the message it holds; and should the list's be
  // another, sent in the same words from another device, this one shows
  // in the list once it arrives.
  const outbox = document.getElementById("outbox");
  function showOutbox() {
    const stick = nearBottom();
    const mine = [...messages()].filter((li) => li.classList.contains("mine"));
    const inList = (m) => {
      const i = mine.findIndex((li) => seqOf(li) > m.after && (li.dataset.replyTo || "") === (m.reply?.seq || "") && wordsOf(li) === m.text.trim());
      return i >= 0 && mine.splice(i, 1);
    };
    const waiting = queue.filter((m) => !inList(m));
    outbox.replaceChildren(
      ...waiting.map((m) => {
        const li = document.createElement("li");
        const meta = document.createElement("div");
        const bubble = document.createElement("p");
        li.className = "msg mine pending";
        meta.className = "meta";
        meta.textContent = stalled ? "Not sent yet" : "Sending…";
        bubble.className = "bubble";
        if (m.reply) bubble.append(quoteOf(m.reply));
        bubble.append(m.text);
        li.append(meta, bubble);
        return li;
      }),
    );
    outbox.hidden = !waiting.length;
    if (stick) toBottom();
  }
  new MutationObserver(() => {
    if (queue.length) showOutbox();
  }).observe(list, { childList: true });
  // quoteOf returns the quote of the message a reply answers, as the
  // server writes it.
  function quoteOf(reply) {
    const quote = document.createElement("span");
    const parts = [["visually-hidden", "In reply to "], ["qwho", reply.who], ["visually-hidden", ": "], ["qtext", reply.what]];
    quote.className = "quote";
    for (const [name, words] of parts) {
      const span = document.createElement("span");
      span.className = name;
      span.textContent = words;
      if (name === "qwho") span.dir = "auto";
      quote.append(span);
    }
    return quote;
  }
  // giveBack puts messages the server refused back in the field, in
  // order, one a line, before what it holds; the field answers what the
  // first of them answered, unless it answers something already. The
  // server holds none of them: sent again, they are one new message.
  function giveBack(back) {
    const typed = text.value.trim() ? [text.value] : [];
    text.value = [...back.map((m) => m.text), ...typed].join("\n");
    if (back[0].reply && !answering()) answer(back[0].reply);
    fit();
  }

  list.addEventListener("click", (e) => {
    const reply = e.target.closest?.(".acts .reply");
    if (!reply) return;
    e.preventDefault();
    const li = reply.closest("li");
    answer({ seq: li.dataset.seq, who: li.querySelector(".who").textContent, what: clip(wordsOf(li)) });
    text.focus();
  });
  replying.querySelector(".unreply").addEventListener("click", (e) => {
    e.preventDefault();
    answer(null);
    text.focus();
  });
  const sendQueued = async () => {
    clearTimeout(retry);
    retry = 0;
    if (sending) return;
    sending = true;
    try {
      while (queue.length) {
        const m = queue[0];
        const r = await postForm(sendForm, { text: m.text, key: m.key, reply_to: m.reply?.seq || "" }, true).catch(() => null);
        if (!r || r.status >= 500 || r.status === 408 || r.status === 429) {
          // Taken or not, it waits to be sent again, as it is.
          stalled = true;
          showOutbox();
          const what = queue.length === 1 ? "your message" : "your messages";
          if (!r) say(`You are offline: ${what} will be sent once you are back online.`);
          else if (r.status === 429) say(`You are sending faster than this server takes: ${what} will be sent again in a moment.`);
          else if (r.status === 503) say(`Parley cannot take messages just now: ${what} will be sent again in a moment.`);
          // A gateway's answer for a server down or too slow.
          else if (r.status === 502 || r.status === 504) say(`Parley isn't answering just now: ${what} will be sent when it is.`);
          else say(`Something went wrong (${r.status}): ${what} will be sent again in a moment.`);
          // A refusal as too many says when to come back (Retry-After).
          const told = r?.status === 429 ? 1000 * (Number(r.headers.get("Retry-After")) || 0) : 0;
          retry = setTimeout(sendQueued, told || pause);
          if (!told) pause = Math.min(2 * pause, 30000);
          return;
        }
        stalled = false;
        pause = 1000;
        if (r.status !== 204) {
          // Refused, it was not taken: it goes back to the field, and
          // those written after it, which would read wrong without it.
          giveBack(queue.splice(0));
          showOutbox();
          say(await refusal(r));
          return;
        }
        queue.shift();
        say("");
        // Shown under the messages until the list shows it.
        pullNew().then(() => {
          showOutbox();
          toBottom();
        });
      }
    } finally {
      sending = false;
    }
  };
  // The outbox goes at once when the page is back online or live again.
  resend = sendQueued;
  addEventListener("online", sendQueued);
  sendForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = text.value;
    if (!value.trim()) return;
    queue.push({ text: value, reply: answering(), key: newKey(), after: lastSeq() });
    answer(null);
    text.value = "";
    fit();
    showOutbox();
    toBottom();
    if (!retry) sendQueued();
  });
  // The field grows with what is typed, up to the stylesheet's max-height.
  const fit = () => {
    text.style.height = "auto";
    text.style.height = `${text.scrollHeight + 2}px`;
  };
  text.addEventListener("input", fit);
  // The others are told the member is writing as they start, and every
  // 3 seconds while they go on; a message sent ends it.
  let toldTyping = 0;
  text.addEventListener("input", () => {
    if (!text.value.trim() || Date.now() - toldTyping < 3000) return;
    toldTyping = Date.now();
    const data = new URLSearchParams({ csrf: sendForm.elements.csrf.value });
    fetch(`${base}/typing`, { method: "POST", body: data, headers: asyncHeader, credentials: "same-origin" }).catch(() => {});
  });
  sendForm.addEventListener("submit", () => {
    toldTyping = 0;
  });
  // Typing "@" and the start of a member's username or of a word of their
  // name offers the chat's other members to mention, in a list above the
  // field that its caret stays in (aria-activedescendant): up and down
  // choose, Enter or Tab takes one ("@username "), Escape closes the list;
  // a click takes one too. Names are the head's, which follows who joins
  // and leaves.
  const mentionList = document.getElementById("mention-list");
  let offered = [];
  let chosen = 0;
  const people = () =>
    [...document.querySelectorAll("#thread-head .handle")]
      .map((h) => ({ username: h.textContent.slice(1), name: h.dataset.name }))
      .filter((p) => p.username !== body.dataset.username);
  // mentionAt returns where the mention the caret ends starts, and what of
  // it is typed, lowered; null when the caret ends none. An @ starts a
  // mention unless the character before it could end an address's local
  // part (an ASCII letter or digit or one of . _ % + -), so that one right
  // after Chinese or Japanese text does: the rule the server marks
  // mentions by (internal/web/links.go, mentions).
  const mentionAt = () => {
    if (text.selectionStart !== text.selectionEnd) return null;
    const m = /(?<![A-Za-z0-9._%+\-])@([\p{L}\p{N}_.]{0,32})$/u.exec(text.value.slice(0, text.selectionStart));
    return m && { start: m.index, typed: m[1].toLowerCase() };
  };
  function showChosen() {
    for (const [i, li] of [...mentionList.children].entries()) li.setAttribute("aria-selected", String(i === chosen));
    text.setAttribute("aria-activedescendant", `mention-${chosen}`);
  }
  function offerMentions() {
    const at = mentionAt();
    const starts = (p) => p.username.startsWith(at.typed) || p.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(at.typed));
    const found = at ? people().filter(starts).slice(0, 8) : [];
    if (!found.length) return closeMentions();
    const opening = mentionList.hidden;
    offered = found;
    chosen = Math.min(chosen, found.length - 1);
    mentionList.replaceChildren(
      ...found.map((p, i) => {
        const li = document.createElement("li");
        const handle = document.createElement("span");
        li.id = `mention-${i}`;
        li.setAttribute("role", "option");
        handle.className = "handle";
        handle.textContent = `@${p.username}`;
        li.append(p.name, handle);
        return li;
      }),
    );
    mentionList.hidden = false;
    showChosen();
    if (opening) tell(found.length === 1 ? "1 person to mention" : `${found.length} people to mention`);
  }
  function closeMentions() {
    if (mentionList.hidden) return;
    mentionList.hidden = true;
    mentionList.replaceChildren();
    text.removeAttribute("aria-activedescendant");
    offered = [];
    chosen = 0;
  }
  function takeMention(i) {
    const at = mentionAt();
    if (at && offered[i]) {
      const before = text.value.slice(0, at.start) + `@${offered[i].username} `;
      text.value = before + text.value.slice(text.selectionStart);
      text.setSelectionRange(before.length, before.length);
      fit();
    }
    closeMentions();
  }
  // mentionKey handles a key pressed in the field while the list is open,
  // and reports whether it did.
  function mentionKey(e) {
    if (mentionList.hidden || e.isComposing) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      chosen = (chosen + (e.key === "ArrowDown" ? 1 : offered.length - 1)) % offered.length;
      showChosen();
    } else if (e.key === "Enter" || e.key === "Tab") {
      takeMention(chosen);
    } else if (e.key === "Escape") {
      closeMentions();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }
  text.addEventListener("input", offerMentions);
  text.addEventListener("click", offerMentions);
  text.addEventListener("keyup", (e) => {
    if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) offerMentions();
  });
  text.addEventListener("blur", closeMentions);
  sendForm.addEventListener("submit", closeMentions);
  // A press on the list keeps the caret in the field.
  mentionList.addEventListener("mousedown", (e) => e.preventDefault());
  mentionList.addEventListener("click", (e) => {
    const li = e.target.closest("li");
    if (li) takeMention([...mentionList.children].indexOf(li));
  });

  text.addEventListener("keydown", (e) => {
    if (mentionKey(e)) return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !touch) {
      e.preventDefault();
      sendForm.requestSubmit();
    }
    if (e.key === "Escape" && !replying.hidden) {
      e.preventDefault();
      answer(null);
    }
  });

  // What is typed and not sent, with the message it answers, is kept for
  // this chat and member in this tab (sessionStorage, which ends with the
  // tab) while the member goes to another chat and back, and given back to
  // the field then; the message the field answers is the page's own where
  // it has one (?reply=). The outbox is kept with it, each message with
  // the message it answers and its key, and sent when the member comes
  // back to the chat, as it would have been (see queue): a message on its
  // way may have arrived, as the page went or since, or not; sent again,
  // it is the same message.
  const draftKey = `${draftPrefix}${body.dataset.me}.${current}`;
  const draft = JSON.parse(sessionStorage.getItem(draftKey) || "null");
  if (draft?.text && !text.value) {
    text.value = draft.text;
    if (draft.reply && !answering()) answer(draft.reply);
    fit();
  }
  if (draft?.outbox?.length) {
    queue.push(...draft.outbox);
    showOutbox();
    sendQueued();
  }
  takeUnsent = () => {
    const words = [...queue.splice(0).map((m) => m.text), text.value].filter((w) => w.trim());
    text.value = "";
    return words.join("\n");
  };
  addEventListener("pagehide", () => {
    if (draftsForgotten) return;
    const typed = text.value.trim() ? { text: text.value, reply: answering() } : {};
    if (typed.text || queue.length) sessionStorage.setItem(draftKey, JSON.stringify({ ...typed, outbox: queue }));
    else sessionStorage.removeItem(draftKey);
  });
}

// ---- notifications ----

// With the browser's permission, and the member's choice, kept in this
// browser, a message that comes while the member is not looking at its
// chat shows as a notification: who wrote, and the start of what; none for
// a chat the member muted, as the inbox, refreshed first, marks it, unless
// it mentions them, and none from a member they blocked. The account
// page's Notifications card asks for both.
const notifyKey = "parley.notifications";
const canNotify = "Notification" in window;
const notifying = () => canNotify && Notification.permission === "granted" && localStorage.getItem(notifyKey) === "on";

// mentionsMe reports whether a message in a chat mentions the member, as
// the server marks mentions in the messages it renders (internal/web/
// links.go, linkify), which alone decides: not within a web address, for
// one. A text without "@username" in it, in any case, cannot; one with it
// is fetched rendered, the one message, and read for its mark.
async function mentionsMe(threadID, m) {
  const me = `@${body.dataset.username || "-"}`.toLowerCase();
  if (!m.seq || !(m.text || "").toLowerCase().includes(me)) return false;
  const doc = await part(`/t/${encodeURIComponent(threadID)}/messages?after=${m.seq - 1}&limit=1`);
  return !!doc.querySelector(`#m${m.seq} .mention`);
}

// blocks reports whether the member blocks another, as the inbox,
// refreshed just before notify, lists them: a message of theirs, in a
// group both are in, never notifies, not even one that mentions the member
// in a chat they muted, and a block made on another device counts from its
// next message on.
function blocks(id) {
  const ids = (document.getElementById("inbox")?.dataset.blocked || "").split(" ");
  return !!id && ids.includes(id);
}

async function notify(ev) {
  const m = ev.data;
  if (!notifying() || !m || m.sender?.id === body.dataset.me || blocks(m.sender?.id)) return;
  if (document.visibilityState === "visible" && document.hasFocus() && ev.thread_id === current) return;
  const item = await inboxEntry(ev.thread_id);
  const what = m.kind === "share" ? m.share?.title : m.text;
  if (item?.closest("li").classList.contains("muted") && !(await mentionsMe(ev.thread_id, m))) return;
  // A group's message names the group too, as the inbox names it.
  const who = m.sender?.display_name || "New message";
  const chat = item?.querySelector(".tname").textContent;
  const title = chat && chat !== who ? `${isolate(who)} in ${isolate(chat)}` : who;
  const n = new Notification(title, { body: graphemes(what || "").slice(0, 200).join(""), tag: ev.thread_id });
  n.addEventListener("click", () => {
    focus();
    location.assign(`/t/${encodeURIComponent(ev.thread_id)}`);
    n.close();
  });
}

// inboxEntry finds a chat's entry in the inbox the page shows or, on a
// page of older chats, where a chat that just had a message is not, in the
// newest chats.
async function inboxEntry(id) {
  const entry = `#inbox [data-thread="${CSS.escape(id)}"]`;
  const shown = document.querySelector(entry);
  if (shown || !document.getElementById("inbox")?.dataset.chats) return shown;
  return (await part(`/parts/inbox?current=${encodeURIComponent(current)}`)).querySelector(entry);
}

const notifyCard = document.getElementById("notify");
if (notifyCard && canNotify) {
  const state = document.getElementById("notify-state");
  const toggle = document.getElementById("notify-toggle");
  const show = () => {
    const blocked = Notification.permission === "denied";
    toggle.hidden = blocked;
    if (blocked) state.textContent = "This browser blocks Parley's notifications: allow them in its settings for this site, then come back here.";
    else state.textContent = notifying() ? "On in this browser." : "Off in this browser.";
    toggle.textContent = notifying() ? "Turn off notifications" : "Turn on notifications";
  };
  toggle.addEventListener("click", async () => {
    if (notifying()) localStorage.setItem(notifyKey, "off");
    else if ((await Notification.requestPermission()) === "granted") localStorage.setItem(notifyKey, "on");
    show();
  });
  notifyCard.hidden = false;
  show();
}

// The chats, come to from a chat the member is no longer in (?done=gone),
// name it, and show what they wrote there and did not send, to copy.
const unsentBox = document.getElementById("unsent");
if (unsentBox) {
  const gone = JSON.parse(sessionStorage.getItem(unsentKey) || "null");
  if (gone?.name) document.getElementById("notice").textContent = `You are no longer in “${isolate(gone.name)}”: you left it on another device, or were removed from it.`;
  if (gone?.text) {
    document.getElementById("unsent-text").value = gone.text;
    unsentBox.hidden = false;
  }
}

// ---- the realtime connection ----

function handle(ev) {
  const here = ev.thread_id === current && list;
  switch (ev.type) {
    case "message.created":
      if (here && ev.data?.sender) stoppedTyping(ev.data.sender.id);
      refreshInbox().then(() => notify(ev)).catch(console.warn);
      if (here && atNewest) pullNew().then(() => Promise.all([markRead(), refreshSeen()]));
      break;
    case "message.edited":
    case "message.deleted":
      refreshInbox();
      if (here && ev.data) {
        // The message, and the replies that quote it.
        const changed = [document.getElementById(`m${ev.data.seq}`), ...list.querySelectorAll(`li[data-reply-to="${ev.data.seq}"]`)];
        for (const li of changed) if (li) refresh(seqOf(li)).catch(console.warn);
        followAnswered(ev);
      }
      break;
    case "message.reacted":
      if (here && ev.data) refresh(ev.data.seq).catch(console.warn);
      break;
    case "read.updated":
      refreshInbox();
      if (here) refreshSeen();
      break;
    case "thread.updated":
      refreshInbox();
      // A change to a group is a note among its messages, too.
      if (here) Promise.all([refreshHead(), refreshApps(), atNewest && pullNew()]);
      break;
    case "thread.apps_changed":
      if (here) refreshApps();
      break;
    case "thread.muted":
      refreshInbox();
      if (here) refreshHead();
      break;
    case "user.updated":
      // Someone took a new name: every name the page shows is read again,
      // those of the messages shown with them (but on a page of older
      // messages, which stays as it was opened).
      refreshInbox();
      if (list) Promise.all([refreshHead(), refreshSeen(), atNewest && pull(Math.max(firstSeq() - 1, 0))]).catch(console.warn);
      break;
    case "thread.typing":
      if (!ev.data?.user) break;
      inboxTyping(ev.thread_id);
      if (here) typing(ev.data.user);
      break;
  }
}

let attempts = 0;
function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/events`);
  let opened = false;
  ws.addEventListener("open", async () => {
    opened = true;
    attempts = 0;
    // Whatever happened while the page loaded or the connection was down;
    // the page is live once it has caught up. A catch-up that fails (the
    // server answered with an error, as a node that drains does) is tried
    // again, backing off up to 5 seconds, while the page says so.
    for (let wait = 1000; !(await catchUp()); wait = Math.min(2 * wait, 5000)) {
      if (ws.readyState !== WebSocket.OPEN) return;
      body.dataset.live = "catching-up";
      say("Catching up on what you missed…");
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (ws.readyState !== WebSocket.OPEN) return;
    body.dataset.live = "open";
    say("");
    resend();
  });
  ws.addEventListener("message", (e) => {
    try {
      handle(JSON.parse(e.data));
    } catch (err) {
      console.warn(err);
    }
  });
  ws.addEventListener("close", (e) => {
    body.dataset.live = "closed";
    if (e.code === 1008) {
      // The session the page signed in with ended (signed out, here or
      // elsewhere, or expired): reconnecting could only be refused. When
      // it ended with the account, deleted or disabled, signing in again
      // cannot help either: the sign-in page says so, and the drafts go.
      const ended = { "account deleted": "deleted", "account disabled": "disabled" }[e.reason];
      if (!ended) return signInAgain();
      forgetDrafts();
      if (!leaving) location.assign(`/sign-in?done=${ended}`);
      return;
    }
    if (!opened) {
      // A refused handshake shows only as a close (1006): if it was
      // refused because the session ended while the connection was down,
      // the inbox's request is answered 401, and part goes to sign-in.
      refreshInbox().catch(() => {});
    }
    // Messages waiting to be sent (#outbox) keep the line that says so,
    // which tells the member more than the connection's loss.
    if (document.getElementById("outbox")?.hidden !== false) say("Connection lost. Reconnecting…");
    setTimeout(connect, Math.min(5000, 250 * 2 ** attempts++));
  });
}

if (document.getElementById("inbox")) connect();
