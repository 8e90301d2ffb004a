// A full duplicate run's progress bar on the queue, kept current by polling the run's small
// JSON endpoint; when the run is done the queue reloads to show the pairs it found.
(function () {
  var panel = document.getElementById("duplicate-run");
  if (!panel || panel.dataset.finished === "1") return;
  var bar = document.getElementById("run-bar");
  var text = document.getElementById("run-text");
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
})();
