// A bulk run's progress bar, kept current by polling its small JSON endpoint until it is done.
(function () {
  var panel = document.getElementById("bulk-run");
  if (!panel || panel.dataset.finished === "1") return;
  var bar = document.getElementById("bulk-bar");
  var text = document.getElementById("bulk-text");
  var state = document.getElementById("bulk-state");
  var failures = document.getElementById("bulk-failures");
  function show(p) {
    bar.value = p.percent;
    bar.textContent = p.percent + "%";
    text.textContent = p.done + " of " + p.total + " done" + (p.failed ? ", " + p.failed + " failed" : "");
    if (p.finished) {
      state.textContent = "Finished (" + p.status + ").";
      failures.innerHTML = "";
      p.failures.forEach(function (f) {
        var li = document.createElement("li");
        li.textContent = (f.case ? "Case " + f.case + ": " : "") + f.detail;
        failures.appendChild(li);
      });
    }
  }
  function poll() {
    fetch(panel.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) { show(p); if (!p.finished) setTimeout(poll, 1000); })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
