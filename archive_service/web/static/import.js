// The import page's progress bar: while the job runs, ask its status route every
// second and move the bar; when the job has moved on, show the page again (its report).
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || box.getAttribute("data-running") !== "1") { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("import-bar");
  var count = document.getElementById("import-count");
  var failures = 0;

  function tick() {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.addEventListener("load", function () {
      var s = null;
      try { s = JSON.parse(xhr.responseText); } catch (err) { s = null; }
      if (xhr.status !== 200 || !s) { return again(true); }
      failures = 0;
      if (s.percent === null || s.percent === undefined) {
        bar.removeAttribute("value");
      } else {
        bar.value = s.percent;
      }
      count.textContent = (s.done || 0) + (s.total ? " / " + s.total : "");
      if (!s.running) { window.location.reload(); return; }
      again(false);
    });
    xhr.addEventListener("error", function () { again(true); });
    xhr.send();
  }

  function again(failed) {
    failures = failed ? failures + 1 : 0;
    window.setTimeout(tick, Math.min(30000, 1000 * Math.pow(2, failures)));
  }

  again(false);
}());
