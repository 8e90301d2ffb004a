// The queue: "select all on this page", and a count of the selected cases.
(function () {
  var all = document.getElementById("select-all");
  var boxes = document.querySelectorAll('input[name="cases"]');
  var count = document.getElementById("selected-count");
  function update() {
    var n = 0;
    boxes.forEach(function (box) { if (box.checked) n++; });
    if (count) count.textContent = n ? n + " selected" : "";
  }
  if (all) {
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
  }
  boxes.forEach(function (box) { box.addEventListener("change", update); });
})();
