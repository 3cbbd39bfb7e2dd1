// Keyboard shortcuts for a fast reviewer on the queue: j / k move between requests, a approves,
// r and c go to the reason and the note, v plays or pauses the video. Never while typing.
"use strict";
(function () {
  const cards = Array.from(document.querySelectorAll("article.card[data-order]"));
  if (cards.length === 0) return;
  let current = 0;
  function select(index, scroll) {
    current = Math.max(0, Math.min(cards.length - 1, index));
    cards.forEach((card, i) => card.classList.toggle("selected", i === current));
    if (scroll) cards[current].scrollIntoView({ block: "start", behavior: "smooth" });
  }
  select(0, false);
  cards.forEach((card, i) => card.addEventListener("click", () => select(i, false)));
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target instanceof HTMLElement && target.closest("input, textarea, select")) return;
    const card = cards[current];
    const video = card.querySelector("video");
    const actions = {
      j: () => select(current + 1, true),
      k: () => select(current - 1, true),
      a: () => card.querySelector("form.approve").requestSubmit(),
      r: () => card.querySelector("form.reject select").focus(),
      c: () => { const note = card.querySelector("form.change textarea"); if (note) note.focus(); },
      v: () => { if (video) { if (video.paused) video.play(); else video.pause(); } },
    };
    const action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });
})();

// The new campaign's form: choosing a template offers its festival's next date.
(function () {
  const form = document.getElementById("new-campaign");
  if (!form) return;
  const template = form.querySelector("select[name=template]");
  const day = form.querySelector("input[name=day]");
  template.addEventListener("change", () => {
    const next = template.selectedOptions[0].dataset.next;
    if (next) day.value = next;
  });
})();
