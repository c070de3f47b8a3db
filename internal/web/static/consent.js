// The consent page's box that finds a conversation to tick, shown when the
// member has many: as they type, the list keeps in sight only the
// conversations whose name has a word starting with each word typed, case
// and accents aside ("cafe r" finds "Café Rouge"), and says how many it
// shows. A conversation ticked stays ticked out of sight, and is posted
// with the form, which the box, having no name, does not change. Without
// this script the box stays hidden and the whole list shows.
const find = document.getElementById("find");
if (find) {
  const found = document.getElementById("found");
  const items = [...document.querySelectorAll("#pick .choices > li")];
  // wordsOf returns the words of s without case or accents: "Café Rouge"
  // reads "cafe", "rouge".
  const wordsOf = (s) => s.normalize("NFD").replace(/\p{M}/gu, "").toLocaleLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  const names = new Map(items.map((li) => [li, wordsOf(li.dataset.name || "")]));
  const ticked = (li) => li.querySelector("input[type=checkbox]").checked;

  const narrow = () => {
    const words = wordsOf(find.value);
    let shown = 0;
    for (const li of items) {
      li.hidden = !words.every((w) => names.get(li).some((n) => n.startsWith(w)));
      if (!li.hidden) shown++;
    }
    const away = items.filter((li) => li.hidden && ticked(li)).length;
    const said = [];
    if (words.length && shown === 0) said.push(`No conversation matches “${find.value.trim()}”.`);
    else if (words.length) said.push(`${shown} of ${items.length} shown.`);
    if (away === 1) said.push("1 ticked conversation is not shown; it stays ticked.");
    else if (away > 1) said.push(`${away} ticked conversations are not shown; they stay ticked.`);
    found.textContent = said.join(" ");
  };

  find.addEventListener("input", narrow);
  // Enter finds, as in any search box; it does not approve the request
  // (the form's first button).
  find.addEventListener("keydown", (e) => {
    if (e.key === "Enter") e.preventDefault();
  });
  // A page brought back (Back, a reload) keeps the box's words.
  addEventListener("pageshow", narrow);
  find.closest(".find").hidden = false;
  narrow();
}
