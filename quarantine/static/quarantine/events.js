// The events screens: the row checkbox of the deliveries' header ticks every row of the page;
// a replay's progress bar is kept current by polling its small JSON endpoint until every
// replayed delivery is delivered or dead again, then the page reloads to show them.
(function () {
  var pickPage = document.getElementById("pick-page");
  if (pickPage) {
    pickPage.addEventListener("change", function () {
      document.querySelectorAll("#deliveries input[name=delivery]").forEach(function (box) {
        box.checked = pickPage.checked;
      });
    });
  }
  var panel = document.getElementById("replay-run");
  if (!panel || panel.dataset.finished === "1") return;
  var bar = document.getElementById("replay-bar");
  var text = document.getElementById("replay-text");
  var state = document.getElementById("replay-state");
  function poll() {
    fetch(panel.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.value = p.percent;
        bar.textContent = p.percent + "%";
        text.textContent = p.words;
        if (p.finished) {
          state.textContent = "Done.";
          window.location.reload(); // the deliveries below, as they are now
        } else {
          setTimeout(poll, 2000);
        }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
