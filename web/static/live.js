// live.js follows a run's live log over Server-Sent Events. Text is
// added with textContent only: the output is never parsed as HTML.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var state = document.getElementById("state");
  if (!log || !window.EventSource) {
    if (state) { state.textContent = "This browser cannot follow a live log."; }
    return;
  }
  var es = new EventSource(log.dataset.events);
  es.addEventListener("chunk", function (ev) {
    var c = JSON.parse(ev.data);
    var lines = c.text.replace(/\n$/, "").split("\n");
    var stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    for (var i = 0; i < lines.length; i++) {
      log.appendChild(document.createTextNode((c.project ? "[" + c.project + "] " : "") + lines[i] + "\n"));
    }
    if (stick) { log.scrollTop = log.scrollHeight; }
    state.textContent = "Running…";
  });
  es.addEventListener("end", function (ev) {
    var c = JSON.parse(ev.data);
    es.close();
    state.textContent = "Finished: " + c.text + ".";
    state.className = "done";
    var a = document.createElement("a");
    a.href = log.dataset.events.replace(/\/runs\/[^/]+\/events$/, "");
    a.textContent = " See the result.";
    a.id = "result";
    state.appendChild(a);
  });
  es.onerror = function () {
    if (es.readyState === EventSource.CLOSED) { state.textContent = "The live log stopped; reload to resume."; }
  };
})();
