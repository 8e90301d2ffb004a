// The events screens: the row checkbox of the deliveries' header ticks every row of the page;
// a replay's progress bar (progress.js) follows the replayed deliveries until each is
// delivered or dead again, then the page reloads to show them.
(function () {
  var pickPage = document.getElementById("pick-page");
  if (pickPage) {
    pickPage.addEventListener("change", function () {
      document.querySelectorAll("#deliveries input[name=delivery]").forEach(function (box) {
        box.checked = pickPage.checked;
      });
    });
  }
  followProgress("replay-run", "replay-bar", "replay-text");
})();
