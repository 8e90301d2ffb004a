// A progress bar kept current by polling: the element with `data-url` (a small JSON endpoint
// answering {percent, words, finished}) holds a <progress> and a text; once finished the page
// reloads to show what the work left. Used by the duplicate runs and the dead-letter replays.
function followProgress(panelId, barId, textId) {
  var panel = document.getElementById(panelId);
  if (!panel || panel.dataset.finished === "1") return;
  var bar = document.getElementById(barId);
  var text = document.getElementById(textId);
  function poll() {
    fetch(panel.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.value = p.percent;
        bar.textContent = p.percent + "%";
        text.textContent = p.words;
        if (p.finished) { window.location.reload(); } else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
}
